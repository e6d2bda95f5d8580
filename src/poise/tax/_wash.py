"""The wash-sale rule (IRC §1091) across every account of a household.

A loss sale is *washed* by a purchase of the same or a substantially identical security within
30 days before or after it, in any account. The disallowed loss moves into the replacement
lot's basis and the sold shares' holding period carries over to it; a replacement bought in a
tax-deferred or tax-free account makes the loss lost for good. When fewer shares are bought
than sold, only the matching quantity is washed; purchases are matched in the order they were
made, earliest first, and earlier sales are matched first (Publication 550, "Wash Sales").

Two layers:

- ``match_wash_sales`` is the rule itself over explicit sales and purchases (no planning
  assumptions); the IRS worked examples are tested against it.
- ``WashCalendar`` applies it to a plan: it reads the recent transactions and the held lots,
  blocks buys that would wash a recent loss, and settles a plan's loss sales against the
  replacement shares bought in the last 30 days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from poise.model import Holdings, Household, Lot, Side, Trade
from poise.tax._jurisdiction import US

__all__ = [
    "LossSale",
    "Purchase",
    "Transaction",
    "WashCalendar",
    "WashMatch",
    "identical_group",
    "match_wash_sales",
    "wash_adjusted_lot",
]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Transaction:
    """One past trade, as in a transactions CSV.

    ``cost_basis`` is the total basis of the shares a sell disposed of (None for buys).
    """

    date: dt.date
    account: str
    symbol: str
    side: Side
    quantity: float
    price: float
    cost_basis: float | None = None

    @property
    def value(self) -> float:
        return self.quantity * self.price

    @property
    def loss(self) -> float:
        """The loss a sell realized (a positive number; 0 for a gain or a buy)."""
        if self.side is not Side.SELL or self.cost_basis is None:
            return 0.0
        return max(self.cost_basis - self.value, 0.0)

    @classmethod
    def from_trade(cls, trade: Trade, day: dt.date) -> Transaction:
        """The transaction a filled ``trade`` leaves behind (for the next day's calendar)."""
        basis = sum(s.basis for s in trade.lot_sales) if trade.side is Side.SELL else None
        return cls(day, trade.account, trade.symbol, trade.side, trade.quantity, trade.price, basis)


@dataclass(frozen=True, slots=True)
class Purchase:
    """Shares acquired: candidates to replace a loss sale.

    ``taxable`` is False for a purchase in a tax-deferred or tax-free account (a loss washed by
    it is lost). ``key`` identifies the purchase (e.g. the lot it opened).
    """

    date: dt.date
    account: str
    symbol: str
    quantity: float
    taxable: bool = True
    key: object = None


@dataclass(frozen=True, slots=True)
class LossSale:
    """A sale at a loss.

    ``loss`` is the total loss (positive) on ``quantity`` shares; ``acquired`` is the sold
    shares' holding-period start; ``excluded`` holds the keys of purchases that are the shares
    sold themselves (never their own replacement).
    """

    date: dt.date
    account: str
    symbol: str
    quantity: float
    loss: float
    acquired: dt.date
    excluded: frozenset[object] = frozenset()
    key: object = None


@dataclass(frozen=True, slots=True)
class WashMatch:
    """``quantity`` shares of a loss sale washed by a replacement purchase.

    ``disallowed`` is the loss moved to the replacement (positive); ``carried_days`` is the sold
    shares' holding period, added to the replacement's; ``lost`` is True when the replacement
    sits in a tax-deferred or tax-free account (the loss is never recovered).
    """

    sale: LossSale
    purchase: Purchase
    quantity: float
    disallowed: float
    carried_days: int
    lost: bool


def identical_group(symbol: str, groups: Iterable[frozenset[str]]) -> frozenset[str]:
    """``symbol`` and every symbol declared substantially identical to it."""
    out = {symbol}
    for group in groups:
        if symbol in group:
            out |= group
    return frozenset(out)


def match_wash_sales(
    sales: Sequence[LossSale],
    purchases: Sequence[Purchase],
    identical: Iterable[frozenset[str]] = (),
    window_days: int = US.wash_window_days,
    used: dict[object, float] | None = None,
) -> list[WashMatch]:
    """Match loss sales to replacement purchases by the wash-sale rule.

    Sales are taken in date order (earliest first); each is matched to purchases of the same or a
    substantially identical symbol made within ``window_days`` before or after it, in the order
    they were made, until the sale's shares or the purchases run out. A purchase's shares replace
    at most one sale's shares. Partial washes wash only the matching quantity.

    Parameters
    ----------
    sales, purchases
        The events, in any order.
    identical
        Groups of symbols declared substantially identical.
    window_days
        30 under US rules.
    used
        Shares of each purchase (by position in ``purchases``) already used as replacements;
        updated in place, so that successive calls continue one matching.

    Returns
    -------
    list of WashMatch
    """
    groups = tuple(identical)
    used = {} if used is None else used
    order = sorted(range(len(purchases)), key=lambda i: purchases[i].date)
    by_symbol: dict[str, list[int]] = {}  # symbol -> its purchases' positions, by date
    for i in order:
        by_symbol.setdefault(purchases[i].symbol, []).append(i)
    rank = {i: r for r, i in enumerate(order)}
    candidates: dict[frozenset[str], list[int]] = {}  # group -> its purchases, by date
    out: list[WashMatch] = []
    for sale in sorted(sales, key=lambda s: s.date):
        group = identical_group(sale.symbol, groups)
        if group not in candidates:
            candidates[group] = (
                by_symbol.get(sale.symbol, [])
                if len(group) == 1
                else sorted((i for s in group for i in by_symbol.get(s, ())), key=rank.__getitem__)
            )
        found = _match_one(sale, purchases, candidates[group], group, window_days, used)
        out.extend(m for _, m in found)
    return out


def _match_one(
    sale: LossSale,
    purchases: Sequence[Purchase],
    order: Iterable[int],
    group: frozenset[str],
    window_days: int,
    used: dict[object, float],
) -> list[tuple[int, WashMatch]]:
    """One sale of ``match_wash_sales``: its matches, each with the purchase's position.

    ``order`` is the positions of ``purchases`` by date (stable); positions of symbols outside
    ``group`` may be left out of it (they never match).
    """
    out: list[tuple[int, WashMatch]] = []
    if sale.loss <= _EPS or sale.quantity <= _EPS:
        return out
    low = sale.date - timedelta(days=window_days)
    high = sale.date + timedelta(days=window_days)
    left = sale.quantity
    for i in order:
        if left <= _EPS:
            break
        buy = purchases[i]
        if buy.symbol not in group or not low <= buy.date <= high:
            continue
        if buy.key is not None and buy.key in sale.excluded:
            continue
        free = buy.quantity - used.get(i, 0.0)
        if free <= _EPS:
            continue
        take = min(free, left)
        used[i] = used.get(i, 0.0) + take
        left -= take
        out.append(
            (
                i,
                WashMatch(
                    sale,
                    buy,
                    take,
                    sale.loss * take / sale.quantity,
                    (sale.date - sale.acquired).days,
                    not buy.taxable,
                ),
            )
        )
    return out


def wash_adjusted_lot(
    lot: Lot, quantity: float, disallowed: float, carried_days: int
) -> tuple[Lot, Lot | None]:
    """Split ``quantity`` shares off a replacement ``lot`` and move a washed loss into them.

    The part gets ``disallowed`` added to its basis and its holding period starts
    ``carried_days`` earlier (the sold shares' holding period carries over). Returns
    (adjusted part, untouched remainder or None).
    """
    part, rest = lot.take(quantity)
    adjusted = replace(
        part,
        cost_basis=part.cost_basis + disallowed,
        acquired=part.acquired - timedelta(days=carried_days),
    )
    return adjusted, rest


def _lot_key(lot: Lot) -> tuple[str, str, dt.date]:
    """Lots of one symbol bought in one account on one day are one purchase here."""
    return (lot.account, lot.symbol, lot.acquired)


@dataclass
class _Entry:
    purchase: Purchase
    lots: list[Lot] = field(default_factory=list)  # held lots opened by this purchase


@dataclass
class WashCalendar:
    """The household's wash-sale state on one day, for planning.

    Built from the recent transactions and the held lots (see ``build``). It answers two
    questions: may ``symbol`` be bought today (``buy_block``), and which of today's loss sales
    are washed by shares bought in the last 30 days (``settle``).

    Assumptions (documented in docs/tax.md):

    - Purchases are the held lots acquired in the last 60 days plus transaction buys in that
      span that no held lot accounts for (shares since sold). A past sell is assumed to dispose
      of shares bought earlier in the same account that are no longer held, never of a lot
      still held.
    - A buy is blocked for 30 days after any loss sale of a substantially identical symbol in a
      taxable account, even if an earlier purchase already washed that loss.
    """

    household: Household
    as_of: dt.date
    purchases: list[Purchase]
    entries: list[_Entry]
    used: dict[object, float]
    loss_sales: list[LossSale]
    window_days: int = US.wash_window_days
    today_losses: list[tuple[str, str]] = field(default_factory=list)
    # symbol -> position in ``loss_sales`` of its latest loss sale (``buy_block``), lazily
    _latest: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)
    _latest_size: int = field(default=-1, init=False, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        household: Household,
        holdings: Holdings,
        transactions: Iterable[Transaction],
        as_of: dt.date,
        window_days: int = US.wash_window_days,
    ) -> WashCalendar:
        """The calendar on ``as_of`` from ``holdings`` (before today's trades) and the past
        ``transactions`` (on or before ``as_of``; later ones are ignored)."""
        start = as_of - timedelta(days=2 * window_days)
        taxable = {a.id: a.taxable for a in household.accounts}
        txs = sorted((t for t in transactions if start <= t.date <= as_of), key=lambda t: t.date)
        entries: list[_Entry] = []
        by_key: dict[tuple[str, str, dt.date], _Entry] = {}
        held_lots: dict[tuple[str, str, dt.date], list[Lot]] = {}  # in first-seen key order
        for lot in holdings.lots:
            if start <= lot.acquired <= as_of:
                k = (lot.account, lot.symbol, lot.acquired)
                if k in held_lots:
                    held_lots[k].append(lot)
                else:
                    held_lots[k] = [lot]
        for k, group_lots in held_lots.items():
            quantity = 0.0
            for lot in group_lots:  # summed in lot order, as the purchase grew lot by lot
                quantity = quantity + lot.quantity
            entry = _Entry(
                Purchase(k[2], k[0], k[1], quantity, taxable.get(k[0], True), ("lot", *k)),
                group_lots,
            )
            by_key[k] = entry
            entries.append(entry)
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
                        Purchase(
                            k[2], k[0], k[1], quantity - held, taxable.get(k[0], True), ("tx", *k)
                        )
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
        return cls(household, as_of, purchases, entries, used, loss_sales, window_days)

    def group(self, symbol: str) -> frozenset[str]:
        """``symbol`` and the symbols declared substantially identical to it."""
        return identical_group(symbol, self.household.identical_groups)

    def note_loss_sale(self, account: str, symbol: str) -> None:
        """Record that today's plan sells ``symbol`` at a loss in a taxable ``account``."""
        self.today_losses.append((account, symbol))

    def buy_block(self, symbol: str) -> str | None:
        """Why buying ``symbol`` today would wash a recent loss, or None if it would not."""
        group = self.group(symbol)
        for account, sym in self.today_losses:
            if sym in group:
                return f"{sym} is sold at a loss in {account} today (wash sale)"
        since = self.as_of - timedelta(days=self.window_days)
        sale = self._latest_loss_sale(group)
        if sale is None or sale.date < since:
            return None
        until = sale.date + timedelta(days=self.window_days + 1)
        return (
            f"{sale.symbol} was sold at a loss of {sale.loss:,.2f} in {sale.account} on "
            f"{sale.date} (wash sale until {until})"
        )

    def _latest_loss_sale(self, group: frozenset[str]) -> LossSale | None:
        """The latest of ``loss_sales`` of a symbol in ``group`` (the earliest listed among
        those of one date), from a per-symbol index built once per calendar."""
        latest = self._latest
        if latest is None or self._latest_size != len(self.loss_sales):
            latest = {}
            for n, sale in enumerate(self.loss_sales):
                best = latest.get(sale.symbol)
                if best is None or sale.date > self.loss_sales[best].date:
                    latest[sale.symbol] = n
            self._latest, self._latest_size = latest, len(self.loss_sales)
        found: int | None = None
        for symbol in group:
            at = latest.get(symbol)
            if at is None:
                continue
            if found is None:
                found = at
                continue
            day, top = self.loss_sales[at].date, self.loss_sales[found].date
            if day > top or (day == top and at < found):
                found = at
        return None if found is None else self.loss_sales[found]

    def window_end(self, symbol: str) -> dt.date | None:
        """The first day ``symbol`` may be bought again without a wash, if it is blocked now."""
        group = self.group(symbol)
        if any(sym in group for _, sym in self.today_losses):
            return self.as_of + timedelta(days=self.window_days + 1)
        since = self.as_of - timedelta(days=self.window_days)
        dates = [s.date for s in self.loss_sales if s.symbol in group and s.date >= since]
        return max(dates) + timedelta(days=self.window_days + 1) if dates else None

    def replacements(self, symbol: str, excluded: Iterable[Lot] = ()) -> float:
        """Shares of ``symbol``'s group bought in the last 30 days that could still wash a loss
        sale today (not counting the lots in ``excluded``)."""
        group = self.group(symbol)
        since = self.as_of - timedelta(days=self.window_days)
        skip: dict[tuple[str, str, dt.date], float] = {}
        for lot in excluded:
            skip[_lot_key(lot)] = skip.get(_lot_key(lot), 0.0) + lot.quantity
        total = 0.0
        for i, entry in enumerate(self.entries):
            p = entry.purchase
            if p.symbol not in group or not since <= p.date <= self.as_of:
                continue
            free = p.quantity - self.used.get(i, 0.0)
            free -= sum(skip.get(_lot_key(lot), 0.0) for lot in entry.lots)
            total += max(free, 0.0)
        return total

    def settle(
        self, trades: Sequence[Trade], holdings_after: Holdings
    ) -> tuple[list[Trade], Holdings, list[str]]:
        """Wash today's loss sales in ``trades`` against recent replacement purchases.

        Every lot sold today at a loss in a taxable account is matched, in trade order, to
        purchases of its group made in the last 30 days (today's buys included) whose shares are
        not themselves sold today. Returns the trades with ``LotSale.washed`` and the realized
        gains updated (a washed loss is not realized), the holdings with the disallowed losses
        moved into the replacement lots, and notes for the plan's warnings.
        """
        hh = self.household
        taxable = {a.id: a.taxable for a in hh.accounts}
        if not any(
            sale.gain < -_EPS
            for trade in trades
            if trade.side is Side.SELL and taxable.get(trade.account, True)
            for sale in trade.lot_sales
        ):
            return list(trades), holdings_after, []
        # No purchase of a losing symbol's group inside today's window: nothing is washed.
        low = self.as_of - timedelta(days=self.window_days)
        high = self.as_of + timedelta(days=self.window_days)
        sold_at_loss = {
            trade.symbol
            for trade in trades
            if trade.side is Side.SELL
            and taxable.get(trade.account, True)
            and any(sale.gain < -_EPS for sale in trade.lot_sales)
        }
        losing: set[str] = set()
        for symbol in sold_at_loss:
            losing |= identical_group(symbol, hh.identical_groups)
        if not any(
            trade.side is Side.BUY and trade.symbol in losing for trade in trades
        ) and not any(
            e.purchase.symbol in losing and low <= e.purchase.date <= high for e in self.entries
        ):
            # The same lots: keep their groups built (the next plan does not rebuild them).
            return list(trades), holdings_after.with_cash(holdings_after.cash), []
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
        # Entries holding a lot of each purchase key (ascending positions), built once.
        holding: dict[tuple[str, str, dt.date], list[int]] = {}
        for i, entry in enumerate(entries):
            for lot in entry.lots:  # shares sold today replace nothing
                k = _lot_key(lot)
                at = holding.setdefault(k, [])
                if not at or at[-1] != i:
                    at.append(i)
                take = min(sold.get(k, 0.0), lot.quantity)
                if take > 0:
                    sold[k] -= take
                    used[i] = used.get(i, 0.0) + take
        # Today's loss sales are all dated ``as_of``: only purchases of the sold symbol's group
        # inside the window around it can match, in date order (computed once per symbol).
        order = sorted(range(len(purchases)), key=lambda i: purchases[i].date)
        rank = {i: r for r, i in enumerate(order)}
        in_window: dict[str, list[int]] = {}  # symbol -> its purchases in the window, by date
        for i in order:
            if low <= purchases[i].date <= high:
                in_window.setdefault(purchases[i].symbol, []).append(i)
        groups: dict[str, tuple[frozenset[str], list[int]]] = {}  # symbol -> group, candidates

        out: list[Trade] = []
        notes: list[str] = []
        adjustments: list[tuple[WashMatch, _Entry]] = []
        for n, trade in enumerate(trades):
            if trade.side is not Side.SELL or not taxable.get(trade.account, True):
                out.append(trade)
                continue
            if trade.symbol not in groups:
                group = identical_group(trade.symbol, hh.identical_groups)
                groups[trade.symbol] = (
                    group,
                    in_window.get(trade.symbol, [])
                    if len(group) == 1
                    else sorted(
                        (i for s in group for i in in_window.get(s, ())), key=rank.__getitem__
                    ),
                )
            group, candidates = groups[trade.symbol]
            if not candidates:  # no purchase can replace this trade's shares: nothing washed
                out.append(trade)
                continue
            washed: dict[int, float] = {}  # lot sale position -> loss washed (losses only)
            why: list[str] = []
            for m, sale in enumerate(trade.lot_sales):
                if sale.gain >= -_EPS:
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
                kept = {i: used.get(i) for i in holding.get(_lot_key(sale.lot), ())}
                for i in kept:
                    used[i] = purchases[i].quantity
                found = _match_one(loss_sale, purchases, candidates, group, self.window_days, used)
                for i, before in kept.items():
                    if before is None:
                        del used[i]
                    else:
                        used[i] = before
                washed[m] = sum(mt.disallowed for _, mt in found)
                for i, mt in found:
                    adjustments.append((mt, entries[i]))
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
            sales = [
                replace(sale, washed=washed[m]) if m in washed else sale
                for m, sale in enumerate(trade.lot_sales)
            ]
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

    def _adjust(
        self,
        holdings: Holdings,
        adjustments: Sequence[tuple[WashMatch, _Entry]],
        notes: list[str],
    ) -> Holdings:
        if all(match.lost for match, _ in adjustments):  # no replacement lot held here moves
            return holdings.with_cash(holdings.cash)  # the same lots, their groups kept
        lots = list(holdings.lots)
        # Positions of the held lots of the replacement purchases' keys only (ascending).
        keys = {
            _lot_key(lot) for match, entry in adjustments if not match.lost for lot in entry.lots
        }
        symbols = {k[1] for k in keys}
        where: dict[tuple[str, str, dt.date], list[int]] = {}
        pairs: dict[tuple[str, str], list[int]] = {}  # (account, symbol) -> positions
        for j, held in enumerate(lots):
            if held.symbol in symbols:
                pairs.setdefault((held.account, held.symbol), []).append(j)
                k = _lot_key(held)
                if k in keys:
                    where.setdefault(k, []).append(j)
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
                    adjusted, rest = wash_adjusted_lot(
                        held, take, per_share * take, match.carried_days
                    )
                    lots[j] = adjusted
                    where[k].remove(j)  # adjusted: its holding period and basis moved
                    if rest is not None:
                        lots.append(rest)
                        where[k].append(len(lots) - 1)
                        pairs[(rest.account, rest.symbol)].append(len(lots) - 1)
                    left -= take
            if left > _EPS:
                notes.append(
                    f"wash sale: {left:,.4g} replacement shares of {match.purchase.symbol} bought "
                    f"in {match.purchase.account} on {match.purchase.date} are no longer held; "
                    f"add {per_share * left:,.2f} of disallowed loss to the basis of the sale "
                    "that disposed of them"
                )
        out = Holdings(tuple(lots), holdings.cash)
        built = holdings._groups
        if built is not None:  # only the symbols washed regroup: the others' groups are kept
            groups = dict(built)
            for pair, at in pairs.items():
                groups[pair] = tuple(lots[j] for j in at)
            object.__setattr__(out, "_groups", groups)
        return out
