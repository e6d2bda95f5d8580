"""The backtest's array path (one tax-advantaged account) against the object path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from poise.backtest import ScheduledFlow, _fast, run_backtest
from poise.backtest import _engine as engine_module
from poise.data import load_dataset
from poise.model import CASH, AccountKind, TradingRules
from poise.plan import _engine as plan_engine
from poise.plan import _kernel
from poise.policy import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    Frequency,
    NeverPolicy,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
)
from tests.conftest import make_household

SYMBOLS = ["AAPL", "JPM", "KO", "XOM", "MSFT"]
TARGETS = {"AAPL": 0.25, "JPM": 0.25, "KO": 0.2, "XOM": 0.15, "MSFT": 0.1, CASH: 0.05}

POLICIES = {
    "calendar monthly": CalendarPolicy(Frequency.MONTHLY),
    "abs 2pp": ThresholdPolicy(0.02),
    "5/25 to band": ThresholdPolicy(0.05, 0.25, RebalanceTo.BAND),
    "rel 10% checked monthly": ThresholdPolicy(None, 0.10, check_frequency=Frequency.MONTHLY),
    "volatility": VolatilityPolicy(0.03, window=20, long_window=120),
    "any of": AnyOf((CalendarPolicy(Frequency.ANNUAL), ThresholdPolicy(0.04))),
    "cash flow": CashFlowPolicy(),
    "never": NeverPolicy(),
}

FLOWS = [
    ScheduledFlow(1_500.0, "month"),
    ScheduledFlow(-4_000.0, "quarter", start=date(2007, 6, 1)),
    ScheduledFlow(10_000.0, "year"),
]
RULES = {
    "fractional, no costs": TradingRules(),
    "whole shares, costs": TradingRules(
        fractional=False, spread_bps=5.0, commission=1.0, min_trade_value=50.0
    ),
    "fractional, costs, reserve": TradingRules(
        spread_bps=10.0, commission=0.5, cash_reserve=250.0, min_trade_value=20.0
    ),
}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[SYMBOLS].loc["2007-01-01":"2008-12-31"]


@contextmanager
def object_path() -> Iterator[None]:
    """Force the object path and the plan's general path (both switches off)."""
    _fast._USE_ARRAYS = False
    plan_engine._USE_KERNEL = False
    try:
        yield
    finally:
        _fast._USE_ARRAYS = True
        plan_engine._USE_KERNEL = True


def household(policy: object, rules: TradingRules, kind: AccountKind = AccountKind.TAX_DEFERRED):  # type: ignore[no-untyped-def]
    return make_household(TARGETS, accounts=(("ira", kind),), policy=policy, trading=rules)


