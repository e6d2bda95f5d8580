"""The one rebalancing engine: from a decision to trades, per account, lot by lot.

Timing: the plan for day *t* uses the closes of *t* and fills every trade at them; costs are
paid from the trading account's cash and a buy's cost is added to its lot's basis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from poise._errors import InputError
from poise.model import (
    CASH,
    Holdings,
    Household,
    Lot,
    LotSale,
    Plan,
    PlanMethod,
    Side,
    Trade,
    TradingRules,
)
from poise.plan._apply import apply_trades, group_lots
from poise.plan._finish import finish_plan, fmt_money, unmet_withdrawals
from poise.plan._flows import CashFlow
from poise.plan._orders import is_dust, order_floor, sell_covers_cost, uncovered_sell_note
from poise.plan._sizing import best_extra_share, desired_values, level_fill
from poise.plan._taxaware import TaxAware, fold_substitutes, group_context
from poise.policy import Decision, LabelledHistory, PolicyContext, RebalanceTo, aligned_history
from poise.tax import Transaction, is_long_term, select_lots

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["plan_rebalance"]

_EPS = 1e-9
_USE_KERNEL = True  # False forces the general path (tests compare the two)
TOPUP_RULE = "marginal"
"""Whole-share top-up after the buys: ``"marginal"`` (the half-share top-up, then one share
at a time while it lowers the tracking error, cash included) or ``"half_share"`` (the
earlier rule alone, kept for the study in ``benchmarks/whole_shares.py``)."""


@dataclass
class _Book:
    """Mutable working state while a plan is built (never leaves this module)."""

    household: Household
    prices: Mapping[str, float]
    as_of: date
    holdings: Holdings
    qty: dict[tuple[str, str], float]
    cash: dict[str, float]
    sells: list[Trade] = field(default_factory=list)
    buys: dict[tuple[str, str], Trade] = field(default_factory=dict)  # one per account, symbol
    open_lots: dict[tuple[str, str], list[Lot]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    tax: TaxAware | None = None

    @property
    def trades(self) -> list[Trade]:
        """Sells in the order made, then buys in the order last added to."""
        return [*self.sells, *self.buys.values()]

    def held(self, account: str, symbol: str) -> float:
        return self.qty.get((account, symbol), 0.0)

    def sell(self, account: str, symbol: str, quantity: float, reason: str) -> float:
        """Record a sell; returns the cash it raises."""
        quantity = min(quantity, self.held(account, symbol))
        value = quantity * self.prices[symbol]
        if is_dust(quantity, value, order_floor(self.household.trading)):
            return 0.0
        cost = self.household.trading.cost(value)
        if not sell_covers_cost(value, cost):
            note = uncovered_sell_note(account, symbol, quantity, value, cost)
            if note not in self.warnings:
                self.warnings.append(note)
            return 0.0
        trade = self._sell_trade(account, symbol, quantity, reason)
        self.sells.append(trade)
        if self.tax is not None:
            self.tax.after_sell(trade)
        self.qty[(account, symbol)] = self.held(account, symbol) - quantity
        self.cash[account] = self.cash.get(account, 0.0) + trade.cash_change
        return trade.cash_change

    def buy(self, account: str, symbol: str, quantity: float, reason: str) -> float:
        """Record a buy, merged into an earlier buy of the same symbol in the same account;
        returns the extra cash it uses, cost included."""
        price = self.prices[symbol]
        self.qty[(account, symbol)] = self.held(account, symbol) + quantity
        before = self.cash.get(account, 0.0)
        earlier = self.buys.pop((account, symbol), None)
        if earlier is not None:
            self.cash[account] = before - earlier.cash_change
            quantity += earlier.quantity
            reason = earlier.reason
        trade = Trade(
            account,
            symbol,
            Side.BUY,
            quantity,
            price,
            self.household.trading.cost(quantity * price),
            reason,
        )
        self.buys[(account, symbol)] = trade
        self.cash[account] = self.cash.get(account, 0.0) + trade.cash_change
        return before - self.cash[account]

    def bought(self, account: str, symbol: str) -> float:
        """Shares of ``symbol`` already being bought in ``account`` by this plan."""
        earlier = self.buys.get((account, symbol))
        return earlier.quantity if earlier is not None else 0.0

    def _sell_trade(self, account: str, symbol: str, quantity: float, reason: str) -> Trade:
        hh = self.household
        price = self.prices[symbol]
        value = quantity * price
        cost = hh.trading.cost(value)
        if not self.open_lots and self.holdings.lots:
            self.open_lots = group_lots(self.holdings.lots)
        lots = self.open_lots.setdefault((account, symbol), [])
        sales: list[LotSale] = []
        short_term = long_term = 0.0
        taxable = hh.account(account).taxable
        chosen = (
            select_lots(lots, quantity, hh.tax.lot_method, price, self.as_of, hh.tax)
            if self.tax is None
            else self.tax.select(lots, quantity, price)
        )
        left: dict[int, Lot | None] = {}  # what is left of each lot sold (by identity)
        for lot, take in chosen:
            share = take / quantity
            proceeds = value * share - cost * share
            basis = lot.basis_per_share * take
            gain = proceeds - basis
            long = is_long_term(lot.acquired, self.as_of)
            sales.append(LotSale(lot, take, proceeds, basis, gain, long))
            left[id(lot)] = lot.take(take)[1]
            if taxable:
                if long:
                    long_term += gain
                else:
                    short_term += gain
        if left:  # one pass over the position's lots, not one search per lot sold
            kept = [left.get(id(lot), lot) for lot in lots]
            lots[:] = [lot for lot in kept if lot is not None]
        return Trade(
            account,
            symbol,
            Side.SELL,
            quantity,
            price,
            cost,
            reason,
            realized_short_term=short_term,
            realized_long_term=long_term,
            lot_sales=tuple(sales),
        )


def _by_account(flows: Iterable[CashFlow]) -> dict[str, float]:
    """The flows' amounts summed per account, in the order the accounts first appear."""
    out: dict[str, float] = {}
    for flow in flows:
        out[flow.account] = out.get(flow.account, 0.0) + flow.amount
    return out


