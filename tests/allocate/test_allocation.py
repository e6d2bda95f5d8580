"""Model allocations: schedule, lookback window and no look-ahead."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise._errors import DataError
from poise.allocate import (
    CovarianceName,
    ModelAllocation,
    ModelName,
    ModelSpec,
    daily_returns,
    fit_model,
    walk_forward,
)
from poise.data import load_dataset
from poise.model import CASH
from poise.policy import Frequency

SYMBOLS = ("JNJ", "KO", "PG", "WMT", "XOM", "AAPL")
AS_OF = date(2015, 6, 30)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500").loc["2012":"2016", list(SYMBOLS)]


def perturbed_after(prices: pd.DataFrame, day: date, seed: int = 7) -> pd.DataFrame:
    """Prices after ``day`` replaced by noise; up to and including ``day`` untouched."""
    rng = np.random.default_rng(seed)
    out = prices.copy()
    later = out.index > pd.Timestamp(day)
    out.loc[later] = out.loc[later].to_numpy() * rng.uniform(0.5, 1.5, (later.sum(), out.shape[1]))
    return out


def test_initial_targets_are_equal_weights_with_cash():
    allocation = ModelAllocation(ModelSpec(), SYMBOLS, cash_weight=0.1)
    targets = allocation.initial_targets()
    assert targets[CASH] == 0.1
    assert targets["JNJ"] == pytest.approx(0.15)
    assert sum(targets.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("refit", "last", "today", "due"),
    [
        (Frequency.MONTHLY, None, date(2020, 1, 2), True),
        (Frequency.MONTHLY, date(2020, 1, 2), date(2020, 1, 31), False),
        (Frequency.MONTHLY, date(2020, 1, 31), date(2020, 2, 3), True),
        (Frequency.QUARTERLY, date(2020, 1, 2), date(2020, 3, 31), False),
        (Frequency.QUARTERLY, date(2020, 3, 31), date(2020, 4, 1), True),
        (Frequency.ANNUAL, date(2020, 1, 2), date(2020, 12, 31), False),
        (None, None, date(2020, 1, 2), True),
        (None, date(2020, 1, 2), date(2030, 1, 2), False),
    ],
)
def test_refit_schedule(refit, last, today, due):
    assert ModelAllocation(ModelSpec(), SYMBOLS, refit=refit).refit_due(today, last) is due


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(),
        ModelSpec(model=ModelName.HRP, covariance=CovarianceName.LEDOIT_WOLF),
        ModelSpec(covariance=CovarianceName.REGIME),
    ],
    ids=["min_variance", "hrp", "regime"],
)
def test_no_look_ahead(prices, spec):
    allocation = ModelAllocation(spec, SYMBOLS, lookback_days=250)
    before = allocation.targets_on(prices, AS_OF)
    after = allocation.targets_on(perturbed_after(prices, AS_OF), AS_OF)
    assert after == before
    # and the perturbation does matter once it is inside the window
    moved = allocation.targets_on(perturbed_after(prices, date(2015, 3, 31)), AS_OF)
    assert moved != before


def test_fit_uses_exactly_the_lookback_window(prices):
    allocation = ModelAllocation(ModelSpec(), SYMBOLS, lookback_days=120)
    targets = allocation.targets_on(prices, AS_OF)
    window = prices.loc[: pd.Timestamp(AS_OF)].iloc[-121:]
    expected = fit_model(daily_returns(window), ModelSpec()).weights
    assert targets == expected
    # prices before the window do not matter
    older = prices.copy()
    older.loc[older.index < window.index[0]] *= 3.0
    assert allocation.targets_on(older, AS_OF) == targets


def test_short_history_falls_back_to_initial_targets(prices):
    allocation = ModelAllocation(ModelSpec(), SYMBOLS, min_observations=60)
    early = prices.index[30].date()
    assert allocation.fit_on(prices, early) is None
    assert allocation.targets_on(prices, early) == allocation.initial_targets()


def test_missing_symbol_is_a_data_error(prices):
    allocation = ModelAllocation(ModelSpec(), (*SYMBOLS, "TSLA"))
    with pytest.raises(DataError, match="no column for TSLA"):
        allocation.targets_on(prices, AS_OF)


def test_cash_weight_scales_the_model(prices):
    plain = ModelAllocation(ModelSpec(), SYMBOLS, lookback_days=250)
    with_cash = ModelAllocation(ModelSpec(), SYMBOLS, lookback_days=250, cash_weight=0.2)
    a, b = plain.targets_on(prices, AS_OF), with_cash.targets_on(prices, AS_OF)
    assert b[CASH] == 0.2
    for sym in SYMBOLS:
        assert b[sym] == pytest.approx(0.8 * a[sym])


class _Fixed:
    """An allocation with known targets, to check the walk-forward arithmetic by hand."""

    symbols = ("A", "B")

    def initial_targets(self) -> dict[str, float]:
        return {"A": 0.5, "B": 0.5}

    def refit_due(self, as_of: date, last_fit: date | None) -> bool:
        return last_fit is None or as_of.month != last_fit.month

    def targets_on(self, history: pd.DataFrame, as_of: date) -> dict[str, float]:
        return {"A": 0.5, "B": 0.25, CASH: 0.25}

    def describe(self) -> str:
        return "fixed"


def test_walk_forward_returns_by_hand():
    index = pd.to_datetime(["2020-01-30", "2020-01-31", "2020-02-03", "2020-02-04"])
    prices = pd.DataFrame({"A": [10.0, 11.0, 11.0, 12.1], "B": [20.0, 20.0, 22.0, 22.0]}, index)
    result = walk_forward(prices, _Fixed())
    # day 2: A +10%, B 0, cash 0 → 0.05; weights drift to (0.55, 0.25, 0.25) / 1.05
    r2 = 0.5 * 0.10
    # day 3 (February): the return is earned on the drifted weights, then the re-fit
    w = np.array([0.55, 0.25, 0.25]) / 1.05
    r3 = w[1] * 0.10
    # day 4: after the February re-fit, A +10%
    r4 = 0.5 * 0.10
    np.testing.assert_allclose(result.returns.to_numpy(), [r2, r3, r4])
    assert list(result.targets.index) == [index[0], index[2]]
    drifted = w * np.array([1.0, 1.1, 1.0]) / (1 + r3)
    expected_turnover = 0.5 * np.abs(np.array([0.5, 0.25, 0.25]) - drifted).sum()
    assert result.turnover.iloc[1] == pytest.approx(expected_turnover)


def test_walk_forward_has_no_look_ahead(prices):
    allocation = ModelAllocation(ModelSpec(), SYMBOLS, lookback_days=120)
    cut = date(2015, 9, 30)
    base = walk_forward(prices, allocation, date(2015, 1, 1), date(2015, 12, 31))
    other = walk_forward(
        perturbed_after(prices, cut), allocation, date(2015, 1, 1), date(2015, 12, 31)
    )
    upto = base.returns.index <= pd.Timestamp(cut)
    np.testing.assert_array_equal(base.returns[upto], other.returns[upto])
    kept = base.targets.index <= pd.Timestamp(cut)
    pd.testing.assert_frame_equal(base.targets[kept], other.targets[kept])
    assert len(base.targets) == 12
    assert set(base.stats()) >= {"cagr", "volatility", "sharpe", "max_drawdown", "turnover"}
