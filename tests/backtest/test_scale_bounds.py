"""The compiled loop's bounds of the volatility rule's scales (``prefix_sums``,
``scale_bounds``): the policy's own scales (numpy's ``nanstd``) always lie between them."""

from __future__ import annotations

import numpy as np
import pytest

from poise.backtest import _compiled as compiled_loop
from poise.model import CASH
from poise.policy import PolicyContext, VolatilityPolicy
from poise.policy import _compiled as policy_compiled


def _plain(name: str):  # type: ignore[no-untyped-def]
    fn = getattr(compiled_loop, name)
    return getattr(fn, "py_func", fn)  # the Python code, compiled or not


@pytest.mark.filterwarnings("ignore:Degrees of freedom")
def test_the_scales_lie_between_the_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_compiled, "compiled", lambda: False)  # numpy's nanstd
    prefix_sums, scale_bounds = _plain("prefix_sums"), _plain("scale_bounds")
    rng = np.random.default_rng(3)
    for trial in range(25):
        cols = int(rng.choice([2, 4, 6]))
        rows = int(rng.integers(2, 260))
        prices = np.cumprod(1 + rng.standard_normal((rows, cols)) * 0.02, axis=0) * 40
        prices[:, -1] = 1.0  # the cash column
        if trial % 3 == 0:  # not yet listed
            prices[: int(rng.integers(0, rows)), 0] = np.nan
        if trial % 4 == 1:  # a flat stretch, then a price of 0 (an infinite return)
            k = int(rng.integers(0, rows))
            prices[k : k + 30, 1 % (cols - 1)] = 5.0
            prices[int(rng.integers(0, rows)), 0] = 0.0
        if trial % 5 == 2:  # a tiny move on a large price: variance near its rounding
            prices[:, 0] = 1e6 + rng.standard_normal(rows) * 1e-7
        policy = VolatilityPolicy(
            0.05,
            window=int(rng.integers(1, 30)),
            long_window=int(rng.integers(30, 150)),
            min_scale=float(rng.choice([0.5, 1.0])),
            max_scale=float(rng.choice([2.0, 1.2])),
        )
        vol = np.array([policy.window, policy.long_window, policy.min_scale, policy.max_scale])
        counts, sums, squares = (np.empty((rows, cols)) for _ in range(3))
        err = np.empty((2, cols))
        with np.errstate(divide="ignore", invalid="ignore"):
            prefix_sums(prices, counts, sums, squares, err)
        names = (*[f"S{k}" for k in range(cols - 1)], CASH)
        for row in range(rows):
            context = PolicyContext(
                None,  # type: ignore[arg-type]
                names,
                np.zeros(cols),
                np.zeros(cols),
                history=prices[: row + 1],
            )
            scales = policy.scales(context)
            for col in range(cols - 1):
                low, high = scale_bounds(counts, sums, squares, err, col, row, vol)
                assert low <= scales[col] <= high, (trial, row, col)
