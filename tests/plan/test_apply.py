from __future__ import annotations

from datetime import date

import pytest

from poise.model import Holdings, Lot, Side, Trade
from poise.plan import apply_trades

D = date(2024, 6, 3)


def test_sell_without_lot_sales_takes_oldest_first_and_buy_opens_a_lot():
    old = Lot("a", "X", 10, 500, date(2020, 1, 1))
    new = Lot("a", "X", 10, 1500, date(2023, 1, 1))
    holdings = Holdings((new, old), {"a": 100.0})
    trades = [
        Trade("a", "X", Side.SELL, 15, 120, 2.0, "test"),
        Trade("a", "Y", Side.BUY, 5, 20, 1.0, "test"),
    ]
    after = apply_trades(holdings, trades, D, [("a", 50.0)])
    # cash: 100 + 50 + 15 × 120 - 2 - 5 × 20 - 1
    assert after.cash["a"] == pytest.approx(100 + 50 + 1800 - 2 - 100 - 1)
    x = [lot for lot in after.lots if lot.symbol == "X"]
    assert len(x) == 1
    assert x[0].acquired == date(2023, 1, 1)
    assert x[0].quantity == pytest.approx(5)
    assert x[0].cost_basis == pytest.approx(750)
    (y,) = [lot for lot in after.lots if lot.symbol == "Y"]
    assert (y.quantity, y.cost_basis, y.acquired) == (5, 101.0, D)
    assert holdings.lots == (new, old)  # the input is untouched
