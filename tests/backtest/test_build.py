"""A result's parts built on first read (``poise.backtest._build``): the same tables and
figures in whatever order they are read, picklable, immutable; the compiled loop's
rebalances still checked against the policy when their reasons are worded."""

from __future__ import annotations

import dataclasses
import math
import pickle
from datetime import date

import pandas as pd
import pytest

from poise.backtest import BacktestResult, ScheduledFlow, run_backtest
from poise.data import load_dataset
from poise.model import CASH, AccountKind, TradingRules
from poise.plan import _compiled as plan_compiled
from poise.policy import CalendarPolicy, Decision, Frequency, ThresholdPolicy
from poise.report import backtest_result_to_dict
from tests.conftest import make_household

TARGETS = {"AAPL": 0.25, "JPM": 0.25, "KO": 0.2, "XOM": 0.15, "MSFT": 0.1, CASH: 0.05}
TABLES = ("weights", "targets", "bands", "trades", "rebalances", "flows", "taxes")
CASES = {
    "one account, bands": (
        (("ira", AccountKind.TAX_DEFERRED),),
        ThresholdPolicy(0.02),
        TradingRules(fractional=False, spread_bps=5.0, commission=1.0),
    ),
    "one account, calendar": (
        (("ira", AccountKind.TAX_FREE),),
        CalendarPolicy(Frequency.MONTHLY),
        TradingRules(),
    ),
    "taxable and ira": (
        (("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        ThresholdPolicy(0.05, 0.25),
        TradingRules(spread_bps=5.0),
    ),
}
FLOWS = [
    ScheduledFlow(1_000.0, "month"),
    ScheduledFlow(-3_000.0, "quarter", start=date(2008, 1, 1)),
]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[list(TARGETS)[:-1]].loc["2005-01-01":"2009-12-31"]


def _run(prices: pd.DataFrame, case: str, flows: list[ScheduledFlow] = FLOWS) -> BacktestResult:
    accounts, policy, rules = CASES[case]
    hh = make_household(TARGETS, accounts=accounts, policy=policy, trading=rules)
    return run_backtest(hh, prices, flows=flows)


def _same_metrics(a: object, b: object) -> None:
    for (key, x), y in zip(
        dataclasses.asdict(a).items(),  # type: ignore[call-overload]
        dataclasses.asdict(b).values(),  # type: ignore[call-overload]
        strict=True,
    ):
        same = x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        assert same, (key, x, y)


def _same(a: BacktestResult, b: BacktestResult) -> None:
    pd.testing.assert_series_equal(a.values, b.values, check_exact=True)
    for name in TABLES:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None
            assert y is None
            continue
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    _same_metrics(a.metrics, b.metrics)
    assert backtest_result_to_dict(a) == backtest_result_to_dict(b)


@pytest.mark.parametrize("case", list(CASES))
def test_parts_do_not_depend_on_the_order_they_are_read_in(prices: pd.DataFrame, case: str) -> None:
    tables_first = _run(prices, case)
    for name in TABLES:
        getattr(tables_first, name)
    json_first = _run(prices, case)
    data = backtest_result_to_dict(json_first)  # rebalance dates before the rebalances table exists
    assert data["rebalance_dates"] == [d.date().isoformat() for d in json_first.rebalances["date"]]
    _same(json_first, tables_first)


def test_a_result_pickles_with_every_part(prices: pd.DataFrame) -> None:
    result = _run(prices, "one account, bands")
    copy = pickle.loads(pickle.dumps(result))
    _same(copy, _run(prices, "one account, bands"))


def test_a_result_is_immutable(prices: pd.DataFrame) -> None:
    result = _run(prices, "one account, calendar")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.values = result.values  # type: ignore[misc]
    assert "final_value=" in repr(result)


@pytest.mark.skipif(not plan_compiled.jit_available(), reason="numba not installed")
def test_wording_the_compiled_rebalances_checks_the_policy_agrees(
    prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(prices, "one account, calendar", flows=[])
    assert result.final_value > 0  # the run itself does not ask the policy for reasons

    def never(self: object, context: object) -> Decision:
        return Decision(False, ("no",))

    monkeypatch.setattr(CalendarPolicy, "decide", never)
    with pytest.raises(AssertionError, match="disagree"):
        result.rebalances  # noqa: B018
