"""The wash-sale calendar's indexed paths against the code they replaced, on random days.

Each ``old_*`` function is the calendar's method as it was before (verbatim but for names);
the new one must give the same answers, exactly.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from poise.model import Account, AccountKind, Holdings, Household, Lot, Side
from poise.policy import ThresholdPolicy
from poise.tax import Transaction, WashCalendar

AS_OF = date(2024, 6, 3)
ACCOUNTS = (
    Account("brokerage", AccountKind.TAXABLE),
    Account("joint", AccountKind.TAXABLE),
    Account("ira", AccountKind.TAX_DEFERRED),
)
SYMBOLS = ("A", "B", "C", "D")
GROUPS = st.sampled_from(
    [(), (frozenset({"A", "B"}),), (frozenset({"A", "B"}), frozenset({"B", "C"}))]
)
ages = st.sampled_from([0, 1, 5, 12, 29, 30, 31, 45, 59, 60, 61, 200, 400])
lots_st = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS).map(lambda a: a.id),
        st.sampled_from(SYMBOLS),
        st.sampled_from([1.0, 2.5, 10.0, 40.0]),
        st.floats(20.0, 200.0),
        ages,
    ),
    max_size=14,
)
txs_st = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS).map(lambda a: a.id),
        st.sampled_from(SYMBOLS),
        st.booleans(),
        st.sampled_from([1.0, 3.0, 10.0, 25.0]),
        st.floats(50.0, 150.0),
        ages,
    ),
    max_size=12,
)


def old_buy_block(self: WashCalendar, symbol: str) -> str | None:
    """``WashCalendar.buy_block`` before the per-symbol index (it sorted all loss sales)."""
    group = self.group(symbol)
    for account, sym in self.today_losses:
        if sym in group:
            return f"{sym} is sold at a loss in {account} today (wash sale)"
    since = self.as_of - timedelta(days=self.window_days)
    for sale in sorted(self.loss_sales, key=lambda s: s.date, reverse=True):
        if sale.symbol in group and sale.date >= since:
            until = sale.date + timedelta(days=self.window_days + 1)
            return (
                f"{sale.symbol} was sold at a loss of {sale.loss:,.2f} in {sale.account} on "
                f"{sale.date} (wash sale until {until})"
            )
    return None


def _calendar(raw_lots, raw_txs, identical) -> tuple[Household, Holdings, list[Transaction]]:
    hh = Household(
        name="wash",
        accounts=ACCOUNTS,
        targets={s: 1 / len(SYMBOLS) for s in SYMBOLS},
        policy=ThresholdPolicy(0.05),
        identical_groups=identical,
    )
    lots = [
        Lot(acc, sym, q, q * bps, AS_OF - timedelta(days=age)) for acc, sym, q, bps, age in raw_lots
    ]
    txs = [
        Transaction(
            AS_OF - timedelta(days=age),
            acc,
            sym,
            Side.BUY if buy else Side.SELL,
            q,
            price,
            None if buy else q * 100.0,
        )
        for acc, sym, buy, q, price, age in raw_txs
    ]
    return hh, Holdings(tuple(lots), {a.id: 0.0 for a in ACCOUNTS}), txs


@settings(max_examples=300, deadline=None)
@given(
    lots_st,
    txs_st,
    GROUPS,
    st.lists(
        st.tuples(st.sampled_from(ACCOUNTS).map(lambda a: a.id), st.sampled_from(SYMBOLS)),
        max_size=3,
    ),
)
def test_buy_block_equals_old(raw_lots, raw_txs, identical, today):
    hh, holdings, txs = _calendar(raw_lots, raw_txs, identical)
    calendar = WashCalendar.build(hh, holdings, txs, AS_OF)
    for symbol in SYMBOLS:  # before and after today's loss sales are noted
        assert calendar.buy_block(symbol) == old_buy_block(calendar, symbol)
    for account, symbol in today:
        calendar.note_loss_sale(account, symbol)
        for other in SYMBOLS:
            assert calendar.buy_block(other) == old_buy_block(calendar, other)


def test_buy_block_ties_pick_the_first_listed_sale():
    """Two loss sales of one group on one day: the one listed first is named (as before)."""
    hh, holdings, _ = _calendar([], [], (frozenset({"A", "B"}),))
    day = AS_OF - timedelta(days=3)
    txs = [
        Transaction(day, "brokerage", "B", Side.SELL, 10.0, 50.0, 900.0),
        Transaction(day, "joint", "A", Side.SELL, 10.0, 50.0, 700.0),
        Transaction(day - timedelta(days=1), "joint", "A", Side.SELL, 1.0, 50.0, 70.0),
    ]
    calendar = WashCalendar.build(hh, holdings, txs, AS_OF)
    assert calendar.buy_block("A") == (
        f"B was sold at a loss of 400.00 in brokerage on {day} "
        f"(wash sale until {day + timedelta(days=31)})"
    )
    assert calendar.buy_block("A") == old_buy_block(calendar, "A")
    assert calendar.buy_block("C") is None
