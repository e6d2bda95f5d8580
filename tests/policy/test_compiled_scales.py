"""The volatility rule's compiled scales (``poise.policy._compiled``) against its numpy code:
the same numbers to the last bit, run as Python or compiled."""

from __future__ import annotations

import numpy as np
import pytest

from poise.model import CASH
from poise.plan import _compiled as plan_compiled
from poise.policy import PolicyContext, VolatilityPolicy, _compiled


def _numpy_scales(policy: VolatilityPolicy, context: PolicyContext) -> np.ndarray:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "compiled", lambda: False)
        return policy.scales(context)


@pytest.mark.parametrize("compiled", [False, True])
def test_scales_are_the_numpy_scales(compiled: bool) -> None:
    if compiled and not plan_compiled.compile():
        pytest.skip("numba is not installed")
    fn = _compiled.volatility_scales if compiled else _compiled._PLAIN["volatility_scales"]
    rng = np.random.default_rng(11)
    for trial in range(60):
        cols = int(rng.choice([2, 3, 7, 21, 501 if trial % 20 == 0 else 30]))
        rows = int(rng.integers(2, 900))
        prices = np.cumprod(1 + rng.standard_normal((rows, cols)) * 0.02, axis=0) * 40
        prices[:, -1] = 1.0  # the cash column
        if trial % 3 == 0:  # not yet listed
            prices[: int(rng.integers(0, rows)), int(rng.integers(0, cols - 1))] = np.nan
        policy = VolatilityPolicy(
            0.05,
            window=int(rng.integers(1, 80)),
            long_window=int(rng.integers(80, 800)),
            min_scale=0.5,
            max_scale=float(rng.choice([2.0, 1.2])),
        )
        context = PolicyContext(
            None,  # type: ignore[arg-type]
            (*[f"S{k}" for k in range(cols - 1)], CASH),
            np.zeros(cols),
            np.zeros(cols),
            history=prices,
        )
        expected = _numpy_scales(policy, context)
        out = np.empty(cols)
        fn(prices, rows, policy.window, policy.long_window, 0.5, policy.max_scale, out)
        np.testing.assert_array_equal(out, expected)
