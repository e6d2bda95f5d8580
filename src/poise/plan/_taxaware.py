"""The tax-aware parts of the plan, called by the engine (``_engine.py``) and the optimiser.

What it adds to a plan, each only when the household asks for it:

- **Lot and account choice** (``[tax] lot_method = "tax_min"``): an overweight asset is sold
  first from taxable lots at a loss (unless a recent purchase would wash the loss), then from
  tax-deferred and tax-free accounts, then from taxable lots with long-term gains (smallest
  gain first), and last from short-term gains.
- **Deferral** (``[tax] defer_days``): a short-term gain lot that turns long-term within that
  many days is not sold to rebalance; the drift left is reported.
- **Wash sales** (``transactions=`` given, even empty): never buy a symbol (or one declared
  substantially identical) within 30 days after a loss sale of it in a taxable account: buy a
  declared substitute instead (``[harvest.substitutes]``), or leave the cash and say so; wash
  today's loss sales against purchases of the last 30 days, moving the disallowed loss into the
  replacement lots (see ``poise.tax.WashCalendar``).
- **Substitutes held** (``[harvest.substitutes]``): a substitute held in place of a target
  symbol (after a harvest) counts toward that symbol's target instead of being sold as an
  asset with no target.
- **Asset location** (``[location]``): buys go to accounts by the rule in
  ``poise.tax._location``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from poise.model import (
    CASH,
    Account,
    AccountKind,
    Holdings,
    Household,
    Lot,
    LotMethod,
    LotSale,
    Reason,
    Side,
    TaxEfficiency,
    Trade,
)
from poise.policy import PolicyContext
from poise.tax import (
    WashCalendar,
    is_long_term,
    long_term_date,
    order_lots,
    select_lots,
)
from poise.tax._location import LOCATION_ORDER, buy_priority
from poise.tax._lots import long_term_cutoff, turns_long_term_within
from poise.tax._wash import Transaction

__all__ = ["TaxAware", "fold_substitutes", "group_context", "sell_lots_trade"]

_EPS = 1e-9


def fold_substitutes(
    household: Household,
    targets: Mapping[str, float],
    holdings: Holdings,
    prices: Mapping[str, float],
) -> dict[str, float]:
    """Targets in which each held substitute of a target symbol takes over part of its target.

    A symbol held but not targeted, declared in ``[harvest.substitutes]`` as an alternate of a
    target symbol P, gets the target weight it holds now (capped at what is left of P's target),
    and P's target is reduced by as much. The household keeps its exposure without selling
    the substitute (and re-buying P inside a wash-sale window).
    """
    out = dict(targets)
    subs = household.harvest.substitutes
    if not subs:
        return out
    values = holdings.symbol_values(prices)
    total = sum(values.values())
    if total <= 0:
        return out
    for symbol, value in values.items():
        if symbol == CASH or symbol in out or value <= 0:
            continue
        for primary, alternates in subs.items():
            if symbol in alternates and out.get(primary, 0.0) > 0:
                share = min(value / total, out[primary])
                out[primary] -= share
                out[symbol] = share
                break
    return out


def group_context(
    context: PolicyContext, household: Household, targets: Mapping[str, float]
) -> PolicyContext:
    """The policy's view with each held substitute counted in its primary target symbol.

    A substitute held in place of a target symbol (after a harvest) is no drift of its own:
    its weight is added to the primary's, it shows weight 0 and target 0, and the bands stay
    those of the primary's full target (``targets`` are the unfolded ones).
    """
    subs = household.harvest.substitutes
    names = context.symbols
    target_w = np.array([targets.get(s, 0.0) for s in names])
    if not subs:
        return context
    index = {s: i for i, s in enumerate(names)}
    weights = np.array(context.weights, dtype=float)
    changed = False
    for j, sym in enumerate(names):
        if sym == CASH or target_w[j] > 0 or weights[j] == 0:
            continue
        for primary, alternates in subs.items():
            k = index.get(primary)
            if sym in alternates and k is not None and target_w[k] > 0:
                weights[k] += weights[j]
                weights[j] = 0.0
                changed = True
                break
    if not changed and np.array_equal(target_w, context.target_weights):
        return context
    return replace(context, weights=weights, target_weights=target_w)


@dataclass
class TaxAware:
    """Tax-aware choices for one plan (built by ``TaxAware.build``; None when not needed)."""

    household: Household
    as_of: date
    prices: Mapping[str, float]
    calendar: WashCalendar | None
    tax_min: bool
    defer_days: int
    location: Mapping[str, TaxEfficiency]
    notes: list[str] = field(default_factory=list)
    sold: set[str] = field(default_factory=set)
    chosen: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    taxable_ids: frozenset[str] = frozenset()
    _account_order: list[int] | None = None  # tax-advantaged accounts first (sell sources)

    @classmethod
    def build(
        cls,
        household: Household,
        holdings: Holdings,
        prices: Mapping[str, float],
        as_of: date,
        transactions: Sequence[Transaction] | None,
    ) -> TaxAware | None:
        """The tax-aware helper, or None when the household uses none of these features."""
        hh = household
        tax_min = hh.tax.lot_method in (LotMethod.TAX_MIN, LotMethod.TAX_ORDER)
        if transactions is None and not tax_min and hh.tax.defer_days <= 0 and not hh.location:
            return None
        calendar = (
            WashCalendar.build(hh, holdings, transactions, as_of)
            if transactions is not None
            else None
        )
        taxable = frozenset(a.id for a in hh.accounts if a.taxable)
        return cls(
            hh,
            as_of,
            prices,
            calendar,
            tax_min,
            hh.tax.defer_days,
            hh.location,
            taxable_ids=taxable,
        )

    # ---- sells ----------------------------------------------------------------------------

    def deferred(self, lot: Lot) -> bool:
        """A taxable short-term gain lot that turns long-term within ``defer_days``."""
        if self.defer_days <= 0 or lot.account not in self.taxable_ids:
            return False
        if self.prices[lot.symbol] <= lot.basis_per_share:
            return False
        return turns_long_term_within(lot, self.as_of, self.defer_days)

    def select(self, lots: Sequence[Lot], quantity: float, price: float) -> list[tuple[Lot, float]]:
        """Lots a sell of ``quantity`` disposes of: the lot method's order (tax_min: the
        cheapest choice in tax), deferred lots last."""
        if self.household.tax.lot_method is LotMethod.TAX_MIN:
            free = [lot for lot in lots if not self.deferred(lot)] if self.defer_days > 0 else lots
            pool = free if sum(lot.quantity for lot in free) >= quantity - 1e-12 else lots
            return select_lots(
                pool, quantity, LotMethod.TAX_MIN, price, self.as_of, self.household.tax
            )
        ordered = order_lots(lots, self.household.tax.lot_method, price, self.as_of)
        if self.defer_days > 0:
            ordered = [lot for lot in ordered if not self.deferred(lot)] + [
                lot for lot in ordered if self.deferred(lot)
            ]
        out: list[tuple[Lot, float]] = []
        remaining = quantity
        for lot in ordered:
            if remaining <= 1e-12:
                break
            q = lot.quantity
            take = remaining if remaining < q else q  # min(q, remaining), without the call
            out.append((lot, take))
            remaining -= take
        return out

    def sell_sources(
        self,
        open_lots: Mapping[tuple[str, str], Sequence[Lot]],
        held: Mapping[tuple[str, str], float],
        symbol: str,
        value: float,
        price: float,
    ) -> list[tuple[str, float]]:
        """Where to sell ``value`` of ``symbol`` from: (account, shares available) in order.

        With tax_min: taxable losses (not washable), tax-advantaged accounts, taxable long-term
        gains, taxable short-term gains; otherwise tax-advantaged accounts first, then taxable
        ones. Deferred lots are never offered; if they leave the sell short, a note says so.
        """
        if not self.tax_min:
            return self._sources_by_account(open_lots, held, symbol, value / price)
        hh = self.household
        washable = self.calendar is not None and self.calendar.replacements(symbol) > _EPS
        ranked: list[tuple[tuple[int, float, int], str, float]] = []
        deferred: list[Lot] = []
        defer = self.defer_days > 0
        cutoff = long_term_cutoff(self.as_of)
        for n, acc in enumerate(hh.accounts):
            lots = open_lots.get((acc.id, symbol), ())
            if not lots:
                have = held.get((acc.id, symbol), 0.0)
                if have > _EPS:
                    ranked.append(((1 if acc.taxable else 0, 0.0, n), acc.id, have))
                continue
            for lot in lots:
                if defer and self.deferred(lot):
                    deferred.append(lot)
                    continue
                if not self.tax_min:
                    ranked.append(((1 if acc.taxable else 0, 0.0, n), acc.id, lot.quantity))
                    continue
                gain = price - lot.basis_per_share
                if not acc.taxable:
                    key = (1, 0.0, n)
                elif gain < 0 and not washable:
                    key = (0, gain, n)
                elif gain < 0:
                    key = (1, 0.0, n)
                elif lot.acquired <= cutoff:  # long-term
                    key = (2, gain, n)
                else:
                    key = (3, gain, n)
                ranked.append((key, acc.id, lot.quantity))
        ranked.sort(key=lambda r: r[0])
        # Aggregate the ordered prefix per account: within an account the lot order is the
        # same, so one sell per account disposes of exactly the lots chosen here.
        need = value / price
        per_account: dict[str, float] = {}
        for _, account, quantity in ranked:
            if need <= _EPS:
                break
            take = min(quantity, need)
            per_account[account] = per_account.get(account, 0.0) + take
            need -= take
        self._note_deferred(symbol, need, deferred)
        return list(per_account.items())

    def _sources_by_account(
        self,
        open_lots: Mapping[tuple[str, str], Sequence[Lot]],
        held: Mapping[tuple[str, str], float],
        symbol: str,
        need: float,
    ) -> list[tuple[str, float]]:
        """``sell_sources`` without tax_min: tax-advantaged accounts first, then taxable ones
        (each in the household's order), every lot not deferred in its order, one pass."""
        order = self._account_order
        if order is None:
            order = self._account_order = sorted(
                range(len(self.household.accounts)), key=self._taxable_rank
            )
        per_account: dict[str, float] = {}
        deferred: list[tuple[int, Lot]] = []
        defer = self.defer_days > 0
        for n in order:
            acc = self.household.accounts[n]
            lots = open_lots.get((acc.id, symbol), ())
            if not lots:
                have = held.get((acc.id, symbol), 0.0)
                if have > _EPS:
                    if need <= _EPS:
                        break
                    take = min(have, need)
                    per_account[acc.id] = per_account.get(acc.id, 0.0) + take
                    need -= take
                continue
            total = per_account.get(acc.id, 0.0)
            touched = False
            for lot in lots:
                if defer and self.deferred(lot):
                    deferred.append((n, lot))
                    continue
                if need <= _EPS:
                    break
                q = lot.quantity
                take = need if need < q else q  # min(q, need)
                total += take
                touched = True
                need -= take
            if touched:
                per_account[acc.id] = total
        deferred.sort(key=lambda item: item[0])  # in the household's order, as sell_sources
        self._note_deferred(symbol, need, [lot for _, lot in deferred])
        return list(per_account.items())

    def _taxable_rank(self, n: int) -> int:
        return 1 if self.household.accounts[n].taxable else 0

    def _note_deferred(self, symbol: str, need: float, deferred: Sequence[Lot]) -> None:
        if need > _EPS and deferred:
            first = min(deferred, key=lambda lot: long_term_date(lot.acquired))
            self.notes.append(
                f"{symbol}: {need:,.6g} shares not sold to rebalance: lots turning long-term "
                f"within {self.defer_days} days are deferred (first on "
                f"{long_term_date(first.acquired)}, {first.account})"
            )

    def after_sell(self, trade: Trade) -> None:
        """Record a sell: a loss sale blocks buys of its group for the rest of the plan."""
        self.sold.add(trade.symbol)
        if self.calendar is None or not self.household.account(trade.account).taxable:
            return
        if any(sale.gain < -_EPS for sale in trade.lot_sales):
            self.calendar.note_loss_sale(trade.account, trade.symbol)

    # ---- buys -----------------------------------------------------------------------------

    def blocked(self, symbol: str) -> str | None:
        """Why ``symbol`` may not be bought today (a wash sale), or None."""
        return None if self.calendar is None else self.calendar.buy_block(symbol)

    def buy_symbol(self, symbol: str, value: float) -> tuple[str | None, str]:
        """What to buy for ``value`` of ``symbol``: itself, a declared substitute, or nothing.

        Returns (symbol to buy or None, a note for the trade's reason or the plan's warnings).
        """
        if symbol in self.chosen:
            return self.chosen[symbol]
        self.chosen[symbol] = self._buy_symbol(symbol, value)
        return self.chosen[symbol]

    def _buy_symbol(self, symbol: str, value: float) -> tuple[str | None, str]:
        reason = self.blocked(symbol)
        if reason is None:
            return symbol, ""
        assert self.calendar is not None
        alt = self._free_substitute(symbol)
        if alt is not None:
            return alt, f"buys substitute {alt} instead of {symbol}: {reason}"
        until = self.calendar.window_end(symbol)
        self.notes.append(
            f"{symbol}: {value:,.2f} left in cash instead of buying it: {reason}; "
            f"no substitute declared or free (add one under [harvest.substitutes]); "
            f"buy it from {until}"
        )
        return None, ""

    def hold_blocked(
        self, symbols: Sequence[str], desired: np.ndarray, current: np.ndarray
    ) -> np.ndarray:
        """``desired`` values (cash last) with every symbol that may not be bought today (a
        wash sale and no free substitute) held at its current value, and what it would have
        bought spread over the other assets in proportion to their desired values, so that
        nothing is sold to raise cash that could not be invested."""
        if self.calendar is None:
            return desired
        out = desired.copy()
        frozen = np.zeros(len(out), dtype=bool)
        for i, sym in enumerate(symbols):
            if out[i] <= current[i] + _EPS or self.blocked(sym) is None:
                continue
            if self._free_substitute(sym) is not None:
                continue
            until = self.calendar.window_end(sym)
            self.notes.append(
                f"{sym}: held {out[i] - current[i]:,.2f} below its goal instead of buying it: "
                f"{self.blocked(sym)}; no free substitute (declare one under "
                f"[harvest.substitutes]); buy it from {until}"
            )
            out[i] = current[i]
            frozen[i] = True
        if not frozen.any():
            return desired
        spare = desired.sum() - out.sum()
        share = np.where(frozen, 0.0, np.maximum(out, 0.0))
        if share.sum() > _EPS:
            out += spare * share / share.sum()
        else:
            out[-1] += spare
        return out

    def _free_substitute(self, symbol: str) -> str | None:
        assert self.calendar is not None
        group = self.calendar.group(symbol)
        for alt in self.household.harvest.substitutes.get(symbol, ()):
            if alt in group or alt in self.sold or alt not in self.prices:
                continue
            if np.isfinite(self.prices[alt]) and self.blocked(alt) is None:
                return alt
        return None

    def buy_passes(
        self, symbols: Sequence[str], wanted: np.ndarray
    ) -> Iterator[tuple[np.intp, int | None]]:
        """(symbol index, location rank) in the order buys are placed.

        Without ``[location]``: one pass, most wanted first, rank None (every account). With
        it: one pass per rank of the location rule; in each pass, inefficient assets first,
        then growth, then efficient, each into its rank-th choice of account kind only, so
        that no asset's fallback takes the sheltered room another asset prefers.
        """
        order = [np.intp(i) for i in np.argsort(-wanted, kind="stable")]
        if not self.location:
            for i in order:
                yield i, None
            return
        order.sort(
            key=lambda i: buy_priority(self.location.get(symbols[int(i)], TaxEfficiency.EFFICIENT))
        )
        for rank in range(len(AccountKind)):
            for i in order:
                yield i, rank

    def buy_accounts(
        self,
        symbol: str,
        accounts: Sequence[Account],
        held: Mapping[tuple[str, str], float],
        spendable: Mapping[str, float],
        rank: int | None = None,
    ) -> list[Account]:
        """Accounts to buy ``symbol`` in, in order: where it is already held, then the most
        spendable cash; with a location ``rank``, only accounts of the kind the location rule
        puts at that rank for ``symbol``."""
        if rank is not None:
            efficiency = self.location.get(symbol, TaxEfficiency.EFFICIENT)
            kind = LOCATION_ORDER[efficiency][rank]
            accounts = [a for a in accounts if a.kind is kind]
        return sorted(
            accounts, key=lambda a: (held.get((a.id, symbol), 0.0) <= 0, -spendable[a.id])
        )

    # ---- after the plan -------------------------------------------------------------------

    def settle(
        self, trades: Sequence[Trade], holdings_after: Holdings
    ) -> tuple[list[Trade], Holdings, list[str]]:
        """Wash today's loss sales; returns trades, holdings after and the plan's notes."""
        if self.calendar is None:
            return list(trades), holdings_after, list(self.notes)
        settled, after, notes = self.calendar.settle(trades, holdings_after)
        return settled, after, [*self.notes, *notes]


def sell_lots_trade(
    household: Household,
    account: str,
    symbol: str,
    chosen: Sequence[tuple[Lot, float]],
    price: float,
    as_of: date,
    reason: str | Reason,
) -> Trade:
    """A sell of specific lots (``chosen``: lot, shares), costed and with its realized gains.

    As in the engine: the trade's cost is shared among the lots by quantity and reduces their
    proceeds; gains in tax-advantaged accounts are not realized for tax.
    """
    quantity = float(sum(q for _, q in chosen))
    value = quantity * price
    cost = household.trading.cost(value)
    taxable = household.account(account).taxable
    sales: list[LotSale] = []
    short_term = long_term = 0.0
    for lot, take in chosen:
        share = take / quantity if quantity else 0.0
        proceeds = (value - cost) * share
        basis = lot.basis_per_share * take
        long = is_long_term(lot.acquired, as_of)
        sales.append(LotSale(lot, take, proceeds, basis, proceeds - basis, long))
        if taxable:
            if long:
                long_term += proceeds - basis
            else:
                short_term += proceeds - basis
    return Trade(
        account,
        symbol,
        Side.SELL,
        quantity,
        price,
        cost,
        str(reason),
        realized_short_term=short_term,
        realized_long_term=long_term,
        lot_sales=tuple(sales),
        why=reason if isinstance(reason, Reason) else None,
    )
