"""Tax-loss harvesting: sell lots at a loss, buy a declared substitute, respect wash sales.

The rule, for each taxable account and each symbol held there (largest loss first):

1. The candidate lots are those at a loss of at least ``min_loss`` (currency) and at least
   ``min_loss_fraction`` of their basis (``[harvest]``).
2. Shares of the same or a substantially identical symbol bought in the last 30 days, in any
   account, and still held would wash the loss: the part they cover is washed (reported per
   trade); when they cover it all, the symbol is *blocked*.
3. The proceeds buy the first declared substitute (``[harvest.substitutes]``) that is not
   substantially identical, has a price, would not itself wash a recent loss and is not being
   harvested today. No free substitute: blocked (poise does not leave a harvested position in
   cash).
4. The harvest goes ahead when the estimated tax saving (the recognised loss at the
   short- or long-term rate) less both trades' costs is at least ``min_net_benefit``.

With ``swap_back = true``, a substitute held in a taxable account in place of a target symbol
is sold back into that symbol once the symbol's wash-sale window has closed, lot by lot, for
lots at a loss or break-even only: a swap back never realises a gain (a substitute lot with a
gain stays until a rebalance or a later loss sells it).

Timing as everywhere: decisions at the close of ``as_of``, fills at that close.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from poise.model import (
    CASH,
    Holdings,
    Household,
    Lot,
    Plan,
    Reason,
    ReasonKind,
    Side,
    Trade,
    TradingRules,
)
from poise.plan._apply import apply_trades
from poise.plan._orders import is_dust, order_floor, sell_covers_cost, uncovered_sell_note
from poise.plan._taxaware import sell_lots_trade
from poise.tax import Transaction, WashCalendar, is_long_term

__all__ = ["Blocked", "HarvestPlan", "plan_harvest"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Blocked:
    """A loss that may not (or should not) be harvested today, and why.

    ``until`` is the first day the wash-sale window lets it through, when that is the reason.
    """

    account: str
    symbol: str
    reason: str
    loss: float = 0.0
    until: date | None = None


@dataclass(frozen=True, slots=True)
class HarvestPlan:
    """The harvesting trades of one day and what they are worth.

    ``harvested_short_term`` and ``harvested_long_term`` are the losses recognised by the
    harvest sells (negative numbers; washed parts excluded); ``estimated_tax_saving`` is
    what all the plan's sells save (or cost) at the household's short- and long-term rates.
    """

    as_of: date
    trades: tuple[Trade, ...]
    harvested_short_term: float
    harvested_long_term: float
    estimated_tax_saving: float
    blocked: tuple[Blocked, ...]
    holdings_before: Holdings
    holdings_after: Holdings
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_cost(self) -> float:
        return float(sum(t.cost for t in self.trades))

    @property
    def harvested(self) -> float:
        return self.harvested_short_term + self.harvested_long_term

    def as_plan(self) -> Plan:
        """The harvest as a ``Plan`` (for code that moves holdings forward with plans, such as
        the backtest); weights and targets are left empty."""
        return Plan(
            as_of=self.as_of,
            triggered=False,
            reasons=("tax-loss harvest",),
            total_value=0.0,
            targets={},
            weights_before={},
            weights_after={},
            trades=self.trades,
            holdings_before=self.holdings_before,
            holdings_after=self.holdings_after,
            estimated_tax=-self.estimated_tax_saving,
            warnings=self.warnings,
        )


def _loss_lots(household: Household, lots: Sequence[Lot], price: float) -> list[Lot]:
    rules = household.harvest
    out = []
    for lot in lots:
        loss = lot.cost_basis - lot.quantity * price
        if loss <= _EPS or loss < rules.min_loss:
            continue
        if loss < rules.min_loss_fraction * lot.cost_basis:
            continue
        out.append(lot)
    return out


def _rate(household: Household, long_term: bool) -> float:
    tax = household.tax
    return tax.long_term_rate if long_term else tax.short_term_rate


@dataclass
class _Work:
    """The day's harvest while it is planned (never leaves this module): cash per account,
    the trades and blocked losses so far, the symbols sold at a loss today (with their
    groups), those bought today, and the (account, symbol) of each harvest sell."""

    calendar: WashCalendar
    cash: dict[str, float]
    trades: list[Trade] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    harvested_groups: set[str] = field(default_factory=set)
    bought_today: set[str] = field(default_factory=set)
    harvest_keys: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Go:
    """A loss worth harvesting: its substitute, the estimated tax saving and the sell's cost."""

    alt: str
    saving: float
    sell_cost: float


