"""Whole-share sells never leave a fraction of a share behind (or sell one)."""

from datetime import date

import pytest

from poise.model import AccountKind, Holdings, Lot, TradingRules
from poise.plan import plan_rebalance
from poise.policy import CalendarPolicy
from tests.conftest import make_household

DAY = date(2024, 6, 3)


@pytest.mark.parametrize(("held", "price_a"), [(1.0, 21.0), (3.0, 24.0), (10.0, 25.0)])
def test_selling_nearly_all_of_a_position_sells_all_of_it(held: float, price_a: float) -> None:
    # A is far over target: the plan sells (held - a little) of it, which whole-share rules
    # must round to the whole position, not to a fraction of a share.
    hh = make_household(
        {"A": 0.02, "B": 0.98},
        accounts=(("ira", AccountKind.TAX_DEFERRED),),
        policy=CalendarPolicy(),
        trading=TradingRules(fractional=False),
    )
    holdings = Holdings((Lot("ira", "A", held, held * 20.0, date(2020, 1, 2)),), {"ira": 1.0})
    plan = plan_rebalance(hh, holdings, {"A": price_a, "B": 10.0}, DAY, force=True)
    for trade in plan.trades:
        assert trade.quantity == round(trade.quantity)
    for lot in plan.holdings_after.lots:
        assert lot.quantity == round(lot.quantity)
