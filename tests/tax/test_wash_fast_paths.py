"""The wash-sale calendar's indexed paths against the code they replaced, on random days.

Each ``old_*`` function is the calendar's method as it was before (verbatim but for names);
the new one must give the same answers, exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from poise.model import Account, AccountKind, Holdings, Household, Lot, Side
from poise.policy import ThresholdPolicy
from poise.tax import (
    LossSale,
    Purchase,
    Transaction,
    WashCalendar,
    WashMatch,
    identical_group,
    match_wash_sales,
    wash_adjusted_lot,
)
from poise.tax._wash import _EPS, _Entry, _lot_key, _match_one

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


def old_adjust(
    self: WashCalendar,
    holdings: Holdings,
    adjustments: Sequence[tuple[WashMatch, _Entry]],
    notes: list[str],
) -> Holdings:
    """``WashCalendar._adjust`` before it indexed only the replacement keys (it indexed every
    held lot)."""
    if all(match.lost for match, _ in adjustments):  # no replacement lot held here moves
        return Holdings(tuple(holdings.lots), holdings.cash)
    lots = list(holdings.lots)
    where: dict[tuple[str, str, dt.date], list[int]] = {}
    for j, held in enumerate(lots):
        where.setdefault(_lot_key(held), []).append(j)
    for match, entry in adjustments:
        if match.lost:
            continue
        left = match.quantity
        per_share = match.disallowed / match.quantity
        for k in dict.fromkeys(_lot_key(lot) for lot in entry.lots):
            for j in list(where.get(k, ())):
                if left <= _EPS:
                    break
                held = lots[j]
                take = min(held.quantity, left)
                adjusted, rest = wash_adjusted_lot(held, take, per_share * take, match.carried_days)
                lots[j] = adjusted
                where[k].remove(j)  # adjusted: its holding period and basis moved
                if rest is not None:
                    lots.append(rest)
                    where[k].append(len(lots) - 1)
                left -= take
        if left > _EPS:
            notes.append(
                f"wash sale: {left:,.4g} replacement shares of {match.purchase.symbol} bought "
                f"in {match.purchase.account} on {match.purchase.date} are no longer held; "
                f"add {per_share * left:,.2f} of disallowed loss to the basis of the sale "
                "that disposed of them"
            )
    return Holdings(tuple(lots), holdings.cash)


@settings(max_examples=300, deadline=None)
@given(
    lots_st,
    txs_st,
    GROUPS,
    lots_st,  # other lots held (some share a purchase key with the calendar's entries)
    st.lists(
        st.tuples(st.integers(0, 30), st.floats(0.1, 60.0), st.floats(0.0, 500.0), st.booleans()),
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_adjust_equals_old(raw_lots, raw_txs, identical, raw_other, raw_matches, rnd):
    hh, holdings, txs = _calendar(raw_lots, raw_txs, identical)
    calendar = WashCalendar.build(hh, holdings, txs, AS_OF)
    _, others, _ = _calendar(raw_other, [], identical)
    held = list(holdings.lots) + list(others.lots)
    rnd.shuffle(held)
    held = held[: rnd.randint(0, len(held))]  # some replacement lots no longer held
    after = Holdings(tuple(held), holdings.cash)
    if rnd.random() < 0.7:
        after.groups()  # built before: the washed symbols' groups are rebuilt, the rest kept
    adjustments: list[tuple[WashMatch, _Entry]] = []
    for pick, quantity, disallowed, lost in raw_matches:
        if not calendar.entries:
            break
        entry = calendar.entries[pick % len(calendar.entries)]
        sale = LossSale(AS_OF, "brokerage", entry.purchase.symbol, quantity, disallowed, AS_OF)
        match = WashMatch(sale, entry.purchase, quantity, disallowed, pick, lost)
        adjustments.append((match, entry))
    new_notes: list[str] = []
    old_notes: list[str] = []
    new = calendar._adjust(after, adjustments, new_notes)
    old = old_adjust(calendar, after, adjustments, old_notes)
    assert repr(new) == repr(old)
    assert new == old
    assert new_notes == old_notes
    fresh = Holdings(new.lots, new.cash)
    assert list(new.groups().items()) == list(fresh.groups().items())
    assert new.quantities() == fresh.quantities()


def old_match_wash_sales(
    sales: Sequence[LossSale],
    purchases: Sequence[Purchase],
    identical: Iterable[frozenset[str]] = (),
    window_days: int = 30,
    used: dict[object, float] | None = None,
) -> list[WashMatch]:
    """``match_wash_sales`` before it indexed purchases per symbol (each sale scanned all)."""
    groups = tuple(identical)
    used = {} if used is None else used
    order = sorted(range(len(purchases)), key=lambda i: purchases[i].date)
    out: list[WashMatch] = []
    for sale in sorted(sales, key=lambda s: s.date):
        group = identical_group(sale.symbol, groups)
        out.extend(m for _, m in _match_one(sale, purchases, order, group, window_days, used))
    return out


days = st.integers(-70, 70).map(lambda d: AS_OF + timedelta(days=d))
keys = st.sampled_from([None, "k1", "k2", "k3"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            days,
            st.sampled_from(SYMBOLS),
            st.sampled_from([1.0, 5.0, 20.0]),
            st.floats(0.0, 300.0),
            st.frozensets(keys.filter(lambda k: k is not None), max_size=2),
        ),
        max_size=8,
    ),
    st.lists(
        st.tuples(
            days,
            st.sampled_from(ACCOUNTS),
            st.sampled_from(SYMBOLS),
            st.sampled_from([0.5, 3.0, 10.0, 30.0]),
            keys,
        ),
        max_size=12,
    ),
    GROUPS,
    st.dictionaries(st.integers(0, 11), st.floats(0.0, 10.0), max_size=3),
)
def test_match_wash_sales_equals_old(raw_sales, raw_buys, identical, used):
    sales = [
        LossSale(day, "brokerage", sym, q, loss, day - timedelta(days=40), excluded)
        for day, sym, q, loss, excluded in raw_sales
    ]
    purchases = [
        Purchase(day, acc.id, sym, q, acc.taxable, key) for day, acc, sym, q, key in raw_buys
    ]
    new_used: dict[object, float] = dict(used)
    old_used: dict[object, float] = dict(used)
    new = match_wash_sales(sales, purchases, identical, used=new_used)
    old = old_match_wash_sales(sales, purchases, identical, used=old_used)
    assert repr(new) == repr(old)
    assert new_used == old_used


def old_build(
    household: Household,
    holdings: Holdings,
    transactions: Iterable[Transaction],
    as_of: dt.date,
    window_days: int = 30,
) -> WashCalendar:
    """``WashCalendar.build`` before it grouped the held lots first (it rebuilt each
    purchase once per lot)."""
    start = as_of - timedelta(days=2 * window_days)
    taxable = {a.id: a.taxable for a in household.accounts}
    txs = sorted((t for t in transactions if start <= t.date <= as_of), key=lambda t: t.date)
    entries: list[_Entry] = []
    by_key: dict[tuple[str, str, dt.date], _Entry] = {}
    for lot in holdings.lots:
        if not start <= lot.acquired <= as_of:
            continue
        k = (lot.account, lot.symbol, lot.acquired)
        entry = by_key.get(k)
        if entry is None:
            entry = _Entry(
                Purchase(
                    lot.acquired,
                    lot.account,
                    lot.symbol,
                    0.0,
                    taxable.get(lot.account, True),
                    ("lot", *k),
                )
            )
            by_key[k] = entry
            entries.append(entry)
        entry.lots.append(lot)
        entry.purchase = replace(entry.purchase, quantity=entry.purchase.quantity + lot.quantity)
    # Transaction buys not accounted for by a held lot: shares bought and since sold.
    bought: dict[tuple[str, str, dt.date], float] = {}
    for t in txs:
        if t.side is Side.BUY:
            k = (t.account, t.symbol, t.date)
            bought[k] = bought.get(k, 0.0) + t.quantity
    for k, quantity in bought.items():
        held = by_key[k].purchase.quantity if k in by_key else 0.0
        if quantity - held > _EPS:
            entries.append(
                _Entry(
                    Purchase(k[2], k[0], k[1], quantity - held, taxable.get(k[0], True), ("tx", *k))
                )
            )
    purchases = [e.purchase for e in entries]
    sold_since: dict[tuple[str, str], list[Purchase]] = {}  # bought, no longer held
    for p in purchases:
        if isinstance(p.key, tuple) and p.key[0] == "tx":
            sold_since.setdefault((p.account, p.symbol), []).append(p)
    loss_sales: list[LossSale] = []
    for i, t in enumerate(txs):
        if t.side is not Side.SELL or t.loss <= _EPS or not taxable.get(t.account, True):
            continue
        excluded = frozenset(
            p.key for p in sold_since.get((t.account, t.symbol), ()) if p.date <= t.date
        )
        # The sold shares' holding period is unknown from a transaction; it only matters
        # for the replacement's carried-over period, which past matches do not adjust.
        loss_sales.append(
            LossSale(t.date, t.account, t.symbol, t.quantity, t.loss, t.date, excluded, i)
        )
    used: dict[object, float] = {}
    match_wash_sales(loss_sales, purchases, household.identical_groups, window_days, used)
    return WashCalendar(household, as_of, purchases, entries, used, loss_sales, window_days)


@settings(max_examples=300, deadline=None)
@given(lots_st, txs_st, GROUPS, st.booleans())
def test_build_equals_old(raw_lots, raw_txs, identical, split):
    hh, holdings, txs = _calendar(raw_lots, raw_txs, identical)
    if split:  # lots of one purchase split in two (as a partial sale leaves them)
        holdings = Holdings(
            tuple(part for lot in holdings.lots for part in lot.take(lot.quantity / 3) if part),
            holdings.cash,
        )
    new = WashCalendar.build(hh, holdings, txs, AS_OF)
    old = old_build(hh, holdings, txs, AS_OF)
    assert repr(new) == repr(old)
    assert new == old