def plan_harvest(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    *,
    transactions: Sequence[Transaction] = (),
) -> HarvestPlan:
    """Plan today's tax-loss harvest for the whole household.

    Parameters
    ----------
    household : Household
        Its ``[harvest]`` rules, substitutes, identical groups and tax rates are used.
    holdings : Holdings
        Lots and cash before the harvest.
    prices : mapping of symbol to float
        Closes on ``as_of`` for the held symbols and the substitutes to consider.
    as_of : date
        The decision and fill day.
    transactions : sequence of Transaction
        Recent trades (at least the last 31 days), so that past loss sales and purchases are
        seen by the wash-sale rule. Held lots acquired in the last 30 days count as purchases.

    Returns
    -------
    HarvestPlan
    """
    hh = household
    if not hh.harvest.enabled:
        warnings = ("harvesting is off: set enabled = true under [harvest]",)
        return HarvestPlan(as_of, (), 0.0, 0.0, 0.0, (), holdings, holdings, warnings)
    calendar = WashCalendar.build(hh, holdings, transactions, as_of)
    work = _Work(calendar, {a: float(holdings.cash.get(a, 0.0)) for a in hh.account_ids})
    for candidate in _candidates(hh, holdings, prices):
        _harvest_one(work, hh, holdings, prices, as_of, *candidate)
    trades = work.trades
    if hh.harvest.swap_back:
        trades += _swap_back(
            hh, holdings, prices, as_of, calendar, work.cash, work.harvested_groups,
            work.bought_today,
        )  # fmt: skip
    return _harvest_plan(hh, holdings, as_of, work, trades)


def _candidates(
    hh: Household, holdings: Holdings, prices: Mapping[str, float]
) -> list[tuple[float, str, str, list[Lot]]]:
    """(loss, account, symbol, loss lots) of each taxable position with lots to harvest,
    largest loss first."""
    candidates: list[tuple[float, str, str, list[Lot]]] = []
    by_key: dict[tuple[str, str], list[Lot]] = {}
    for lot in holdings.lots:
        by_key.setdefault((lot.account, lot.symbol), []).append(lot)
    for (account, symbol), lots in by_key.items():
        if not hh.account(account).taxable or symbol not in prices:
            continue
        chosen = _loss_lots(hh, lots, prices[symbol])
        if chosen:
            loss = sum(lot.cost_basis - lot.quantity * prices[symbol] for lot in chosen)
            candidates.append((loss, account, symbol, chosen))
    candidates.sort(key=lambda c: -c[0])
    return candidates


def _screen(
    work: _Work,
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    loss: float,
    account: str,
    symbol: str,
    lots: Sequence[Lot],
) -> Blocked | _Go:
    """Whether one loss may be harvested (a substitute, a saving above the costs), or why
    not: bought today as a substitute, washed in full, no free substitute, a sell that does
    not cover its cost, or a net benefit below ``min_net_benefit``."""
    calendar, trading = work.calendar, hh.trading
    price = prices[symbol]
    group = calendar.group(symbol)
    if group & work.bought_today:
        return Blocked(account, symbol, f"{symbol} is bought today as a substitute", -loss)
    quantity = sum(lot.quantity for lot in lots)
    replacing = calendar.replacements(symbol, excluded=holdings.lots_of(account, symbol))
    washed_share = min(replacing / quantity, 1.0) if quantity else 0.0
    if washed_share >= 1.0 - 1e-9:
        until = _last_purchase(calendar, symbol)
        return Blocked(
            account,
            symbol,
            f"{replacing:,.6g} shares of {'/'.join(sorted(group))} bought in the last 30 "
            f"days would wash the loss (wash sale until {until})",
            -loss,
            until,
        )
    alt, why_not = _substitute(hh, calendar, symbol, prices, work.harvested_groups)
    if alt is None:
        return Blocked(account, symbol, why_not, -loss, calendar.window_end(symbol))
    value = quantity * price
    sell_cost = trading.cost(value)
    buy_cost = trading.cost(value - sell_cost)
    if not sell_covers_cost(value, sell_cost):
        note = uncovered_sell_note(account, symbol, quantity, value, sell_cost)
        return Blocked(account, symbol, note, -loss)
    saving = sum(
        (lot.cost_basis - lot.quantity * price) * _rate(hh, is_long_term(lot.acquired, as_of))
        for lot in lots
    ) * (1.0 - washed_share)
    benefit = saving - sell_cost - buy_cost
    if benefit < hh.harvest.min_net_benefit or benefit <= 0:
        return Blocked(
            account,
            symbol,
            f"net benefit {benefit:,.2f} (tax saving {saving:,.2f} less costs "
            f"{sell_cost + buy_cost:,.2f}) is below min_net_benefit "
            f"{hh.harvest.min_net_benefit:,.2f}",
            -loss,
        )
    return _Go(alt, saving, sell_cost)


