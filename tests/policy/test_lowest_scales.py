"""``VolatilityPolicy.lowest_scales``, the backtest screen's bound of the rule's scales: never
above the scales the policy computes (numpy's ``nanstd``), and close to them where the
returns are ordinary."""

from __future__ import annotations

import numpy as np
import pytest

from poise.data import load_dataset
from poise.model import CASH
from poise.policy import PolicyContext, VolatilityPolicy, _compiled


def _scales(policy: VolatilityPolicy, prices: np.ndarray, row: int) -> np.ndarray:
    cols = prices.shape[1]
    context = PolicyContext(
        None,  # type: ignore[arg-type]
        (*[f"S{k}" for k in range(cols - 1)], CASH),
        np.zeros(cols),
        np.zeros(cols),
        history=prices[: row + 1],
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_compiled, "compiled", lambda: False)  # numpy's nanstd
        return policy.scales(context)


@pytest.mark.filterwarnings("ignore:Degrees of freedom")
def test_a_bound_below_the_scales_on_random_prices() -> None:
    rng = np.random.default_rng(5)
    for trial in range(40):
        cols = int(rng.choice([2, 4, 9]))
        rows = int(rng.integers(2, 400))
        prices = np.cumprod(1 + rng.standard_normal((rows, cols)) * 0.02, axis=0) * 40
        prices[:, -1] = 1.0  # the cash column
        if trial % 3 == 0:  # not yet listed
            prices[: int(rng.integers(0, rows)), int(rng.integers(0, cols - 1))] = np.nan
        if trial % 4 == 1:  # a flat stretch, then a price of 0 (an infinite return)
            k = int(rng.integers(0, rows))
            prices[k : k + 30, 0] = prices[k, 0]
            prices[int(rng.integers(0, rows)), 0] = 0.0
        if trial % 5 == 2:  # a tiny move on a large price: variance near its rounding
            prices[:, 0] = 1e6 + rng.standard_normal(rows) * 1e-7
        policy = VolatilityPolicy(
            0.05,
            window=int(rng.integers(1, 40)),
            long_window=int(rng.integers(40, 200)),
            min_scale=float(rng.choice([0.5, 1.0, 1.5])),
            max_scale=float(rng.choice([2.0, 1.2, 5.0])),
        )
        lowest = policy.lowest_scales(prices)
        assert lowest.shape == prices.shape
        for row in range(rows):
            scales = _scales(policy, prices, row)
            assert (lowest[row] <= scales).all(), (trial, row)


def test_close_to_the_scales_on_real_prices() -> None:
    prices = load_dataset("sp500").iloc[:1500, :6].to_numpy()
    prices = np.column_stack([prices, np.ones(len(prices))])
    policy = VolatilityPolicy(0.05, window=63, long_window=756)
    lowest = policy.lowest_scales(prices)
    for row in range(0, len(prices), 7):
        scales = _scales(policy, prices, row)
        assert (lowest[row, :-1] <= scales[:-1]).all()
        np.testing.assert_allclose(lowest[row, :-1], scales[:-1], rtol=1e-8)
