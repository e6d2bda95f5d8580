"""Policies carry their capabilities: a policy that declares its trigger gets its bands in
results, the backtest's quiet-day screen and the Monte Carlo, whatever its class; one that
does not (or a subclass that changes ``decide``) is asked every day and refused by the Monte
Carlo."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from poise import InputError
from poise.backtest import run_backtest
from poise.calendar import Frequency
from poise.data import load_dataset
from poise.model import AccountKind
from poise.policy import (
    AnyOf,
    BandTrigger,
    CalendarPolicy,
    Decision,
    PolicyContext,
    ThresholdPolicy,
    Trigger,
    half_bands,
    trigger_bands,
    trigger_of,
)
from poise.risk import MonteCarloSettings, monte_carlo
from tests.conftest import make_household

SYMBOLS = ["AAPL", "JPM", "KO", "XOM"]
TARGETS = {"AAPL": 0.3, "JPM": 0.3, "KO": 0.2, "XOM": 0.2}


@dataclass(frozen=True)
class Counted:
    """Counts the calls of ``decide`` (how often the backtest asked)."""

    calls: list[int]


@dataclass(frozen=True)
class MyBands:
    """Not a ThresholdPolicy: decides exactly as 5pp / 25 % bands do, and says so."""

    counter: Counted

    def decide(self, context: PolicyContext) -> Decision:
        self.counter.calls.append(1)
        return ThresholdPolicy(0.05, 0.25).decide(context)

    def trigger(self) -> Trigger:
        return BandTrigger(0.05, 0.25)

    def describe(self) -> str:
        return "my bands"


class NeverBands(ThresholdPolicy):
    """A subclass that changes ``decide`` but not ``trigger``: its trigger is not believed."""

    __slots__ = ()

    def decide(self, context: PolicyContext) -> Decision:
        return Decision(False, ("never",))


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[SYMBOLS].loc["2005-01-01":"2009-12-31"]


def household(policy: object):  # type: ignore[no-untyped-def]
    return make_household(TARGETS, accounts=(("ira", AccountKind.TAX_DEFERRED),), policy=policy)


def test_a_new_class_gets_bands_screen_and_results_of_the_builtin(prices: pd.DataFrame) -> None:
    counter = Counted([])
    mine = run_backtest(household(MyBands(counter)), prices)
    builtin = run_backtest(household(ThresholdPolicy(0.05, 0.25)), prices)
    asked = len(counter.calls)
    pd.testing.assert_series_equal(mine.values, builtin.values)
    assert len(mine.trades) == len(builtin.trades) > 0
    # bands in results: 5pp or a quarter of the target, whichever is tighter (by hand)
    assert mine.bands is not None
    row = mine.bands.iloc[0]
    for sym, target in TARGETS.items():
        assert row[sym] == pytest.approx(min(0.05, 0.25 * target))
    pd.testing.assert_frame_equal(mine.bands, builtin.bands)
    # the screen: asked on a small share of the days, and the same answer as asking daily
    assert asked < len(prices) / 4
    every_day = run_backtest(household(MyBands(Counted([]))), prices, screen=False)
    pd.testing.assert_series_equal(mine.values, every_day.values)


def test_a_new_class_runs_in_the_monte_carlo(prices: pd.DataFrame) -> None:
    settings = MonteCarloSettings(paths=200, years=3, seed=3)
    mine = monte_carlo(household(MyBands(Counted([]))), prices, settings).to_dict()
    builtin = monte_carlo(household(ThresholdPolicy(0.05, 0.25)), prices, settings).to_dict()
    mine.pop("policy")
    builtin.pop("policy")
    assert mine == builtin


def test_a_subclass_that_changes_decide_has_no_trigger(prices: pd.DataFrame) -> None:
    policy = NeverBands(0.05)
    assert trigger_of(policy) is None
    assert trigger_of(ThresholdPolicy(0.05)) == BandTrigger(0.05, None)
    result = run_backtest(household(policy), prices)
    assert result.bands is None
    assert len(result.rebalances) <= 1  # only the first day's investment, never a band
    with pytest.raises(InputError, match="declares no trigger"):
        monte_carlo(household(policy), prices, MonteCarloSettings(paths=10, years=1))
    # any-of with a part that declares nothing declares nothing either
    assert trigger_of(AnyOf((ThresholdPolicy(0.05), policy))) is None


def test_any_of_bands_are_the_tightest_of_its_parts() -> None:
    target = np.array([0.6, 0.4, 0.0])
    trigger = trigger_of(AnyOf((ThresholdPolicy(0.05), ThresholdPolicy(None, 0.1))))
    got = trigger_bands(trigger, target)
    assert got is not None
    expected = np.minimum(half_bands(target, 0.05, None), half_bands(target, None, 0.1))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(got, [0.05, 0.04, 0.05])  # by hand: 0.1 × 0.4 < 0.05
    assert trigger_bands(trigger_of(CalendarPolicy(Frequency.ANNUAL)), target) is None
    assert math.isinf(half_bands(target, None, 0.1)[2])
