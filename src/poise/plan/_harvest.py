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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from poise.model import CASH, Holdings, Household, Lot, Plan, Side, Trade
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
    rules = hh.harvest
    warnings: list[str] = []
    if not rules.enabled:
        warnings.append("harvesting is off: set enabled = true under [harvest]")
        return HarvestPlan(as_of, (), 0.0, 0.0, 0.0, (), holdings, holdings, tuple(warnings))
    calendar = WashCalendar.build(hh, holdings, transactions, as_of)
    trading = hh.trading
    blocked: list[Blocked] = []
    trades: list[Trade] = []
    cash = {a: float(holdings.cash.get(a, 0.0)) for a in hh.account_ids}
    harvested_groups: set[str] = set()  # symbols sold at a loss today (with their groups)
    bought_today: set[str] = set()
    harvest_keys: set[tuple[str, str]] = set()

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

    for loss, account, symbol, lots in candidates:
        price = prices[symbol]
        group = calendar.group(symbol)
        if group & bought_today:
            blocked.append(
                Blocked(account, symbol, f"{symbol} is bought today as a substitute", -loss)
            )
            continue
        quantity = sum(lot.quantity for lot in lots)
        replacing = calendar.replacements(symbol, excluded=holdings.lots_of(account, symbol))
        washed_share = min(replacing / quantity, 1.0) if quantity else 0.0
        if washed_share >= 1.0 - 1e-9:
            until = _last_purchase(calendar, symbol)
            blocked.append(
                Blocked(
                    account,
                    symbol,
                    f"{replacing:,.6g} shares of {'/'.join(sorted(group))} bought in the last 30 "
                    f"days would wash the loss (wash sale until {until})",
                    -loss,
                    until,
                )
            )
            continue
        alt, why_not = _substitute(hh, calendar, symbol, prices, harvested_groups)
        if alt is None:
            blocked.append(Blocked(account, symbol, why_not, -loss, calendar.window_end(symbol)))
            continue
        value = quantity * price
        sell_cost = trading.cost(value)
        buy_cost = trading.cost(value - sell_cost)
        if not sell_covers_cost(value, sell_cost):
            blocked.append(
                Blocked(
                    account,
                    symbol,
                    uncovered_sell_note(account, symbol, quantity, value, sell_cost),
                    -loss,
                )
            )
            continue
        saving = sum(
            (lot.cost_basis - lot.quantity * price) * _rate(hh, is_long_term(lot.acquired, as_of))
            for lot in lots
        ) * (1.0 - washed_share)
        benefit = saving - sell_cost - buy_cost
        if benefit < rules.min_net_benefit or benefit <= 0:
            blocked.append(
                Blocked(
                    account,
                    symbol,
                    f"net benefit {benefit:,.2f} (tax saving {saving:,.2f} less costs "
                    f"{sell_cost + buy_cost:,.2f}) is below min_net_benefit "
                    f"{rules.min_net_benefit:,.2f}",
                    -loss,
                )
            )
            continue
        sell = sell_lots_trade(
            hh,
            account,
            symbol,
            [(lot, lot.quantity) for lot in lots],
            price,
            as_of,
            f"harvest a loss of {loss + sell_cost:,.2f} on {symbol} (estimated tax saving "
            f"{saving:,.2f}); "
            f"buy {alt} in its place",
        )
        cash[account] += sell.cash_change
        budget = min(sell.cash_change, cash[account] - trading.cash_reserve) - trading.commission
        spread = 1.0 + trading.spread_bps * 1e-4
        shares = max(budget, 0.0) / spread / prices[alt]
        if not trading.fractional:
            shares = float(math.floor(shares + 1e-9))
        trades.append(sell)
        harvest_keys.add((account, symbol))
        calendar.note_loss_sale(account, symbol)
        harvested_groups |= group
        if not is_dust(shares, shares * prices[alt], order_floor(trading)):
            buy = Trade(
                account,
                alt,
                Side.BUY,
                shares,
                prices[alt],
                trading.cost(shares * prices[alt]),
                f"substitute for {symbol} after harvesting its loss (not substantially "
                f"identical; {symbol} may be bought again from {calendar.window_end(symbol)})",
            )
            trades.append(buy)
            cash[account] += buy.cash_change
            bought_today |= calendar.group(alt)
        else:
            warnings.append(f"{account}: the proceeds of {symbol} are too small to buy {alt}")

    if rules.swap_back:
        trades += _swap_back(
            hh, holdings, prices, as_of, calendar, cash, harvested_groups, bought_today
        )

    trades = [t for t in trades if t.side is Side.SELL] + [t for t in trades if t.side is Side.BUY]
    after = apply_trades(holdings, trades, as_of)
    settled, after, notes = calendar.settle(trades, after)
    warnings += notes
    harvest_sells = [
        t for t in settled if t.side is Side.SELL and (t.account, t.symbol) in harvest_keys
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
        tuple(blocked),
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
    hh = household
    trading = hh.trading
    out: list[Trade] = []
    swapped: set[tuple[str, str]] = set()
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
                continue  # a loss sale of it would be washed by today's purchase
            for acc in hh.accounts:
                if not acc.taxable or (acc.id, alt) in swapped:
                    continue
                price = prices[alt]
                lots = [
                    lot
                    for lot in holdings.lots_of(acc.id, alt)
                    if lot.cost_basis >= lot.quantity * price
                ]
                if not lots:
                    continue
                sell = sell_lots_trade(
                    hh,
                    acc.id,
                    alt,
                    [(lot, lot.quantity) for lot in lots],
                    price,
                    as_of,
                    f"swap back: {primary}'s wash-sale window has closed; "
                    f"sell its substitute {alt}",
                )
                if is_dust(sell.quantity, sell.value, order_floor(trading)):
                    continue
                if not sell_covers_cost(sell.value, sell.cost):
                    continue
                swapped.add((acc.id, alt))
                if any(sale.gain < 0 for sale in sell.lot_sales):
                    calendar.note_loss_sale(acc.id, alt)
                cash[acc.id] += sell.cash_change
                budget = (
                    min(sell.cash_change, cash[acc.id] - trading.cash_reserve) - trading.commission
                )
                shares = max(budget, 0.0) / (1.0 + trading.spread_bps * 1e-4) / prices[primary]
                if not trading.fractional:
                    shares = float(math.floor(shares + 1e-9))
                out.append(sell)
                if not is_dust(shares, shares * prices[primary], order_floor(trading)):
                    buy = Trade(
                        acc.id,
                        primary,
                        Side.BUY,
                        shares,
                        prices[primary],
                        trading.cost(shares * prices[primary]),
                        f"swap back into {primary} from its substitute {alt}",
                    )
                    cash[acc.id] += buy.cash_change
                    out.append(buy)
                    bought |= calendar.group(primary)
    return out
