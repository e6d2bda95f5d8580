"""The volatility rule's scales, written once so that numba can compile them.

``VolatilityPolicy.scales`` divides the standard deviation of each asset's last ``window``
daily returns by that of its last ``long_window`` (numpy's ``nanstd``). ``volatility_scales``
computes the same numbers in one pass over the history without building the returns table:
per column, the returns are formed as the policy forms them (``p[t + 1] / p[t] - 1``), NaNs
are skipped, and the sums run in numpy's order for an axis-0 reduction of a table of two or
more columns (row after row), so that the scales are the policy's to the last bit (tested).

Plain Python in the subset numba compiles; ``compile`` compiles it when the ``fast`` extra is
installed (``poise.plan._compiled.compile`` does it for the backtest). ``VolatilityPolicy``
uses it once compiled, its own numpy code otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["compile", "compiled", "nanstd_columns", "volatility_scales"]


def nanstd_columns(returns: np.ndarray) -> np.ndarray:
    """``np.nanstd(returns, axis=0)`` to the last bit, about five times faster for a table
    without NaN: the operations of numpy's ``nanvar`` in its order (a copy, its column sums
    over the count, the deviations squared in place, their column sums over the count, the
    square root); with a NaN (or not a 2-d table) numpy's own ``nanstd``."""
    if returns.ndim != 2 or returns.shape[0] == 0 or np.isnan(returns).any():
        return np.asarray(np.nanstd(returns, axis=0))
    arr = np.array(returns, dtype=float)
    count = arr.shape[0]
    mean = np.sum(arr, axis=0, keepdims=True) / count
    np.subtract(arr, mean, out=arr)
    np.multiply(arr, arr, out=arr)
    return np.sqrt(np.sum(arr, axis=0) / count)


def _nanstd(hist: np.ndarray, col: int, lo: int, hi: int) -> float:
    """``nanstd`` of the returns ``hist[t + 1, col] / hist[t, col] - 1`` for t in [lo, hi)."""
    count = 0
    total = 0.0
    for t in range(lo, hi):
        r = hist[t + 1, col] / hist[t, col] - 1.0
        if r == r:
            total += r
            count += 1
    if count == 0:
        return np.nan
    mean = total / count
    squares = 0.0
    for t in range(lo, hi):
        r = hist[t + 1, col] / hist[t, col] - 1.0
        if r == r:
            d = r - mean
            squares += d * d
    return math.sqrt(squares / count)


def volatility_scales(
    hist: np.ndarray,
    rows: int,
    window: int,
    long_window: int,
    min_scale: float,
    max_scale: float,
    out: np.ndarray,
) -> None:
    """Write into ``out`` the scale of each column of ``hist[:rows]`` (prices, two columns or
    more, the last row the decision day) as ``VolatilityPolicy.scales`` computes it."""
    cols = hist.shape[1]
    if rows < window + 1:
        for c in range(cols):
            out[c] = 1.0
        return
    start = rows - (long_window + 1) if rows > long_window + 1 else 0
    for c in range(cols):
        recent = _nanstd(hist, c, rows - 1 - window, rows - 1)
        long_run = _nanstd(hist, c, start, rows - 1)
        scale = recent / long_run if long_run > 0 else 1.0
        if scale != scale:
            scale = 1.0
        scale = scale if scale > min_scale else min_scale  # np.clip: maximum, then minimum
        out[c] = scale if scale < max_scale else max_scale


_PLAIN = {"_nanstd": _nanstd, "volatility_scales": volatility_scales}
_state: dict[str, Any] = {"compiled": False}


def compiled() -> bool:
    """Whether ``volatility_scales`` is compiled in this process."""
    return bool(_state["compiled"])


def compile() -> None:
    """Compile this module's functions with numba (cached on disk); numba must be installed."""
    if _state["compiled"]:
        return
    import numba

    space = globals()
    for name, fn in _PLAIN.items():
        space[name] = numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    _state["compiled"] = True