def _withdrawal_sells(
    over: np.ndarray, need: float, caps: np.ndarray, rules: TradingRules
) -> np.ndarray:
    """Values to sell, most overweight (``over``) first within ``caps``, so that the proceeds
    after costs raise ``need``: grossed up for the spread and one commission per sell."""
    grossed = need / (1.0 - rules.spread_bps * 1e-4)
    for _ in range(2):
        amounts = level_fill(over, grossed, caps)
        count = int((amounts > _EPS).sum())
        grossed = (need + count * rules.commission) / (1.0 - rules.spread_bps * 1e-4)
    return level_fill(over, grossed, caps)


def _sell_quantity(value: float, price: float, fractional: bool, held: float) -> float:
    q = value / price
    if fractional:
        return min(q, held)
    if q >= held - 0.5:
        return held  # the whole position: whole-share rules still let a fractional one close
    return min(float(round(q)), held)


def _source_quantity(
    value: float, price: float, fractional: bool, held: float, offered: float
) -> float:
    """Shares to sell from one account that ``offered`` shares toward a sell of ``value``.

    With whole shares the count is whole (or closes the account's position); when it exceeds
    what the source offered (e.g. the tax-aware order stops inside a lot), it is the offer
    rounded up to a whole share.
    """
    if fractional:
        return min(value / price, offered, held)
    q = _sell_quantity(value, price, False, held)
    if q > offered + _EPS:
        q = min(q, float(math.ceil(offered - 1e-9)), held)
    return q