def _harvest_one(
    work: _Work,
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    loss: float,
    account: str,
    symbol: str,
    lots: list[Lot],
) -> None:
    """Harvest one loss (sell its lots, buy the substitute with the proceeds), or record why
    it is blocked."""
    go = _screen(work, hh, holdings, prices, as_of, loss, account, symbol, lots)
    if isinstance(go, Blocked):
        work.blocked.append(go)
        return
    calendar, trading, alt = work.calendar, hh.trading, go.alt
    action = (
        f"harvest a loss of {loss + go.sell_cost:,.2f} on {symbol} (estimated tax saving "
        f"{go.saving:,.2f}); buy {alt} in its place"
    )
    chosen = [(lot, lot.quantity) for lot in lots]
    why = Reason(ReasonKind.HARVEST, action, symbol)
    sell = sell_lots_trade(hh, account, symbol, chosen, prices[symbol], as_of, why)
    work.cash[account] += sell.cash_change
    shares = _proceeds_shares(trading, sell, work.cash[account], prices[alt])
    work.trades.append(sell)
    work.harvest_keys.add((account, symbol))
    calendar.note_loss_sale(account, symbol)
    work.harvested_groups |= calendar.group(symbol)
    if is_dust(shares, shares * prices[alt], order_floor(trading)):
        work.warnings.append(f"{account}: the proceeds of {symbol} are too small to buy {alt}")
        return
    action = (
        f"substitute for {symbol} after harvesting its loss (not substantially "
        f"identical; {symbol} may be bought again from {calendar.window_end(symbol)})"
    )
    buy = _buy(
        trading, account, alt, shares, prices[alt], Reason(ReasonKind.SUBSTITUTE, action, symbol)
    )
    work.trades.append(buy)
    work.cash[account] += buy.cash_change
    work.bought_today |= calendar.group(alt)


def _proceeds_shares(trading: TradingRules, sell: Trade, cash: float, price: float) -> float:
    """Shares of ``price`` that a sell's proceeds buy (within the account's ``cash`` above its
    reserve, costs paid); whole shares when the rules say so."""
    budget = min(sell.cash_change, cash - trading.cash_reserve)
    shares = max(trading.costs.affordable_value(budget), 0.0) / price
    if not trading.fractional:
        shares = float(math.floor(shares + 1e-9))
    return shares


def _buy(
    trading: TradingRules, account: str, symbol: str, shares: float, price: float, why: Reason
) -> Trade:
    return Trade(
        account, symbol, Side.BUY, shares, price, trading.cost(shares * price), str(why), why=why
    )


def _harvest_plan(
    hh: Household, holdings: Holdings, as_of: date, work: _Work, trades: list[Trade]
) -> HarvestPlan:
    """Sells before buys, the holdings after them (wash sales settled), the losses the
    harvest sells recognise and the tax all the sells save."""
    trades = [t for t in trades if t.side is Side.SELL] + [t for t in trades if t.side is Side.BUY]
    after = apply_trades(holdings, trades, as_of)
    settled, after, notes = work.calendar.settle(trades, after)
    warnings = [*work.warnings, *notes]
    harvest_sells = [
        t for t in settled if t.side is Side.SELL and (t.account, t.symbol) in work.harvest_keys
    ]
    st = float(sum(t.realized_short_term for t in harvest_sells))
    lt = float(sum(t.realized_long_term for t in harvest_sells))
    all_st = float(sum(t.realized_short_term for t in settled))
    all_lt = float(sum(t.realized_long_term for t in settled))
    saving = -(all_st * hh.tax.short_term_rate + all_lt * hh.tax.long_term_rate)
    return HarvestPlan(
        as_of,
        tuple(settled),
        st,
        lt,
        saving,
        tuple(work.blocked),
        holdings,
        after,
        tuple(warnings),
    )


def _last_purchase(calendar: WashCalendar, symbol: str) -> date:
    """The first day a loss sale of ``symbol`` is no longer washed by the recent purchases."""
    group = calendar.group(symbol)
    since = calendar.as_of - timedelta(days=calendar.window_days)
    dates = [
        e.purchase.date
        for e in calendar.entries
        if e.purchase.symbol in group and since <= e.purchase.date <= calendar.as_of
    ]
    return max(dates) + timedelta(days=calendar.window_days + 1)