def assert_same(fast: Any, slow: Any) -> None:
    """The same backtest, up to the last bits of quantities (one number per symbol on the
    array path, a sum of lots on the object path)."""
    pd.testing.assert_series_equal(fast.values, slow.values, check_exact=False, rtol=1e-11)
    pd.testing.assert_frame_equal(
        fast.weights, slow.weights, check_exact=False, rtol=1e-9, atol=1e-12
    )
    pd.testing.assert_frame_equal(fast.trades, slow.trades, check_exact=False, rtol=1e-9)
    assert fast.trades["reason"].tolist() == slow.trades["reason"].tolist()
    pd.testing.assert_frame_equal(fast.rebalances, slow.rebalances, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(fast.flows, slow.flows, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(fast.taxes, slow.taxes)
    pd.testing.assert_frame_equal(fast.targets, slow.targets)
    assert fast.warnings == slow.warnings
    assert fast.metrics.rebalances == slow.metrics.rebalances
    assert fast.after_tax_value == pytest.approx(slow.after_tax_value, rel=1e-11)


@pytest.mark.parametrize("rules", list(RULES))
@pytest.mark.parametrize("name", list(POLICIES))
def test_array_path_gives_the_object_paths_result(
    prices: pd.DataFrame, name: str, rules: str
) -> None:
    hh = household(POLICIES[name], RULES[rules])
    assert _fast.uses_arrays(hh, None)
    fast = run_backtest(hh, prices, flows=FLOWS)
    with object_path():
        slow = run_backtest(hh, prices, flows=FLOWS)
    assert len(fast.trades) > 0
    assert_same(fast, slow)


def test_draining_withdrawals_are_reported_alike(prices: pd.DataFrame) -> None:
    # 30,000 a quarter drains 100,000 within a year: short payments and warnings.
    hh = household(ThresholdPolicy(0.03), RULES["whole shares, costs"], AccountKind.TAX_FREE)
    flows = [ScheduledFlow(-30_000.0, "quarter")]
    fast = run_backtest(hh, prices, flows=flows)
    with object_path():
        slow = run_backtest(hh, prices, flows=flows)
    assert fast.withdrawal_shortfall > 0
    assert any("cannot be met" in w for w in fast.warnings)
    assert_same(fast, slow)


@pytest.mark.parametrize("name", ["abs 2pp", "volatility", "calendar monthly"])
def test_array_path_unscreened_gives_the_same(prices: pd.DataFrame, name: str) -> None:
    hh = household(POLICIES[name], RULES["whole shares, costs"])
    fast = run_backtest(hh, prices, flows=FLOWS)
    also = run_backtest(hh, prices, flows=FLOWS, screen=False)
    pd.testing.assert_series_equal(fast.values, also.values, check_exact=True)
    pd.testing.assert_frame_equal(fast.trades, also.trades, check_exact=True)
    pd.testing.assert_frame_equal(fast.rebalances, also.rebalances, check_exact=True)


def test_the_array_path_plans_with_the_kernel_only(
    prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = _fast.plan_kernel

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    def no_engine(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the array path must not build Plan objects")

    monkeypatch.setattr(_fast, "plan_kernel", spy)
    monkeypatch.setattr("poise.backtest._steps.plan_rebalance", no_engine)
    monkeypatch.setattr(engine_module, "stretch_for", lambda *a, **k: None)  # every day here
    result = run_backtest(household(POLICIES["abs 2pp"], TradingRules()), prices, flows=FLOWS)
    assert len(calls) == len(set(result.rebalances["date"]) | set(result.flows["date"]))


def test_who_takes_the_array_path() -> None:
    rules = TradingRules()
    assert _fast.uses_arrays(household(NeverPolicy(), rules), None)
    assert not _fast.uses_arrays(household(NeverPolicy(), rules), [])  # custom steps
    taxable = household(NeverPolicy(), rules, AccountKind.TAXABLE)
    assert not _fast.uses_arrays(taxable, None)
    assert _kernel.kernel_eligible(household(NeverPolicy(), rules, AccountKind.TAX_FREE))


def test_holdings_built_from_the_arrays(
    prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deposits only: each position's average cost is what its buys paid, costs included.
    states: list[Any] = []
    real = engine_module._result

    def keep(state: Any, *args: Any) -> Any:
        states.append(state)
        return real(state, *args)

    monkeypatch.setattr(engine_module, "_result", keep)
    rules = TradingRules(spread_bps=20.0, commission=2.0)
    result = run_backtest(
        household(CashFlowPolicy(), rules), prices, flows=[ScheduledFlow(2_000.0, "month")]
    )
    (state,) = states
    holdings = state.holdings
    buys = result.trades[result.trades["side"] == "buy"]
    assert (result.trades["side"] == "buy").all()
    paid = (buys["value"] + buys["cost"]).groupby(buys["symbol"]).sum()
    shares = buys.groupby("symbol")["quantity"].sum()
    assert {lot.symbol for lot in holdings.lots} == set(shares.index)
    for lot in holdings.lots:
        assert lot.account == "ira"
        assert lot.quantity == pytest.approx(shares[lot.symbol], rel=1e-12)
        assert lot.cost_basis == pytest.approx(paid[lot.symbol], rel=1e-12)
    assert holdings.cash["ira"] == pytest.approx(
        float(result.weights[CASH].iloc[-1] * result.final_value), rel=1e-9
    )
    # and setting the holdings loads the arrays
    state.holdings = holdings
    assert np.allclose(state.quantity[state.cols], state.qty_names)
    assert state.cash == holdings.cash["ira"]


class RotatingTargets:
    """A stand-in ``[allocation]``: each quarter two symbols leave the targets (the others
    share their weight, in a changing order), so held symbols without a target come and go."""

    symbols = tuple(SYMBOLS)

    def refit_due(self, as_of: date, last_fit: date | None) -> bool:
        return last_fit is None or (as_of.month - 1) // 3 != (last_fit.month - 1) // 3

    def targets_on(self, history: pd.DataFrame, as_of: date) -> dict[str, float]:
        quarter = as_of.year * 4 + (as_of.month - 1) // 3
        out = {quarter % len(SYMBOLS), (quarter + 2) % len(SYMBOLS)}
        kept = [s for k, s in enumerate(SYMBOLS) if k not in out]
        kept = kept[quarter % 3 :] + kept[: quarter % 3]
        return {**dict.fromkeys(kept, 0.95 / len(kept)), CASH: 0.05}


@pytest.mark.parametrize(
    "policy",
    [ThresholdPolicy(0.02), CashFlowPolicy(), CalendarPolicy(Frequency.MONTHLY)],
    ids=["threshold", "cash flow", "calendar"],
)
def test_symbols_leaving_the_targets(prices: pd.DataFrame, policy: object) -> None:
    hh = make_household(
        TARGETS,
        accounts=(("ira", AccountKind.TAX_FREE),),
        policy=policy,
        trading=RULES["whole shares, costs"],
        allocation=RotatingTargets(),
    )
    assert _fast.uses_arrays(hh, None)
    fast = run_backtest(hh, prices, flows=FLOWS)
    with object_path():
        slow = run_backtest(hh, prices, flows=FLOWS)
    assert len(fast.targets) > 4
    assert_same(fast, slow)
