"""A deposit without a rebalance is water-filled over every position, cash included: the buys
follow the engine's own ``desired`` values, not the cash target (fix found by the Monte Carlo
cross-check in tests/risk)."""

from __future__ import annotations

from datetime import date

import pytest

from poise.model import Holdings, Lot
from poise.plan import CashFlow, plan_rebalance
from poise.policy import ThresholdPolicy
from tests.conftest import make_household

DAY = date(2024, 6, 3)


def test_deposit_fills_the_largest_gaps_first_with_cash_underweight():
    hh = make_household({"A": 0.5, "B": 0.45, "CASH": 0.05}, policy=ThresholdPolicy(0.2))
    lots = (
        Lot("brokerage", "A", 600.0, 600.0, date(2020, 1, 2)),
        Lot("brokerage", "B", 380.0, 380.0, date(2020, 1, 2)),
    )
    holdings = Holdings(lots, {"brokerage": 20.0})
    plan = plan_rebalance(
        hh, holdings, {"A": 1.0, "B": 1.0}, DAY, flows=[CashFlow("brokerage", 100.0)]
    )
    # total 1,100: goals A 550, B 495, CASH 55; gaps A -50, B 115, CASH 35.
    # Water level L over {115, 35} for 100: (115 + 35 - 100) / 2 = 25 → B +90, CASH +10.
    assert not plan.triggered
    assert [(t.symbol, t.side.value) for t in plan.trades] == [("B", "buy")]
    assert plan.trades[0].value == pytest.approx(90.0)
    assert plan.holdings_after.cash["brokerage"] == pytest.approx(30.0)
