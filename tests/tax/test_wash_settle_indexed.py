"""The indexed wash-sale settle against the algorithm it replaced, on random days.

``old_settle`` is ``WashCalendar.settle`` as it was before the entries were indexed by lot key
(it scanned every entry's lots for each loss sale and matched through ``match_wash_sales``);
both must give the same trades, holdings and notes, exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from poise.model import (
    Account,
    AccountKind,
    Holdings,
    Household,
    Lot,
    LotSale,
    Side,
    Trade,
)
from poise.policy import ThresholdPolicy
from poise.tax import LossSale, Purchase, Transaction, WashCalendar, WashMatch, match_wash_sales
from poise.tax._wash import _EPS, _Entry, _lot_key

AS_OF = date(2024, 6, 3)
ACCOUNTS = (
    Account("brokerage", AccountKind.TAXABLE),
    Account("joint", AccountKind.TAXABLE),
    Account("ira", AccountKind.TAX_DEFERRED),
)
SYMBOLS = ("A", "B", "C")


def old_settle(
    self: WashCalendar, trades: Sequence[Trade], holdings_after: Holdings
) -> tuple[list[Trade], Holdings, list[str]]:
    """The settle before entries were indexed by lot key (verbatim but for names)."""
    hh = self.household
    taxable = {a.id: a.taxable for a in hh.accounts}
    if not any(
        sale.gain < -_EPS
        for trade in trades
        if trade.side is Side.SELL and taxable.get(trade.account, True)
        for sale in trade.lot_sales
    ):
        return list(trades), holdings_after, []
    entries = list(self.entries)
    for n, trade in enumerate(trades):
        if trade.side is Side.BUY:
            lot = Lot(
                trade.account,
                trade.symbol,
                trade.quantity,
                trade.value + trade.cost,
                self.as_of,
            )
            purchase = Purchase(
                self.as_of,
                trade.account,
                trade.symbol,
                trade.quantity,
                taxable.get(trade.account, True),
                ("today", n),
            )
            entries.append(_Entry(purchase, [lot]))
    purchases = [e.purchase for e in entries]
    sold: dict[tuple[str, str, dt.date], float] = {}
    for trade in trades:
        for sale in trade.lot_sales:
            k = _lot_key(sale.lot)
            sold[k] = sold.get(k, 0.0) + sale.quantity
    used = dict(self.used)
    for i, entry in enumerate(entries):
        for lot in entry.lots:  # shares sold today replace nothing
            k = _lot_key(lot)
            take = min(sold.get(k, 0.0), lot.quantity)
            if take > 0:
                sold[k] -= take
                used[i] = used.get(i, 0.0) + take

    out: list[Trade] = []
    notes: list[str] = []
    adjustments: list[tuple[WashMatch, _Entry]] = []
    for n, trade in enumerate(trades):
        if trade.side is not Side.SELL or not taxable.get(trade.account, True):
            out.append(trade)
            continue
        sales: list[LotSale] = []
        why: list[str] = []
        for m, sale in enumerate(trade.lot_sales):
            if sale.gain >= -_EPS:
                sales.append(sale)
                continue
            loss_sale = LossSale(
                self.as_of,
                trade.account,
                trade.symbol,
                sale.quantity,
                -sale.gain,
                sale.lot.acquired,
                key=(n, m),
            )
            # Rev. Rul. 56-602: shares kept from the very purchase a loss lot came from
            # are not its replacement; only other purchases can wash it.
            own = _lot_key(sale.lot)
            kept = {
                i: used.get(i)
                for i, e in enumerate(entries)
                if any(_lot_key(x) == own for x in e.lots)
            }
            for i in kept:
                used[i] = purchases[i].quantity
            matches = match_wash_sales(
                [loss_sale], purchases, hh.identical_groups, self.window_days, used
            )
            for i, before in kept.items():
                if before is None:
                    del used[i]
                else:
                    used[i] = before
            sales.append(replace(sale, washed=sum(mt.disallowed for mt in matches)))
            for mt in matches:
                adjustments.append((mt, entries[purchases.index(mt.purchase)]))
                p = mt.purchase
                where = f"{mt.quantity:,.6g} {p.symbol} bought in {p.account} on {p.date}"
                fate = (
                    "a tax-advantaged account: the loss is lost for good"
                    if mt.lost
                    else "added to that lot's basis"
                )
                why.append(
                    f"wash sale: loss of {mt.disallowed:,.2f} disallowed by {where} ({fate})"
                )
        if not why:
            out.append(trade)
            continue
        short_term = sum(s.gain + s.washed for s in sales if not s.long_term)
        long_term = sum(s.gain + s.washed for s in sales if s.long_term)
        out.append(
            replace(
                trade,
                lot_sales=tuple(sales),
                realized_short_term=float(short_term),
                realized_long_term=float(long_term),
                reason="; ".join([trade.reason, *why]),
            )
        )
    return out, self._adjust(holdings_after, adjustments, notes), notes


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
    max_size=10,
)


@settings(max_examples=300, deadline=None)
@given(
    lots_st,
    txs_st,
    st.lists(
        st.tuples(st.integers(0, 40), st.floats(0.1, 1.0), st.floats(30.0, 160.0), st.booleans()),
        max_size=10,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(ACCOUNTS).map(lambda a: a.id),
            st.sampled_from(SYMBOLS),
            st.floats(0.5, 30.0),
        ),
        max_size=5,
    ),
    # None, one group, and groups that overlap (A ~ B and B ~ C, but not A ~ C).
    st.sampled_from([(), (frozenset({"A", "B"}),), (frozenset({"A", "B"}), frozenset({"B", "C"}))]),
)
def test_indexed_settle_equals_old_algorithm(raw_lots, raw_txs, raw_sells, raw_buys, identical):
    hh = Household(
        name="wash",
        accounts=ACCOUNTS,
        targets={s: 1 / 3 for s in SYMBOLS},
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
    holdings = Holdings(tuple(lots), {a.id: 0.0 for a in ACCOUNTS})
    calendar = WashCalendar.build(hh, holdings, txs, AS_OF)
    # Sells: parts of held lots (several sells of one lot may follow), at a gain or a loss,
    # gathered into trades by account and symbol (``split`` starts a second trade of the pair).
    grouped_sales: dict[tuple[str, str, bool], list[LotSale]] = {}
    left = [lot.quantity for lot in lots]
    for index, share, price, split in raw_sells:
        if not lots:
            break
        j = index % len(lots)
        lot = lots[j]
        q = min(left[j], lot.quantity * share)
        if q <= 1e-6:
            continue
        left[j] -= q
        basis = lot.basis_per_share * q
        long_term = lot.acquired <= AS_OF - timedelta(days=366)
        sale = LotSale(lot, q, q * price, basis, q * price - basis, long_term)
        grouped_sales.setdefault((lot.account, lot.symbol, split), []).append(sale)
    trades: list[Trade] = []
    for (account, symbol, _), sales in grouped_sales.items():
        q = sum(x.quantity for x in sales)
        trades.append(
            Trade(
                account,
                symbol,
                Side.SELL,
                q,
                sum(x.proceeds for x in sales) / q,
                0.0,
                "sell",
                realized_short_term=sum(x.gain for x in sales if not x.long_term),
                realized_long_term=sum(x.gain for x in sales if x.long_term),
                lot_sales=tuple(sales),
            )
        )
    for acc, sym, q in raw_buys:
        trades.append(Trade(acc, sym, Side.BUY, q, 100.0, 0.5, "buy"))
    after_lots = [
        replace(lot, quantity=q, cost_basis=lot.basis_per_share * q)
        for lot, q in zip(lots, left, strict=True)
        if q > 1e-6
    ]
    after_lots += [
        Lot(t.account, t.symbol, t.quantity, t.value + t.cost, AS_OF)
        for t in trades
        if t.side is Side.BUY
    ]
    after = Holdings(tuple(after_lots), holdings.cash)

    new = calendar.settle(trades, after)
    old = old_settle(calendar, trades, after)
    assert new == old
    assert repr(new) == repr(old)  # bit-exact floats, and an int 0 stays an int 0
    washed = sum(s.washed > 0 for t in new[0] for s in t.lot_sales)
    event(f"washed lot sales: {min(washed, 3)}{'+' if washed >= 3 else ''}")
    event(f"notes: {bool(new[2])}")
