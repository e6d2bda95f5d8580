"""The IRR's root finder is scipy's ``brentq`` step for step: the same roots to the last bit
(so the money-weighted return did not change when scipy stopped being imported for it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from poise.analytics._metrics import _brentq


def _root(fn: object, *args: object, **kw: object) -> object:
    try:
        return fn(*args, **kw)  # type: ignore[operator]
    except (ValueError, RuntimeError) as error:
        return type(error)


@pytest.mark.parametrize("seed", range(40))
def test_npv_roots_are_scipys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        k = int(rng.integers(2, 300))
        times = np.sort(rng.uniform(0, 30, k))
        times[0] = 0.0
        invested = rng.uniform(-2_000, 5_000, k)
        invested[0] = abs(invested[0]) + 1_000
        horizon = float(times[-1]) + float(rng.uniform(0.01, 2))
        final = float(invested.sum() * rng.uniform(0.2, 30))

        def npv(
            rate: float, final: float = final, horizon: float = horizon,
            invested: np.ndarray = invested, times: np.ndarray = times,
        ) -> float:  # fmt: skip
            growth = 1.0 + rate
            return float(final * growth**-horizon - np.sum(invested * growth**-times))

        with np.errstate(all="ignore"):
            ends = npv(-0.9999), npv(10.0)
            if not all(math.isfinite(e) for e in ends) or ends[0] * ends[1] > 0:
                continue
            kw = {"xtol": 1e-14, "rtol": 1e-12, "maxiter": 500}
            assert _root(_brentq, npv, -0.9999, 10.0, **kw) == _root(
                brentq, npv, -0.9999, 10.0, **kw
            )


def test_same_sign_and_nan_are_refused_as_scipy_refuses_them() -> None:
    with pytest.raises(ValueError, match="different signs"):
        _brentq(lambda x: x * x + 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        _brentq(lambda x: math.nan, -1.0, 1.0)
    assert _brentq(lambda x: x - 0.25, 0.25, 1.0) == 0.25
