"""The backtest loop: timing, no look-ahead, screening, missing prices, flows, results."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise._errors import InputError
from poise.backtest import ScheduledFlow, flow_days, run_backtest
from poise.backtest import _steps as steps_module
from poise.data import load_dataset
from poise.model import CASH, AccountKind, LotMethod, TaxRules, TradingRules
from poise.policy import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    Decision,
    Frequency,
    NeverPolicy,
    PolicyContext,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
)
from tests.conftest import make_household

SYMBOLS = ["AAPL", "JPM", "KO", "XOM"]
TARGETS = {"AAPL": 0.3, "JPM": 0.3, "KO": 0.2, "XOM": 0.15, CASH: 0.05}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[SYMBOLS].loc["2007-01-01":"2008-12-31"]


def taxable(policy: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return make_household(
        TARGETS,
        accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        policy=policy,
        tax=TaxRules(LotMethod.HIFO, 0.35, 0.15),
        **kwargs,
    )


class Unscreened:
    """Wraps a policy so the engine cannot recognise (and screen) it."""

    def __init__(self, policy: object) -> None:
        self.policy = policy
        self.calls: list[date] = []

    def decide(self, context: PolicyContext) -> Decision:
        self.calls.append(context.as_of)
        return self.policy.decide(context)  # type: ignore[attr-defined,no-any-return]

    def describe(self) -> str:
        return self.policy.describe()  # type: ignore[attr-defined,no-any-return]


POLICIES = {
    "calendar monthly": CalendarPolicy(Frequency.MONTHLY),
    "calendar quarterly": CalendarPolicy(Frequency.QUARTERLY),
    "abs 2pp": ThresholdPolicy(0.02),
    "5/25 to band": ThresholdPolicy(0.05, 0.25, RebalanceTo.BAND),
    "rel 10% checked monthly": ThresholdPolicy(None, 0.10, check_frequency=Frequency.MONTHLY),
    "volatility": VolatilityPolicy(0.03, window=20, long_window=120),
    "volatility 2pp/25%, scales 0.3-3": VolatilityPolicy(
        0.02, 0.25, window=10, long_window=60, min_scale=0.3, max_scale=3.0
    ),
    "volatility checked monthly": VolatilityPolicy(0.01, check_frequency=Frequency.MONTHLY),
    "any of": AnyOf((CalendarPolicy(Frequency.ANNUAL), ThresholdPolicy(0.04))),
    "cash flow": CashFlowPolicy(),
    "never": NeverPolicy(),
}

FLOWS = [
    ScheduledFlow(1_500.0, "month"),
    ScheduledFlow(-4_000.0, "quarter", account="ira", start=date(2007, 6, 1)),
    ScheduledFlow(10_000.0, "year", account="ira"),
]


def same(a, b) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_series_equal(a.values, b.values, check_exact=True)
    pd.testing.assert_frame_equal(a.trades, b.trades, check_exact=True)
    pd.testing.assert_frame_equal(a.rebalances, b.rebalances, check_exact=True)
    pd.testing.assert_frame_equal(a.taxes, b.taxes, check_exact=True)


@pytest.mark.parametrize("name", list(POLICIES))
def test_screening_gives_the_result_of_asking_every_day(prices: pd.DataFrame, name: str) -> None:
    policy = POLICIES[name]
    hh = taxable(policy, trading=TradingRules(fractional=False, spread_bps=5.0, commission=1.0))
    fast = run_backtest(hh, prices, flows=FLOWS)
    wrapped = Unscreened(policy)
    slow = run_backtest(hh, prices, flows=FLOWS, policy=wrapped)
    assert len(wrapped.calls) == len(prices)  # asked every single day
    assert wrapped.calls == [d.date() for d in prices.index]
    same(fast, slow)
    also_slow = run_backtest(hh, prices, flows=FLOWS, screen=False)
    same(fast, also_slow)


@pytest.mark.parametrize(
    "policy",
    [CalendarPolicy(Frequency.MONTHLY), ThresholdPolicy(0.03), VolatilityPolicy(0.03, window=20)],
    ids=["calendar", "threshold", "volatility"],
)
def test_no_look_ahead(prices: pd.DataFrame, policy: object) -> None:
    # Scramble every price after day k: nothing on or before day k may change.
    hh = taxable(policy)
    base = run_backtest(hh, prices, flows=FLOWS[:1])
    k = 250
    rng = np.random.default_rng(7)
    future = prices.copy()
    future.iloc[k + 1 :] *= rng.uniform(0.5, 1.5, size=future.iloc[k + 1 :].shape)
    other = run_backtest(hh, future, flows=FLOWS[:1])
    cut = prices.index[k]
    pd.testing.assert_series_equal(base.values.loc[:cut], other.values.loc[:cut])
    pd.testing.assert_frame_equal(
        base.trades[base.trades["date"] <= cut], other.trades[other.trades["date"] <= cut]
    )
    assert not base.values.iloc[k + 1 :].equals(other.values.iloc[k + 1 :])


def test_every_trade_comes_from_the_planning_engine(
    prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[date] = []
    real = steps_module.plan_rebalance

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[3])
        assert kwargs["decision"] is not None  # the loop decided; the plan does not re-decide
        return real(*args, **kwargs)

    monkeypatch.setattr(steps_module, "plan_rebalance", spy)
    result = run_backtest(taxable(ThresholdPolicy(0.03)), prices, flows=FLOWS[:1])
    trade_days = {d.date() for d in result.trades["date"]}
    assert trade_days <= set(calls)
    event_days = set(result.rebalances["date"].dt.date) | set(result.flows["date"].dt.date)
    assert set(calls) == event_days


def test_timing_first_day_and_calendar(prices: pd.DataFrame) -> None:
    result = run_backtest(taxable(CalendarPolicy(Frequency.QUARTERLY)), prices)
    days = list(result.rebalances["date"].dt.date)
    assert days[0] == prices.index[0].date()
    assert result.rebalances["kind"].iloc[0] == "initial"
    # then exactly the first trading day of each later quarter
    expected = [
        d.date()
        for prev, d in zip(prices.index[:-1], prices.index[1:], strict=True)
        if (d.year, (d.month - 1) // 3) != (prev.year, (prev.month - 1) // 3)
    ]
    assert days[1:] == expected
    # the first day ends invested at target (whole household, cash included)
    first = result.weights.iloc[0]
    for sym, w in TARGETS.items():
        assert first[sym] == pytest.approx(w, abs=1e-9)


def test_first_day_invests_to_target_even_for_a_band_policy(prices: pd.DataFrame) -> None:
    result = run_backtest(taxable(ThresholdPolicy(0.05, rebalance_to=RebalanceTo.BAND)), prices)
    for sym, w in TARGETS.items():
        assert result.weights.iloc[0][sym] == pytest.approx(w, abs=1e-9)


def test_a_symbol_joins_when_it_lists() -> None:
    raw = load_dataset("sp500")[["AAPL", "KO", "XOM"]].loc["2010-01-01":"2010-12-31"].copy()
    listing = raw.index[60]
    raw.loc[: raw.index[59], "XOM"] = np.nan
    targets = {"AAPL": 0.4, "KO": 0.4, "XOM": 0.2}
    threshold = make_household(targets, policy=ThresholdPolicy(0.05))
    result = run_backtest(threshold, raw)
    before = result.weights.loc[: raw.index[59]]
    assert (before["XOM"] == 0).all()
    # until it lists, its 20% is spread pro rata over the others
    assert before["AAPL"].iloc[0] == pytest.approx(0.5)
    # on its listing day the targets change and the band rule buys it
    assert result.weights.loc[listing, "XOM"] == pytest.approx(0.2, abs=1e-9)
    assert list(result.targets.index) == [raw.index[0], listing]
    assert np.isfinite(result.values).all()
    # a calendar rule waits for its next period
    monthly = make_household(targets, policy=CalendarPolicy(Frequency.MONTHLY))
    later = run_backtest(monthly, raw)
    first_buy = later.trades[later.trades["symbol"] == "XOM"]["date"].min()
    assert first_buy > listing
    assert (first_buy.year, first_buy.month) != (listing.year, listing.month)


def test_a_gap_after_listing_keeps_the_last_price() -> None:
    raw = load_dataset("sp500")[["AAPL", "KO"]].loc["2010-01-01":"2010-03-31"].copy()
    raw.iloc[20:25, 1] = np.nan
    hh = make_household({"AAPL": 0.5, "KO": 0.5}, policy=CalendarPolicy(Frequency.MONTHLY))
    result = run_backtest(hh, raw)
    assert np.isfinite(result.values).all()
    held = result.weights["KO"].iloc[20:25] * result.values.iloc[20:25]
    assert held.to_numpy() == pytest.approx([held.iloc[0]] * 5, rel=1e-12)  # last close kept


def test_flow_schedule() -> None:
    days = pd.bdate_range("2024-01-02", "2024-12-31").to_numpy().astype("datetime64[D]")
    monthly = flow_days(ScheduledFlow(100.0, "month"), days)
    firsts = [str(days[i]) for i in monthly]
    assert firsts[0] == "2024-02-01"  # January already began with the initial investment
    assert len(firsts) == 11
    quarterly = flow_days(ScheduledFlow(100.0, "quarter", start=date(2024, 1, 17)), days)
    assert [str(days[i]) for i in quarterly] == [
        "2024-01-17",
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
    ]
    ended = flow_days(ScheduledFlow(-5.0, "month", end=date(2024, 4, 30)), days)
    assert [str(days[i]) for i in ended] == ["2024-02-01", "2024-03-01", "2024-04-01"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": 0.0}, "amount"),
        ({"amount": float("nan")}, "amount"),
        ({"amount": 1.0, "every": "week"}, "every"),
        ({"amount": 1.0, "start": date(2024, 2, 1), "end": date(2024, 1, 1)}, "end"),
    ],
)
def test_bad_flows_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        ScheduledFlow(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_flows_reach_their_accounts(prices: pd.DataFrame) -> None:
    result = run_backtest(taxable(NeverPolicy()), prices, flows=FLOWS)
    flows = result.flows.set_index(["date", "account"])
    deposits = flows[flows["requested"] > 0]
    assert (deposits["paid"] == deposits["requested"]).all()
    assert result.total_contributions == pytest.approx(1_500.0 * 23 + 10_000.0)
    # the IRA is empty until its first yearly deposit (2008-01-02, the same day as a
    # withdrawal, which that deposit covers): earlier withdrawals are not paid, and reported
    ira = flows.xs("ira", level="account")
    out = ira[ira["requested"] < 0]
    assert (out.loc[:"2007-12-31", "paid"] == 0).all()
    assert out.loc["2008-01-02", "paid"] == -4_000.0
    assert result.withdrawal_shortfall == pytest.approx((out["paid"] - out["requested"]).sum())
    assert result.withdrawal_shortfall >= 4 * 4_000.0
    assert (
        sum("ira cannot be met" in w for w in result.warnings)
        == (out["paid"] != out["requested"]).sum()
    )
    buys = result.trades[result.trades["kind"] == "cash_flow"]
    assert set(buys["account"]) == {"brokerage", "ira"}


def test_a_withdrawal_that_cannot_be_met_is_reported(prices: pd.DataFrame) -> None:
    hh = taxable(NeverPolicy())
    result = run_backtest(hh, prices, flows=[ScheduledFlow(-5_000.0, "month", account="ira")])
    # the IRA never holds anything: nothing can be paid, every month is a shortfall
    assert (result.flows["paid"] == 0).all()
    assert result.withdrawal_shortfall == pytest.approx(5_000.0 * 23)
    assert any("cannot be met" in w for w in result.warnings)
    assert result.to_dict()["withdrawal_shortfall"] == pytest.approx(5_000.0 * 23)


def test_withdrawals_drain_an_account_and_stop(prices: pd.DataFrame) -> None:
    hh = make_household({"AAPL": 0.5, "KO": 0.5}, policy=CalendarPolicy(Frequency.ANNUAL))
    result = run_backtest(hh, prices, initial=10_000.0, flows=[ScheduledFlow(-3_000.0, "month")])
    assert result.values.iloc[-1] == pytest.approx(0.0, abs=1e-6)
    assert result.total_withdrawals < 3_000.0 * 23
    assert result.withdrawal_shortfall > 0
    assert (result.values >= -1e-9).all()


def test_result_objects(prices: pd.DataFrame) -> None:
    result = run_backtest(taxable(ThresholdPolicy(0.03)), prices, flows=FLOWS[:1])
    assert isinstance(result.values.index, pd.DatetimeIndex)
    assert len(result.values) == len(prices)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0, atol=1e-12)
    assert list(result.weights.columns) == [*SYMBOLS, CASH]
    assert {
        "date",
        "account",
        "symbol",
        "side",
        "quantity",
        "price",
        "value",
        "cost",
        "realized_short_term",
        "realized_long_term",
        "reason",
        "kind",
    } <= set(result.trades.columns)
    assert result.trades["reason"].str.len().min() > 0
    assert (result.trades["quantity"] > 0).all()
    assert result.rebalances["reasons"].str.len().min() > 0
    assert result.cash_flows.sum() == pytest.approx(result.total_contributions)
    out = result.to_dict()
    for key in (
        "start",
        "end",
        "initial_value",
        "final_value",
        "total_contributions",
        "cagr",
        "volatility",
        "sharpe",
        "max_drawdown",
        "turnover",
        "rebalances",
        "total_cost",
        "taxes_paid",
        "taxes_due",
    ):
        assert key in out
    json.dumps(out, allow_nan=False)
    assert out["final_value"] == pytest.approx(result.values.iloc[-1])
    assert out["rebalances"] == len(result.rebalances) - 1  # the first day is not a rebalance


def test_start_and_end(prices: pd.DataFrame) -> None:
    result = run_backtest(
        taxable(CalendarPolicy()), prices, start=date(2007, 3, 10), end=date(2007, 6, 30)
    )
    assert result.start == date(2007, 3, 12)
    assert result.end == date(2007, 6, 29)
    with pytest.raises(InputError, match="no trading days"):
        run_backtest(taxable(CalendarPolicy()), prices, start=date(2030, 1, 1))


def test_bad_inputs(prices: pd.DataFrame) -> None:
    hh = taxable(CalendarPolicy())
    with pytest.raises(InputError, match="no price column for MSFT"):
        run_backtest(make_household({"MSFT": 1.0}), prices)
    with pytest.raises(InputError) as info:
        run_backtest(hh, prices, initial=-5.0)
    assert info.value.field == "initial"  # a parameter; the CLI maps it to --initial
    with pytest.raises(InputError, match="unknown account 'roth'"):
        run_backtest(hh, prices, flows=[ScheduledFlow(10.0, "month", account="roth")])


class StepTargets:
    """A stand-in ``[allocation]``: refits quarterly, moving weight from KO to AAPL."""

    symbols = ("AAPL", "KO")

    def __init__(self) -> None:
        self.seen: list[tuple[date, pd.Timestamp]] = []

    def refit_due(self, as_of: date, last_fit: date | None) -> bool:
        return last_fit is None or (as_of.month - 1) // 3 != (last_fit.month - 1) // 3

    def targets_on(self, history: pd.DataFrame, as_of: date) -> dict[str, float]:
        self.seen.append((as_of, history.index[-1]))
        share = min(0.9, 0.5 + 0.1 * len(self.seen))
        return {"AAPL": share, "KO": 1.0 - share}


def test_targets_from_an_allocation_model(prices: pd.DataFrame) -> None:
    model = StepTargets()
    hh = make_household({"AAPL": 0.5, "KO": 0.5}, policy=ThresholdPolicy(0.05), allocation=model)
    result = run_backtest(hh, prices.loc["2007-01-01":"2007-12-31"])
    # fitted on the first day and the first day of each quarter, on data up to that day
    assert [d for d, _ in model.seen] == [
        date(2007, 1, 3),
        date(2007, 4, 2),
        date(2007, 7, 2),
        date(2007, 10, 1),
    ]
    assert all(last.date() == d for d, last in model.seen)
    assert list(result.targets["AAPL"]) == pytest.approx([0.6, 0.7, 0.8, 0.9])
    # each new target is far from the weights, so the band rule rebalances to it that day
    for day in result.targets.index:
        assert result.weights.loc[day, "AAPL"] == pytest.approx(
            result.targets.loc[day, "AAPL"], abs=1e-9
        )