def plan_rebalance(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    *,
    targets: Mapping[str, float] | None = None,
    decision: Decision | None = None,
    flows: Sequence[CashFlow] = (),
    force: bool = False,
    last_rebalanced: date | None = None,
    previous_day: date | None = None,
    history: pd.DataFrame | LabelledHistory | None = None,
    transactions: Sequence[Transaction] | None = None,
) -> Plan:
    """Decide whether to rebalance and plan the trades, for the whole household.

    Parameters
    ----------
    household : Household
        Accounts, targets, policy and rules.
    holdings : Holdings
        Lots and cash before any trade.
    prices : mapping of symbol to float
        Closes on ``as_of``; every held or targeted symbol needs one. Trades fill at them.
    as_of : date
        The decision and fill day.
    targets : mapping, optional
        Target weights to use instead of ``household.targets`` (e.g. from a fitted model).
    decision : Decision, optional
        A decision already taken; by default ``household.policy`` decides.
    flows : sequence of CashFlow
        Deposits and withdrawals on ``as_of``. They are placed cash-flow first: a deposit buys
        what is most underweight, a withdrawal sells what is most overweight in its account.
    force : bool
        Rebalance to target whatever the policy says.
    last_rebalanced, previous_day
        Passed to the policy (see ``PolicyContext``).
    history : DataFrame or LabelledHistory, optional
        Prices up to and including ``as_of``, one column per symbol: the policy reads each
        asset's prices by its name (``poise.policy.aligned_history``), whatever the order of
        the columns (a prepared :class:`poise.app.PriceDay` gives them from its array).
    transactions : sequence of Transaction, optional
        Recent trades (at least the last 31 days), for the sells the lots cannot show. In a
        household with a taxable account the wash-sale rule is always applied across the
        household, to the lots' purchase dates, today's own trades, the ``[identical]``
        groups and these transactions: no buy washes a recent loss (a declared substitute is
        bought instead, or the cash waits), and today's loss sales are washed by purchases
        within 30 days (recent lots, or today's buys of the same or an identical symbol).
        Tax-aware lot, account and location choices follow ``household.tax`` and
        ``household.location`` (see ``poise.plan._taxaware``); ``plan_method = optimize``
        hands the decision to the optimising plan.

    Returns
    -------
    Plan
        The trades (each with its reason), the holdings after them, and the weights, costs
        and realized gains.
    """
    hh = household
    rules = hh.trading
    floor = order_floor(rules)
    if transactions is None and any(a.taxable for a in hh.accounts):
        transactions = ()  # the lots' own purchase dates and today's trades always count
    targets = dict(targets if targets is not None else hh.targets)
    tax = TaxAware.build(hh, holdings, prices, as_of, transactions)
    policy_targets = targets
    if hh.harvest.substitutes:
        targets = fold_substitutes(hh, targets, holdings, prices)
    for flow in flows:
        if flow.account not in hh.account_ids:
            raise InputError(
                f"unknown account {flow.account!r}; use one of {', '.join(hh.account_ids)}",
                field="--account",
            )
    symbols = [s for s in targets if s != CASH]
    symbols += [s for s in holdings.symbols if s not in targets]
    missing = [s for s in symbols if s not in prices or not math.isfinite(prices[s])]
    if missing:
        raise InputError(
            f"no price on {as_of} for {', '.join(missing)}; add them to the prices file",
            field="prices",
        )
    names = (*symbols, CASH)
    price = np.array([prices[s] for s in symbols])
    qty = holdings.quantities()
    cash = {a: float(holdings.cash.get(a, 0.0)) for a in hh.account_ids}
    held = np.zeros(len(symbols))
    position = {s: i for i, s in enumerate(names)}
    for (_, sym), q in qty.items():
        held[position[sym]] += q
    values = np.append(held * price, sum(cash.values()))
    total_before = float(values.sum())
    target_w = np.array([targets.get(s, 0.0) for s in names])
    weights_before = values / total_before if total_before > 0 else np.zeros_like(values)

    if decision is None:
        prices_by_name = None if history is None else aligned_history(history, names)
        context = PolicyContext(
            as_of, names, weights_before, target_w, last_rebalanced, previous_day, prices_by_name
        )
        if hh.harvest.substitutes:  # a held substitute counts in its primary's drift
            context = group_context(context, hh, policy_targets)
        decision = hh.policy.decide(context)
    if force and not decision.triggered:
        decision = Decision(
            True,
            ("forced rebalance (--force)", *decision.reasons),
            RebalanceTo.TARGET,
            decision.half_bands,
        )
    triggered = decision.triggered and decision.sells_allowed
    if hh.plan_method is PlanMethod.OPTIMIZE:
        from poise.plan._optimize import optimize_plan

        return optimize_plan(
            hh, holdings, prices, as_of, targets, decision, flows, transactions=transactions
        )
    if _USE_KERNEL:  # one tax-advantaged account: lots and taxes cannot matter (_kernel.py)
        from poise.plan._kernel import kernel_plan, kernel_serves

        if kernel_serves(hh, holdings, transactions):
            cash_now = cash[hh.accounts[0].id]
            return kernel_plan(
                hh,
                holdings,
                prices,
                as_of,
                names,
                price,
                held,
                cash_now,
                target_w,
                weights_before,
                total_before,
                decision,
                flows,
            )

    net_flow = float(sum(f.amount for f in flows))
    total_after_flow = total_before + net_flow
    if total_after_flow < -_EPS:
        raise InputError(
            f"withdrawals of {fmt_money(-net_flow)} exceed the household's total value "
            f"{fmt_money(total_before)}",
            field="withdraw.amount",
        )
    goal = target_w * total_after_flow
    deposits = _by_account(f for f in flows if f.amount > 0)
    withdrawals = _by_account(f for f in flows if f.amount < 0)
    # New money each account may invest when the policy does not rebalance: its deposits, or
    # for a cash-flow policy (no rebalancing sells) all its cash above the reserve.
    invest_idle = not triggered and decision.invest_idle and not withdrawals
    money = {
        a: max(0.0, cash[a] + deposits.get(a, 0.0) - rules.cash_reserve)
        if invest_idle
        else deposits.get(a, 0.0)
        for a in hh.account_ids
    }
    idle = sum(money.values()) - net_flow if invest_idle else 0.0

    # Household-level value each asset (cash last) should end at.
    desired = desired_values(
        values,
        target_w,
        net_flow,
        triggered=triggered,
        to_target=decision.rebalance_to is RebalanceTo.TARGET,
        half_bands=decision.half_bands,
        idle=idle,
    )

    if tax is not None:  # what may not be bought (wash sale, no free substitute) is held
        desired = tax.hold_blocked(symbols, desired, values)
    book = _Book(hh, prices, as_of, holdings, dict(qty), cash, tax=tax)
    delta = desired[:-1] - held * price  # value to buy (+) or sell (-) per symbol
    before_pct = dict(zip(names, weights_before, strict=True))

    reason_bands = decision.half_bands

    def why(sym: str, action: str) -> str:
        i = position[sym]
        band = ""
        if reason_bands is not None and np.isfinite(reason_bands[i]):
            band = f" (band ±{reason_bands[i] * 100:.2f}pp)"
        return (
            f"{sym} {before_pct[sym] * 100:.1f}% vs target {target_w[i] * 100:.1f}%{band}: {action}"
        )

    # 1. Withdrawals: raise the cash in their own account, selling what is most overweight
    #    (above its goal when rebalancing; else above its goal after the withdrawal).
    for account, amount in deposits.items():
        book.cash[account] += amount
    for account, amount in withdrawals.items():
        amount = -amount
        need = amount + rules.cash_reserve - book.cash[account]
        if need <= _EPS:
            continue
        caps = np.array([book.held(account, s) * prices[s] for s in symbols])
        if triggered:
            over = -delta
        else:
            now = np.array([sum(book.held(a, s) for a in hh.account_ids) for s in symbols])
            over = now * price - goal[:-1]
        amounts = _withdrawal_sells(over, need, caps, rules)
        raised = 0.0
        for i in np.flatnonzero(amounts > _EPS):
            sym = symbols[i]
            q = amounts[i] / price[i]
            if not rules.fractional:
                q = float(min(math.ceil(q - 1e-9), book.held(account, sym)))
            reason = why(sym, f"sell to fund the withdrawal of {fmt_money(amount)} from {account}")
            raised += book.sell(account, sym, q, reason)
            delta[i] += q * price[i]
        money[account] += max(0.0, raised - need)  # whole shares raise a little more
    withdrawals = {a: -w for a, w in withdrawals.items()}

    # 2. Rebalancing sells: tax-free and tax-deferred accounts first, then taxable ones.
    if triggered:
        order = sorted(hh.accounts, key=lambda a: a.taxable)
        action = "sell to target" if decision.rebalance_to is RebalanceTo.TARGET else "sell to band"
        for i in np.flatnonzero(delta < -_EPS):
            sym = symbols[i]
            sources = (
                [(acc.id, book.held(acc.id, sym)) for acc in order]
                if tax is None
                else tax.sell_sources(
                    book.open_lots or group_lots(holdings.lots), book.qty, sym, -delta[i], price[i]
                )
            )
            for acc_id, have in sources:
                if delta[i] >= -_EPS:
                    break
                if have <= _EPS:
                    continue
                q = _source_quantity(
                    -delta[i], price[i], rules.fractional, book.held(acc_id, sym), have
                )
                if is_dust(q, q * price[i], floor):
                    continue
                if book.sell(acc_id, sym, q, why(sym, action)) > 0:
                    delta[i] += q * price[i]

    # 3. Buys from each account's spendable cash, most underweight first.
    cash_goal = float(desired[-1])  # the cash the plan means to keep (its goal when to target)
    total_cash = sum(book.cash.values()) - sum(withdrawals.values())
    spendable: dict[str, float] = {}
    for acc in hh.accounts:
        free_cash = book.cash[acc.id] - withdrawals.get(acc.id, 0.0)
        if triggered:
            keep = cash_goal * (free_cash / total_cash) if total_cash > _EPS else 0.0
            spendable[acc.id] = max(0.0, free_cash - rules.cash_reserve - max(keep, 0.0))
        else:  # only new money is spent, in its own account
            room = min(free_cash - rules.cash_reserve, money[acc.id])
            spendable[acc.id] = max(0.0, room)
    wanted = np.maximum(delta, 0.0)
    if triggered and decision.rebalance_to is RebalanceTo.TARGET:
        action = "buy to target"
    elif triggered:
        action = "buy toward target"
    elif deposits:
        action = "buy with the deposit (most underweight first)"
    elif invest_idle:
        action = "buy with idle cash (cash-flow policy, most underweight first)"
    else:
        action = "buy with cash freed by the withdrawal sells"
    total_spendable = sum(spendable.values())
    cost_rate = 1.0 + rules.spread_bps * 1e-4
    n_buys = int((wanted > _EPS).sum())
    need_cash = wanted.sum() * cost_rate + n_buys * rules.commission
    if need_cash > total_spendable and need_cash > 0:
        wanted *= max(0.0, total_spendable - n_buys * rules.commission) / (wanted.sum() * cost_rate)
    passes = (
        ((i, None) for i in np.argsort(-wanted, kind="stable"))
        if tax is None
        else tax.buy_passes(symbols, wanted)
    )
    for i, rank in passes:
        if wanted[i] <= _EPS:
            continue
        choice, note = (symbols[i], "") if tax is None else tax.buy_symbol(symbols[i], wanted[i])
        if choice is None:
            continue
        sym = choice
        p = prices[sym]
        accounts = (
            sorted(
                hh.accounts,
                key=lambda a, s=sym: (book.held(a.id, s) <= 0, -spendable[a.id]),  # type: ignore[misc]
            )
            if tax is None
            else tax.buy_accounts(sym, hh.accounts, book.qty, spendable, rank)
        )
        for acc in accounts:
            if wanted[i] <= _EPS:
                break
            budget = spendable[acc.id] - rules.commission
            if budget <= _EPS:
                continue
            value = min(wanted[i], budget / cost_rate)
            q = value / p
            if not rules.fractional:
                q = float(math.floor(q + 1e-9))
            if is_dust(q, q * p, floor):
                continue
            reason = why(symbols[i], action) + (f"; {note}" if note else "")
            spendable[acc.id] -= book.buy(acc.id, sym, q, reason)
            wanted[i] -= q * p

    # 4. Whole shares leave cash over: top up what is furthest below its goal (in shares),
    #    to within half a share of the goal, while the cash lasts; then (TOPUP_RULE
    #    "marginal") one more share of whatever most lowers the tracking error, cash included.
    if not rules.fractional and (triggered or net_flow > 0 or idle > 0):
        for _ in range(3):
            now = np.array([sum(book.held(a.id, s) for a in hh.accounts) for s in symbols])
            short_shares = (desired[:-1] - now * price) / price
            bought_any = False
            for k in np.argsort(-short_shares, kind="stable"):
                if short_shares[k] < 0.5:
                    break
                if tax is not None and tax.blocked(symbols[k]) is not None:
                    continue
                acc = max(hh.accounts, key=lambda a: spendable[a.id])
                unit = price[k] * cost_rate
                n = min(
                    math.floor(short_shares[k] + 0.5),
                    math.floor((spendable[acc.id] - rules.commission) / unit + 1e-9),
                )
                if n < 1 or (book.bought(acc.id, symbols[k]) + n) * price[k] < floor:
                    continue
                spendable[acc.id] -= book.buy(acc.id, symbols[k], float(n), why(symbols[k], action))
                bought_any = True
            if not bought_any:
                break
        if TOPUP_RULE == "marginal":  # then one share at a time while it lowers the error
            for _ in range(4 * len(symbols) + 8):
                acc = max(hh.accounts, key=lambda a: spendable[a.id])
                now = np.array([sum(book.held(a.id, s) for a in hh.accounts) for s in symbols])
                err = (now * price - desired[:-1]).tolist()
                cash_err = sum(book.cash.values()) - sum(withdrawals.values()) - float(desired[-1])
                units: list[float] = []
                allowed: list[bool] = []
                for k, s in enumerate(symbols):
                    bought = book.bought(acc.id, s)
                    unit = float(price[k]) * cost_rate + (0.0 if bought > 0 else rules.commission)
                    units.append(unit)
                    allowed.append(
                        unit <= spendable[acc.id] + 1e-9
                        and (bought + 1.0) * float(price[k]) >= floor
                        and (tax is None or tax.blocked(s) is None)
                    )
                k = best_extra_share(err, price.tolist(), cash_err, units, allowed)
                if k is None:
                    break
                spendable[acc.id] -= book.buy(acc.id, symbols[k], 1.0, why(symbols[k], action))

    trades = _merge(book.trades)
    after = apply_trades(
        holdings,
        trades,
        as_of,
        [(f.account, f.amount) for f in flows],
    )
    if tax is not None:
        trades, after, notes = tax.settle(trades, after)
        book.warnings.extend(notes)
    unmet = unmet_withdrawals(after, withdrawals, book.warnings)
    return finish_plan(
        hh,
        holdings,
        after,
        trades,
        prices,
        as_of,
        decision,
        names,
        target_w,
        weights_before,
        total_before,
        book.warnings,
        unmet,
        targets,
    )


def _merge(trades: list[Trade]) -> list[Trade]:
    """Trades in a stable order: sells before buys, as a broker would send them."""
    return [t for t in trades if t.side is Side.SELL] + [t for t in trades if t.side is Side.BUY]
