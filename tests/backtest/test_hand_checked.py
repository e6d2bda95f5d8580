"""Small cases worked out by hand: costs, whole shares, taxes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise.backtest import run_backtest
from poise.model import CASH, AccountKind, LotMethod, TaxRules, TradingRules
from poise.policy import CalendarPolicy, Frequency, NeverPolicy, ThresholdPolicy
from tests.conftest import make_household


def frame(rows: dict[str, list[float]], days: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=pd.DatetimeIndex(days, name="date"), dtype=float)


def test_costs_are_paid_from_cash_and_lower_the_value() -> None:
    # commission 1 per trade, spread 10 bp; 10,000 into A and B at 50/50.
    # The buys must fit the cash: 2 × (x · 1.001 + 1) = 10,000 → x = 4,994.005994…
    prices = frame({"A": [100.0, 100.0], "B": [40.0, 40.0]}, ["2024-01-02", "2024-01-03"])
    hh = make_household(
        {"A": 0.5, "B": 0.5},
        policy=NeverPolicy(),
        trading=TradingRules(commission=1.0, spread_bps=10.0),
    )
    result = run_backtest(hh, prices, initial=10_000.0)
    x = (10_000.0 - 2.0) / 2 / 1.001
    trades = result.trades
    assert len(trades) == 2
    assert trades["value"].to_numpy() == pytest.approx([x, x], rel=1e-12)
    assert trades["cost"].to_numpy() == pytest.approx([1 + x * 1e-3] * 2, rel=1e-12)
    assert result.total_cost == pytest.approx(10_000.0 - 2 * x, rel=1e-12)
    assert result.values.iloc[0] == pytest.approx(2 * x, rel=1e-12)
    assert result.weights[CASH].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert set(trades["kind"]) == {"initial"}


def test_a_rebalance_day_loses_exactly_its_costs() -> None:
    # A doubles, then a monthly rebalance: the value after it is the value before it less
    # that day's costs (prices do not move within the day).
    prices = frame(
        {"A": [10.0, 20.0, 20.0], "B": [10.0, 10.0, 10.0]},
        ["2024-01-30", "2024-01-31", "2024-02-01"],
    )
    hh = make_household(
        {"A": 0.5, "B": 0.5},
        policy=CalendarPolicy(Frequency.MONTHLY),
        trading=TradingRules(commission=2.0, spread_bps=25.0),
    )
    result = run_backtest(hh, prices, initial=1_000.0)
    before = result.values.iloc[1]  # Jan 31: no trade, A has doubled
    feb = result.trades[result.trades["date"] == pd.Timestamp("2024-02-01")]
    assert set(feb["side"]) == {"buy", "sell"}
    assert result.values.iloc[2] == pytest.approx(before - feb["cost"].sum(), rel=1e-12)
    assert feb["cost"].to_numpy() == pytest.approx(2.0 + feb["value"].to_numpy() * 25e-4)


def test_whole_shares() -> None:
    # 1,000 at 25 and 50: 20 A and 10 B exactly. Then A → 30: value 1,100, goal 550 each:
    # sell round(50 / 30) = 2 A (60 cash), buy floor(60 / 50) = 1 B; 10 cash left over,
    # and A is 10 short of its goal, under half a share, so nothing more is bought.
    prices = frame(
        {"A": [25.0, 30.0], "B": [50.0, 50.0]},
        ["2024-01-31", "2024-02-01"],
    )
    hh = make_household(
        {"A": 0.5, "B": 0.5},
        policy=CalendarPolicy(Frequency.MONTHLY),
        trading=TradingRules(fractional=False),
    )
    result = run_backtest(hh, prices, initial=1_000.0)
    t = result.trades
    day0 = t[t["date"] == pd.Timestamp("2024-01-31")].set_index("symbol")["quantity"]
    assert day0.to_dict() == {"A": 20.0, "B": 10.0}
    day1 = t[t["date"] == pd.Timestamp("2024-02-01")]
    assert day1[["symbol", "side", "quantity"]].values.tolist() == [
        ["A", "sell", 2.0],
        ["B", "buy", 1.0],
    ]
    assert result.values.iloc[1] == pytest.approx(1_100.0)
    w = result.weights.iloc[1]
    assert w["A"] == pytest.approx(540 / 1100)
    assert w["B"] == pytest.approx(550 / 1100)
    assert w[CASH] == pytest.approx(10 / 1100)


TAX = TaxRules(lot_method=LotMethod.FIFO, short_term_rate=0.30, long_term_rate=0.10)
TAX_DAYS = ["2021-06-01", "2021-07-01", "2021-12-31", "2022-01-03"]


def test_taxes_are_paid_next_year_selling_when_cash_is_short() -> None:
    # 1,000 into A and B at 100. Jul 1: A = 150 → weight 60% > 55%, rebalance: sell 125 of A
    # (0.8333 shares, basis 83.33): a short-term gain of 41.67, tax 12.50 for 2021.
    # Jan 3 2022: A = 160, no cash → the tax is raised by selling 12.50 of A, the most
    # overweight (0.078125 shares, basis 7.8125): a 2022 gain of 4.6875, due 1.40625.
    prices = frame({"A": [100.0, 150.0, 150.0, 160.0], "B": [100.0] * 4}, TAX_DAYS)
    hh = make_household({"A": 0.5, "B": 0.5}, policy=ThresholdPolicy(0.05), tax=TAX)
    result = run_backtest(hh, prices, initial=1_000.0)
    taxes = result.taxes
    assert taxes.loc[2021, "realized_short_term"] == pytest.approx(125 - 250 / 3)
    assert taxes.loc[2021, "tax"] == pytest.approx(12.5)
    assert taxes.loc[2021, "paid"] == pytest.approx(12.5)
    assert taxes.loc[2021, "paid_on"] == pd.Timestamp("2022-01-03")
    assert result.taxes_paid == pytest.approx(12.5)
    assert result.taxes_due == pytest.approx(0.3 * 4.6875)
    tax_trades = result.trades[result.trades["kind"] == "tax"]
    assert tax_trades[["symbol", "side"]].values.tolist() == [["A", "sell"]]
    assert tax_trades["quantity"].iloc[0] == pytest.approx(12.5 / 160)
    held_a = (1000 / 2 / 100 - 125 / 150) * 160
    assert result.values.iloc[3] == pytest.approx(held_a + 625 - 12.5)
    assert result.metrics.taxes_paid == pytest.approx(12.5)


def test_taxes_come_from_cash_when_there_is_enough() -> None:
    # 10% cash target: 100 of cash covers the 2021 tax (0.3 × 41.67 × 0.9 = 11.25); no sell.
    prices = frame({"A": [100.0, 150.0, 150.0, 160.0], "B": [100.0] * 4}, TAX_DAYS)
    hh = make_household({"A": 0.45, "B": 0.45, CASH: 0.1}, policy=ThresholdPolicy(0.05), tax=TAX)
    result = run_backtest(hh, prices, initial=1_000.0)
    # Jul 1: value 1,225, A at 675 (55.1% > 50%): sell 675 - 551.25 = 123.75 of A at 150,
    # basis 82.5 → gain 41.25, tax 12.375
    assert result.taxes.loc[2021, "tax"] == pytest.approx(0.3 * (123.75 - 82.5))
    assert (result.trades["kind"] != "tax").all()
    cash_before = result.weights[CASH].iloc[2] * result.values.iloc[2]
    cash_after = result.weights[CASH].iloc[3] * result.values.iloc[3]
    assert cash_after == pytest.approx(cash_before - 0.3 * 41.25)


def test_no_tax_in_tax_advantaged_accounts() -> None:
    prices = frame({"A": [100.0, 150.0, 150.0, 160.0], "B": [100.0] * 4}, TAX_DAYS)
    hh = make_household(
        {"A": 0.5, "B": 0.5},
        accounts=(("roth", AccountKind.TAX_FREE),),
        policy=ThresholdPolicy(0.05),
        tax=TAX,
    )
    result = run_backtest(hh, prices, initial=1_000.0)
    assert result.taxes_paid == 0.0
    assert result.taxes_due == 0.0
    assert np.all(result.trades["realized_short_term"] == 0.0)


def test_a_net_loss_year_owes_nothing() -> None:
    # both fall; B, which fell less, is sold above target at a loss: 1,000 → A 300, B 400;
    # sell 50 of B at 80 (basis 62.5) → a loss of 12.5, no tax
    prices = frame({"A": [100.0, 60.0, 60.0, 60.0], "B": [100.0, 80.0, 80.0, 80.0]}, TAX_DAYS)
    hh = make_household({"A": 0.5, "B": 0.5}, policy=ThresholdPolicy(0.05), tax=TAX)
    result = run_backtest(hh, prices, initial=1_000.0, end=date(2022, 1, 3))
    assert result.taxes.loc[2021, "realized_short_term"] == pytest.approx(-12.5)
    assert result.taxes_paid == 0.0