def _substitute(
    household: Household,
    calendar: WashCalendar,
    symbol: str,
    prices: Mapping[str, float],
    harvested: set[str],
) -> tuple[str | None, str]:
    alternates = household.harvest.substitutes.get(symbol, ())
    if not alternates:
        return None, (
            f"no substitute declared for {symbol}: add one under [harvest.substitutes] "
            "(poise does not leave a harvested position in cash)"
        )
    group = calendar.group(symbol)
    reasons = []
    for alt in alternates:
        if alt in group:
            reasons.append(f"{alt} is declared substantially identical")
        elif alt not in prices or not math.isfinite(prices[alt]):
            reasons.append(f"{alt} has no price")
        elif alt in harvested or calendar.group(alt) & harvested:
            reasons.append(f"{alt} is harvested today")
        elif (block := calendar.buy_block(alt)) is not None:
            reasons.append(block)
        else:
            return alt, ""
    return None, f"no free substitute for {symbol}: " + "; ".join(reasons)


def _swap_back(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    calendar: WashCalendar,
    cash: dict[str, float],
    harvested: set[str],
    bought: set[str],
) -> list[Trade]:
    """Sell substitutes held in taxable accounts (lots at a loss or break-even) back into
    their primaries whose wash-sale window has closed. ``cash`` and ``bought`` are updated in
    place."""
    hh = household
    out: list[Trade] = []
    swapped: set[tuple[str, str]] = set()
    for primary, alt in _swap_pairs(hh, prices, calendar, harvested, bought):
        for acc in hh.accounts:
            if not acc.taxable or (acc.id, alt) in swapped:
                continue
            trades = _swap_one(hh, holdings, prices, as_of, calendar, cash, acc.id, primary, alt)
            if trades:
                swapped.add((acc.id, alt))
                out += trades
                if len(trades) > 1:
                    bought |= calendar.group(primary)
    return out


def _swap_pairs(
    hh: Household,
    prices: Mapping[str, float],
    calendar: WashCalendar,
    harvested: set[str],
    bought: set[str],
) -> Iterator[tuple[str, str]]:
    """(primary, substitute) pairs that may swap back now, checked lazily (each as it is
    reached, after the swaps before it): the primary is targeted, priced, not blocked and not
    harvested today; the substitute is not targeted, priced, not identical to it, not
    harvested today and not bought today (its loss sale would be washed)."""
    for primary, alternates in hh.harvest.substitutes.items():
        if primary not in hh.targets or primary == CASH or primary not in prices:
            continue
        if calendar.buy_block(primary) is not None or primary in harvested:
            continue
        for alt in alternates:
            if alt in hh.targets or alt not in prices or alt in harvested:
                continue
            if alt in calendar.group(primary) or calendar.buy_block(primary) is not None:
                continue
            if calendar.group(alt) & bought:
                continue
            yield primary, alt


def _swap_one(
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    calendar: WashCalendar,
    cash: dict[str, float],
    account: str,
    primary: str,
    alt: str,
) -> list[Trade]:
    """In one account: the sell of the substitute's lots at a loss or break-even, and the buy
    of the primary with the proceeds (when not dust); [] when nothing is swapped."""
    trading = hh.trading
    price = prices[alt]
    lots = [lot for lot in holdings.lots_of(account, alt) if lot.cost_basis >= lot.quantity * price]
    if not lots:
        return []
    action = f"swap back: {primary}'s wash-sale window has closed; sell its substitute {alt}"
    chosen = [(lot, lot.quantity) for lot in lots]
    why = Reason(ReasonKind.SWAP_BACK, action, primary)
    sell = sell_lots_trade(hh, account, alt, chosen, price, as_of, why)
    if is_dust(sell.quantity, sell.value, order_floor(trading)):
        return []
    if not sell_covers_cost(sell.value, sell.cost):
        return []
    if any(sale.gain < 0 for sale in sell.lot_sales):
        calendar.note_loss_sale(account, alt)
    cash[account] += sell.cash_change
    shares = _proceeds_shares(trading, sell, cash[account], prices[primary])
    if is_dust(shares, shares * prices[primary], order_floor(trading)):
        return [sell]
    action = f"swap back into {primary} from its substitute {alt}"
    buy = _buy(
        trading,
        account,
        primary,
        shares,
        prices[primary],
        Reason(ReasonKind.SWAP_BACK, action, primary),
    )
    cash[account] += buy.cash_change
    return [sell, buy]
