"""The compiled quiet stretches (``poise.backtest._compiled``) against the general loop of the
array path: the same run to the last bit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from poise.backtest import ScheduledFlow, run_backtest
from poise.backtest import _compiled as compiled_module
from poise.backtest import _engine as engine_module
from poise.data import load_dataset
from poise.model import CASH, AccountKind, TradingRules
from poise.plan import _compiled as plan_compiled
from poise.policy import (
    CalendarPolicy,
    Frequency,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
)
from tests.conftest import make_household

pytestmark = pytest.mark.skipif(not plan_compiled.jit_available(), reason="numba not installed")

TARGETS = {"AAPL": 0.25, "JPM": 0.25, "KO": 0.2, "XOM": 0.15, "MSFT": 0.1, CASH: 0.05}
POLICIES = {
    "calendar monthly": CalendarPolicy(Frequency.MONTHLY),
    "calendar quarterly": CalendarPolicy(Frequency.QUARTERLY),
    "abs 2pp": ThresholdPolicy(0.02),
    "5/25": ThresholdPolicy(0.05, 0.25),
    "rel 10% checked monthly": ThresholdPolicy(None, 0.10, check_frequency=Frequency.MONTHLY),
    "volatility": VolatilityPolicy(0.03, window=20, long_window=120),
    "volatility rel 25%": VolatilityPolicy(None, 0.25, window=10, long_window=60, max_scale=1.5),
}
RULES = {
    "fractional, no costs": TradingRules(),
    "whole shares, costs": TradingRules(
        fractional=False, spread_bps=5.0, commission=1.0, min_trade_value=50.0
    ),
    "fractional, costs, reserve": TradingRules(
        spread_bps=10.0, commission=0.5, cash_reserve=250.0, min_trade_value=20.0
    ),
}
FLOWS = [
    ScheduledFlow(1_500.0, "month"),
    ScheduledFlow(-4_000.0, "quarter", start=date(2007, 6, 1)),
]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[list(TARGETS)[:-1]].loc["2005-01-01":"2009-12-31"]


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "stretch_for", lambda *a, **k: None)


@pytest.mark.parametrize("flows", [False, True])
@pytest.mark.parametrize("rules", list(RULES))
@pytest.mark.parametrize("name", list(POLICIES))
def test_compiled_stretches_give_the_general_loops_result(
    prices: pd.DataFrame, name: str, rules: str, flows: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    hh = make_household(TARGETS, accounts=(("ira", AccountKind.TAX_DEFERRED),),
                        policy=POLICIES[name], trading=RULES[rules])  # fmt: skip
    flow = FLOWS if flows else []
    state_seen: list[object] = []
    real = engine_module.stretch_for

    def spy(*args: object, **kwargs: object) -> object:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        state_seen.append(out)
        return out

    monkeypatch.setattr(engine_module, "stretch_for", spy)
    fast = run_backtest(hh, prices, flows=flow)
    assert state_seen[0] is not None  # the compiled loop ran
    _general(monkeypatch)
    slow = run_backtest(hh, prices, flows=flow)
    pd.testing.assert_series_equal(fast.values, slow.values, check_exact=True)
    pd.testing.assert_frame_equal(fast.weights, slow.weights, check_exact=True)
    pd.testing.assert_frame_equal(fast.trades, slow.trades, check_exact=True)
    pd.testing.assert_frame_equal(fast.rebalances, slow.rebalances, check_exact=True)
    pd.testing.assert_frame_equal(fast.flows, slow.flows, check_exact=True)
    assert fast.warnings == slow.warnings
    assert fast.metrics == slow.metrics
    assert len(fast.rebalances) > 3


def test_to_band_rules_take_the_general_loop(prices: pd.DataFrame) -> None:
    hh = make_household(TARGETS, accounts=(("ira", AccountKind.TAX_FREE),),
                        policy=ThresholdPolicy(0.02, rebalance_to=RebalanceTo.BAND))  # fmt: skip
    assert compiled_module.stretch_for(object(), hh.policy, True) is None


def test_holdings_after_a_compiled_run_are_the_general_loops(
    prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = RULES["whole shares, costs"]
    hh = make_household(TARGETS, accounts=(("ira", AccountKind.TAX_DEFERRED),),
                        policy=ThresholdPolicy(0.02), trading=rules)  # fmt: skip
    captured: list[object] = []
    real = engine_module._result

    def keep(state, *args):  # type: ignore[no-untyped-def]
        captured.append(state.holdings)
        return real(state, *args)

    monkeypatch.setattr(engine_module, "_result", keep)
    run_backtest(hh, prices)
    _general(monkeypatch)
    monkeypatch.setattr(engine_module, "_result", keep)
    run_backtest(hh, prices)
    assert captured[0] == captured[1]
