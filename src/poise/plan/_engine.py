"""The one rebalancing engine: from a decision to trades, per account, lot by lot.

Timing: the plan for day *t* uses the closes of *t* and fills every trade at them; costs are
paid from the trading account's cash and a buy's cost is added to its lot's basis.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import reduce
from itertools import compress, repeat
from operator import add, attrgetter, itemgetter, not_
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
    Reason,
    ReasonKind,
    Side,
    Trade,
    TradingRules,
)
from poise.plan._apply import apply_trades, holdings_after_sells
from poise.plan._finish import finish_plan, fmt_money, unmet_withdrawals
from poise.plan._flows import CashFlow
from poise.plan._orders import is_dust, order_floor, sell_covers_cost, uncovered_sell_note
from poise.plan._sizing import best_extra_share, desired_values, level_fill
from poise.plan._taxaware import TaxAware, fold_substitutes, group_context
from poise.policy import Decision, LabelledHistory, PolicyContext, RebalanceTo, aligned_history
from poise.tax import Transaction, select_lots
from poise.tax._lots import long_term_cutoff

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["plan_rebalance"]

_EPS = 1e-9
_SALE_FIELDS = tuple(f.name for f in fields(LotSale))
_USE_KERNEL = True  # False forces the general path (tests compare the two)
TOPUP_RULE = "marginal"
"""Whole-share top-up after the buys: ``"marginal"`` (the half-share top-up, then one share
at a time while it lowers the tracking error, cash included), ``"local"`` (as marginal, and
also one share fewer of a buy while that lowers it, until neither move does: no plan one
share away tracks better) or ``"half_share"`` (the earlier rule alone, kept for the study in
``benchmarks/whole_shares.py``). ``"local"`` is the general path's only: the array kernel
(``_kernel.py``, ``_compiled.py``) plans ``"marginal"``, so it becomes the default when
they follow it."""


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

    def held_per_symbol(self, symbols: Sequence[str]) -> np.ndarray:
        """Shares of each of ``symbols`` held across the accounts (in the household's order,
        summed as ``sum(held(a, s) for a in accounts)`` is), shape (len(symbols),)."""
        get, ids = self.qty.get, [a.id for a in self.household.accounts]
        return np.array([sum([get((a, s), 0.0) for a in ids]) for s in symbols])

    def sell(self, account: str, symbol: str, quantity: float, reason: Reason) -> float:
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

    def buy(self, account: str, symbol: str, quantity: float, reason: Reason) -> float:
        """Record a buy, merged into an earlier buy of the same symbol in the same account;
        returns the extra cash it uses, cost included."""
        price = self.prices[symbol]
        self.qty[(account, symbol)] = self.held(account, symbol) + quantity
        before = self.cash.get(account, 0.0)
        earlier = self.buys.pop((account, symbol), None)
        why: Reason | None = reason
        if earlier is not None:
            self.cash[account] = before - earlier.cash_change
            quantity += earlier.quantity
            why = earlier.why
        trade = Trade(
            account,
            symbol,
            Side.BUY,
            quantity,
            price,
            self.household.trading.cost(quantity * price),
            str(why) if earlier is None else earlier.reason,
            why=why,
        )
        self.buys[(account, symbol)] = trade
        self.cash[account] = self.cash.get(account, 0.0) + trade.cash_change
        return before - self.cash[account]

    def unbuy(self, account: str, symbol: str) -> float:
        """One share fewer of this plan's buy of ``symbol`` in ``account`` (the buy dropped
        when none is left); returns the cash it gives back, cost included."""
        key = (account, symbol)
        earlier = self.buys[key]
        self.qty[key] = self.held(account, symbol) - 1.0
        before = self.cash[account]
        self.cash[account] = before - earlier.cash_change
        quantity = earlier.quantity - 1.0
        if quantity <= 1e-9:
            del self.buys[key]
        else:
            price = earlier.price
            trade = replace(
                earlier, quantity=quantity, cost=self.household.trading.cost(quantity * price)
            )
            self.buys[key] = trade
            self.cash[account] += trade.cash_change
        return self.cash[account] - before

    def bought(self, account: str, symbol: str) -> float:
        """Shares of ``symbol`` already being bought in ``account`` by this plan."""
        earlier = self.buys.get((account, symbol))
        return earlier.quantity if earlier is not None else 0.0

    def lots_of(self, account: str, symbol: str) -> list[Lot]:
        """The open lots of one position, as this plan's sells leave them (the holdings'
        group, copied on first use)."""
        key = (account, symbol)
        lots = self.open_lots.get(key)
        if lots is None:
            group = self.holdings.groups().get(key)
            if group is None:
                return []
            lots = self.open_lots[key] = list(group)
        return lots

    def _sell_trade(
        self, account: str, symbol: str, quantity: float, reason: str | Reason
    ) -> Trade:
        hh = self.household
        price = self.prices[symbol]
        value = quantity * price
        cost = hh.trading.cost(value)
        lots = self.lots_of(account, symbol)
        chosen = (
            select_lots(lots, quantity, hh.tax.lot_method, price, self.as_of, hh.tax)
            if self.tax is None
            else self.tax.select(lots, quantity, price)
        )
        sales, short_term, long_term, left = lot_sales(
            chosen, quantity, value, cost, self.as_of, hh.account(account).taxable
        )
        if left:  # one pass over the position's lots, not one search per lot sold
            lots[:] = list(filter(None, map(left.get, map(id, lots), lots)))  # None: sold
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


_BULK = 48  # sells of this many lots or more are costed with arrays
_NEW = object.__new__
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_QUANTITY, _COST_BASIS, _ACQUIRED = (
    attrgetter("quantity"),
    attrgetter("cost_basis"),
    attrgetter("acquired"),
)
_SET_SALE = tuple(LotSale.__dict__[name].__set__ for name in _SALE_FIELDS)


def lot_sales(
    chosen: Sequence[tuple[Lot, float]],
    quantity: float,
    value: float,
    cost: float,
    as_of: date,
    taxable: bool,
) -> tuple[list[LotSale], float, float, dict[int, Lot | None]]:
    """The ``LotSale`` of each (lot, shares) ``chosen`` for a sell of ``quantity`` shares
    worth ``value`` at a trade cost of ``cost`` (shared among the lots by quantity), the
    realized short- and long-term gains (0 unless ``taxable``, summed in ``chosen`` order),
    and what is left of each lot sold (None when it is sold whole), by ``id`` of the lot.

    Many lots are costed with arrays, in the same IEEE operations as one at a time, so the
    figures are the same to the bit.
    """
    cutoff = long_term_cutoff(as_of)
    short_term = long_term = 0.0
    left: dict[int, Lot | None] = {}
    if len(chosen) < _BULK:
        sales: list[LotSale] = []
        for lot, take in chosen:
            share = take / quantity
            proceeds = value * share - cost * share
            basis = lot.basis_per_share * take
            gain = proceeds - basis
            long = lot.acquired <= cutoff
            sales.append(LotSale(lot, take, proceeds, basis, gain, long))
            left[id(lot)] = None if take >= lot.quantity - 1e-12 else lot.take(take)[1]
            if taxable:
                if long:
                    long_term += gain
                else:
                    short_term += gain
        return sales, short_term, long_term, left
    lots = list(map(_FIRST, chosen))
    takes = list(map(_SECOND, chosen))
    take_a = np.array(takes, dtype=float)
    held = np.array(list(map(_QUANTITY, lots)), dtype=float)
    basis_total = np.array(list(map(_COST_BASIS, lots)), dtype=float)
    shares = take_a / quantity
    proceeds_a = value * shares - cost * shares
    per_share = np.zeros_like(held)
    np.divide(basis_total, held, out=per_share, where=held != 0)
    basis_a = per_share * take_a
    gain_a = proceeds_a - basis_a
    longs = list(map(cutoff.__ge__, map(_ACQUIRED, lots)))  # acquired <= cutoff
    gains = gain_a.tolist()
    if taxable:  # summed in order, one addition at a time, as the per-lot loop
        long_term = reduce(add, compress(gains, longs), 0.0)
        short_term = reduce(add, compress(gains, map(not_, longs)), 0.0)
    columns: dict[str, Iterable[object]] = {
        "lot": lots,
        "quantity": takes,
        "proceeds": proceeds_a.tolist(),
        "basis": basis_a.tolist(),
        "gain": gains,
        "long_term": longs,
        "washed": repeat(0.0),
    }
    sales = list(map(_NEW, repeat(LotSale, len(lots))))
    for name, setter in zip(_SALE_FIELDS, _SET_SALE, strict=True):
        deque(map(setter, sales, columns[name]), maxlen=0)  # set in C, as __init__ would
    left = dict(zip(map(id, lots), repeat(None)))
    for i in np.flatnonzero(take_a < held - 1e-12).tolist():  # lots sold in part
        left[id(lots[i])] = lots[i].take(takes[i])[1]
    return sales, short_term, long_term, left


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
    grossed = rules.costs.value_to_raise(need, 0)
    for _ in range(2):
        amounts = level_fill(over, grossed, caps)
        count = int((amounts > _EPS).sum())
        grossed = rules.costs.value_to_raise(need, count)
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


@dataclass(frozen=True, slots=True)
class _Start:
    """The household before the plan, by symbol: ``names`` are ``symbols`` then CASH, and
    ``price``, ``held`` (shares over all accounts) follow ``symbols``; ``values``,
    ``target_w`` and ``weights_before`` follow ``names``."""

    symbols: list[str]
    names: tuple[str, ...]
    position: dict[str, int]
    price: np.ndarray
    qty: dict[tuple[str, str], float]
    cash: dict[str, float]
    held: np.ndarray
    values: np.ndarray
    total_before: float
    target_w: np.ndarray
    weights_before: np.ndarray


@dataclass(frozen=True, slots=True)
class _Flows:
    """Today's flows and the values the plan steers to.

    ``deposits`` and ``withdrawn`` are positive amounts per account; ``goal`` is each asset's
    target value after the flows and ``desired`` the value it should end at (both cash last);
    ``invest_idle``: a cash-flow policy invests the cash already held; ``idle`` is that cash.
    """

    triggered: bool
    net_flow: float
    deposits: dict[str, float]
    withdrawn: dict[str, float]
    invest_idle: bool
    idle: float
    goal: np.ndarray
    desired: np.ndarray


@dataclass(frozen=True, slots=True)
class _Why:
    """Words each trade's reason from the symbol's weight before the plan, its target and
    band."""

    start: _Start
    bands: np.ndarray | None

    def __call__(self, symbol: str, kind: ReasonKind, action: str, note: str = "") -> Reason:
        i = self.start.position[symbol]
        band = None if self.bands is None else float(self.bands[i])
        weight = float(self.start.weights_before[i])
        return Reason(kind, action, symbol, weight, float(self.start.target_w[i]), band, note)


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

    Raises
    ------
    InputError
        A flow into an unknown account (``--account``), a held or targeted symbol without a
        price (``prices``), or withdrawals above the household's value (``withdraw.amount``).
    """
    hh = household
    if transactions is None and any(a.taxable for a in hh.accounts):
        transactions = ()  # the lots' own purchase dates and today's trades always count
    policy_targets = dict(targets if targets is not None else hh.targets)
    tax = TaxAware.build(hh, holdings, prices, as_of, transactions)
    targets = policy_targets
    if hh.harvest.substitutes:
        targets = fold_substitutes(hh, targets, holdings, prices)
    _check_flows(hh, flows)
    start = _start(hh, holdings, prices, as_of, targets)
    if decision is None:
        decision = _decide(hh, start, as_of, policy_targets, last_rebalanced, previous_day, history)
    if force and not decision.triggered:
        decision = _forced(decision)
    if hh.plan_method is PlanMethod.OPTIMIZE:
        from poise.plan._optimize import optimize_plan

        return optimize_plan(
            hh, holdings, prices, as_of, targets, decision, flows, transactions=transactions
        )
    if _USE_KERNEL:  # one tax-advantaged account: lots and taxes cannot matter (_kernel.py)
        from poise.plan._kernel import kernel_serves

        if kernel_serves(hh, holdings, transactions):
            return _kernel_plan(hh, holdings, prices, as_of, start, decision, flows)
    return _general_plan(hh, holdings, prices, as_of, start, decision, flows, tax, targets)


def _forced(decision: Decision) -> Decision:
    """``decision`` made to rebalance to target (``force``), its reasons kept after the
    forcing one."""
    return Decision(
        True,
        ("forced rebalance (--force)", *decision.reasons),
        RebalanceTo.TARGET,
        decision.half_bands,
    )


def _kernel_plan(
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    start: _Start,
    decision: Decision,
    flows: Sequence[CashFlow],
) -> Plan:
    """The plan of the array kernel (``_kernel.py``), for a household it serves."""
    from poise.plan._kernel import kernel_plan

    s = start
    cash_now = s.cash[hh.accounts[0].id]
    return kernel_plan(
        hh, holdings, prices, as_of, s.names, s.price, s.held, cash_now, s.target_w,
        s.weights_before, s.total_before, decision, flows,
    )  # fmt: skip


def _check_flows(household: Household, flows: Sequence[CashFlow]) -> None:
    for flow in flows:
        if flow.account not in household.account_ids:
            raise InputError(
                f"unknown account {flow.account!r}; use one of {', '.join(household.account_ids)}",
                field="--account",
            )


def _start(
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    targets: Mapping[str, float],
) -> _Start:
    """The targeted symbols (then the held ones without a target), their prices, holdings,
    values and weights before the plan; refuses a symbol without a finite price."""
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
    return _Start(
        symbols, names, position, price, qty, cash, held, values, total_before, target_w,
        weights_before,
    )  # fmt: skip


def _decide(
    hh: Household,
    start: _Start,
    as_of: date,
    policy_targets: Mapping[str, float],
    last_rebalanced: date | None,
    previous_day: date | None,
    history: pd.DataFrame | LabelledHistory | None,
) -> Decision:
    """The household policy's decision on the weights before the plan (a held substitute
    counts in its primary's drift)."""
    names = start.names
    prices_by_name = None if history is None else aligned_history(history, names)
    context = PolicyContext(
        as_of,
        names,
        start.weights_before,
        start.target_w,
        last_rebalanced,
        previous_day,
        prices_by_name,
    )
    if hh.harvest.substitutes:
        context = group_context(context, hh, policy_targets)
    return hh.policy.decide(context)


def _general_plan(
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    start: _Start,
    decision: Decision,
    flows: Sequence[CashFlow],
    tax: TaxAware | None,
    targets: Mapping[str, float],
) -> Plan:
    """The plan, step by step: withdrawals, rebalancing sells, buys, whole-share top-ups."""
    fl, money = _flows(hh, start, decision, flows, tax)
    book = _Book(hh, prices, as_of, holdings, dict(start.qty), dict(start.cash), tax=tax)
    delta = fl.desired[:-1] - start.held * start.price  # value to buy (+) or sell (-)
    why = _Why(start, decision.half_bands)
    _fund_withdrawals(book, start, fl, delta, money, why)
    if fl.triggered:
        _rebalancing_sells(book, start, decision, delta, why)
    spendable = _spendable(book, fl, money)
    kind, action = _buy_action(fl, decision)
    _buys(book, start, delta, spendable, lambda sym, note: why(sym, kind, action, note))
    rules = hh.trading
    if not rules.fractional and (fl.triggered or fl.net_flow > 0 or fl.idle > 0):

        def reason(sym: str) -> Reason:
            return why(sym, kind, action)

        _top_up_half_shares(book, start, fl, spendable, reason)
        if TOPUP_RULE in ("marginal", "local"):
            _top_up_marginal(book, start, fl, spendable, reason, local=TOPUP_RULE == "local")
    return _settle(book, start, decision, flows, fl, targets)


def _flows(
    hh: Household,
    start: _Start,
    decision: Decision,
    flows: Sequence[CashFlow],
    tax: TaxAware | None,
) -> tuple[_Flows, dict[str, float]]:
    """Today's flows, the values to steer to, and the new money each account may invest when
    the policy does not rebalance (its deposits, or for a cash-flow policy all its cash above
    the reserve); refuses withdrawals above the household's value."""
    rules = hh.trading
    triggered = decision.triggered and decision.sells_allowed
    net_flow = float(sum(f.amount for f in flows))
    total_after_flow = start.total_before + net_flow
    if total_after_flow < -_EPS:
        raise InputError(
            f"withdrawals of {fmt_money(-net_flow)} exceed the household's total value "
            f"{fmt_money(start.total_before)}",
            field="withdraw.amount",
        )
    goal = start.target_w * total_after_flow
    deposits = _by_account(f for f in flows if f.amount > 0)
    withdrawals = _by_account(f for f in flows if f.amount < 0)
    invest_idle = not triggered and decision.invest_idle and not withdrawals
    money = {
        a: max(0.0, start.cash[a] + deposits.get(a, 0.0) - rules.cash_reserve)
        if invest_idle
        else deposits.get(a, 0.0)
        for a in hh.account_ids
    }
    idle = sum(money.values()) - net_flow if invest_idle else 0.0
    desired = desired_values(
        start.values,
        start.target_w,
        net_flow,
        triggered=triggered,
        to_target=decision.rebalance_to is RebalanceTo.TARGET,
        half_bands=decision.half_bands,
        idle=idle,
    )
    if tax is not None:  # what may not be bought (wash sale, no free substitute) is held
        desired = tax.hold_blocked(start.symbols, desired, start.values)
    withdrawn = {a: -w for a, w in withdrawals.items()}
    fl = _Flows(triggered, net_flow, deposits, withdrawn, invest_idle, idle, goal, desired)
    return fl, money


def _fund_withdrawals(
    book: _Book,
    start: _Start,
    fl: _Flows,
    delta: np.ndarray,
    money: dict[str, float],
    why: _Why,
) -> None:
    """Deposits land in their accounts; each withdrawal raises its cash in its own account,
    selling what is most overweight (above its goal when rebalancing; else above its goal
    after the flows). ``delta`` and ``money`` are updated in place."""
    hh, rules = book.household, book.household.trading
    symbols, price = start.symbols, start.price
    for account, amount in fl.deposits.items():
        book.cash[account] += amount
    for account, amount in fl.withdrawn.items():
        need = amount + rules.cash_reserve - book.cash[account]
        if need <= _EPS:
            continue
        caps = np.array([book.held(account, s) * book.prices[s] for s in symbols])
        if fl.triggered:
            over = -delta
        else:
            now = np.array([sum(book.held(a, s) for a in hh.account_ids) for s in symbols])
            over = now * price - fl.goal[:-1]
        amounts = _withdrawal_sells(over, need, caps, rules)
        action = f"sell to fund the withdrawal of {fmt_money(amount)} from {account}"
        raised = 0.0
        for i in np.flatnonzero(amounts > _EPS):
            sym = symbols[i]
            q = amounts[i] / price[i]
            if not rules.fractional:
                q = float(min(math.ceil(q - 1e-9), book.held(account, sym)))
            raised += book.sell(account, sym, q, why(sym, ReasonKind.WITHDRAW, action))
            delta[i] += q * price[i]
        money[account] += max(0.0, raised - need)  # whole shares raise a little more


def _rebalancing_sells(
    book: _Book, start: _Start, decision: Decision, delta: np.ndarray, why: _Why
) -> None:
    """Sell what is above its desired value: tax-free and tax-deferred accounts first, then
    taxable ones (or in the tax-aware order). ``delta`` is updated in place."""
    hh, tax = book.household, book.tax
    rules, floor = hh.trading, order_floor(hh.trading)
    order = sorted(hh.accounts, key=lambda a: a.taxable)
    if decision.rebalance_to is RebalanceTo.TARGET:
        kind, action = ReasonKind.TO_TARGET, "sell to target"
    else:
        kind, action = ReasonKind.TO_BAND, "sell to band"
    price = start.price
    for i in np.flatnonzero(delta < -_EPS):
        sym = start.symbols[i]
        sources = (
            [(acc.id, book.held(acc.id, sym)) for acc in order]
            if tax is None
            else tax.sell_sources(
                {(a.id, sym): book.lots_of(a.id, sym) for a in hh.accounts},
                book.qty,
                sym,
                -delta[i],
                price[i],
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
            if book.sell(acc_id, sym, q, why(sym, kind, action)) > 0:
                delta[i] += q * price[i]


def _spendable(book: _Book, fl: _Flows, money: Mapping[str, float]) -> dict[str, float]:
    """The cash each account may spend on buys: when rebalancing, all above its reserve and
    its share of the cash the plan keeps; else only its new money."""
    rules = book.household.trading
    cash_goal = float(fl.desired[-1])  # the cash the plan means to keep
    total_cash = sum(book.cash.values()) - sum(fl.withdrawn.values())
    spendable: dict[str, float] = {}
    for acc in book.household.accounts:
        free_cash = book.cash[acc.id] - fl.withdrawn.get(acc.id, 0.0)
        if fl.triggered:
            keep = cash_goal * (free_cash / total_cash) if total_cash > _EPS else 0.0
            spendable[acc.id] = max(0.0, free_cash - rules.cash_reserve - max(keep, 0.0))
        else:  # only new money is spent, in its own account
            room = min(free_cash - rules.cash_reserve, money[acc.id])
            spendable[acc.id] = max(0.0, room)
    return spendable


def _buy_action(fl: _Flows, decision: Decision) -> tuple[ReasonKind, str]:
    """Why today's buys are made, as a kind and in words."""
    if fl.triggered and decision.rebalance_to is RebalanceTo.TARGET:
        return ReasonKind.TO_TARGET, "buy to target"
    if fl.triggered:
        return ReasonKind.TO_BAND, "buy toward target"
    if fl.deposits:
        return ReasonKind.DEPOSIT, "buy with the deposit (most underweight first)"
    if fl.invest_idle:
        return ReasonKind.IDLE_CASH, "buy with idle cash (cash-flow policy, most underweight first)"
    return ReasonKind.FREED_CASH, "buy with cash freed by the withdrawal sells"


def _buys(
    book: _Book,
    start: _Start,
    delta: np.ndarray,
    spendable: dict[str, float],
    reason: Callable[[str, str], Reason],
) -> None:
    """Buy what is below its desired value from each account's spendable cash, most
    underweight first, scaled down together when the cash does not cover them all.
    ``spendable`` is updated in place; ``reason(symbol, note)`` words each buy."""
    hh, tax = book.household, book.tax
    rules, costs, floor = hh.trading, hh.trading.costs, order_floor(hh.trading)
    symbols = start.symbols
    wanted = np.maximum(delta, 0.0)
    total_spendable = sum(spendable.values())
    n_buys = int((wanted > _EPS).sum())
    need_cash = costs.cash_needed(wanted.sum(), n_buys)
    if need_cash > total_spendable and need_cash > 0:
        wanted *= costs.affordable_fraction(wanted.sum(), total_spendable, n_buys)
    passes = (
        ((i, None) for i in np.argsort(-wanted, kind="stable"))
        if tax is None
        else tax.buy_passes(symbols, wanted)
    )
    for i, rank in passes:
        if wanted[i] <= _EPS:
            continue
        sym, note = (symbols[i], "") if tax is None else tax.buy_symbol(symbols[i], wanted[i])
        if sym is None:
            continue
        p = book.prices[sym]
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
            if costs.room(spendable[acc.id]) <= _EPS:
                continue
            value = min(wanted[i], costs.affordable_value(spendable[acc.id]))
            q = value / p
            if not rules.fractional:
                q = float(math.floor(q + 1e-9))
            if is_dust(q, q * p, floor):
                continue
            spendable[acc.id] -= book.buy(acc.id, sym, q, reason(symbols[i], note))
            wanted[i] -= q * p


def _top_up_half_shares(
    book: _Book,
    start: _Start,
    fl: _Flows,
    spendable: dict[str, float],
    reason: Callable[[str], Reason],
) -> None:
    """Whole shares leave cash over: top up what is furthest below its goal (in shares), to
    within half a share of the goal, while the cash lasts (three passes at most)."""
    hh, tax = book.household, book.tax
    costs, floor = hh.trading.costs, order_floor(hh.trading)
    symbols, price = start.symbols, start.price
    for _ in range(3):
        now = book.held_per_symbol(symbols)
        short_shares = (fl.desired[:-1] - now * price) / price
        bought_any = False
        for k in np.argsort(-short_shares, kind="stable"):
            if short_shares[k] < 0.5:
                break
            if tax is not None and tax.blocked(symbols[k]) is not None:
                continue
            acc = max(hh.accounts, key=lambda a: spendable[a.id])
            n = min(
                math.floor(short_shares[k] + 0.5),
                costs.affordable_shares(spendable[acc.id], price[k]),
            )
            if n < 1 or (book.bought(acc.id, symbols[k]) + n) * price[k] < floor:
                continue
            spendable[acc.id] -= book.buy(acc.id, symbols[k], float(n), reason(symbols[k]))
            bought_any = True
        if not bought_any:
            break


def _top_up_marginal(
    book: _Book,
    start: _Start,
    fl: _Flows,
    spendable: dict[str, float],
    reason: Callable[[str], Reason],
    *,
    local: bool = False,
) -> None:
    """Then one more share at a time, of whatever most lowers the tracking error (cash
    included), while one does. ``local``: when no share does, one share fewer of the buy
    whose reduction most lowers it, then shares again, until neither move does (the error
    falls at every move, so this ends; a share bought early for a large fall may no longer
    pay once later shares have spent the cash)."""
    hh, tax = book.household, book.tax
    costs, floor = hh.trading.costs, order_floor(hh.trading)
    symbols, price = start.symbols, start.price
    for _ in range(4 * len(symbols) + 8 if not local else 100 * len(symbols) + 10_000):
        acc = max(hh.accounts, key=lambda a: spendable[a.id])
        now = book.held_per_symbol(symbols)
        err = (now * price - fl.desired[:-1]).tolist()
        cash_err = sum(book.cash.values()) - sum(fl.withdrawn.values()) - float(fl.desired[-1])
        units: list[float] = []
        allowed: list[bool] = []
        for k, s in enumerate(symbols):
            bought = book.bought(acc.id, s)
            unit = costs.cash_needed(float(price[k]), 0 if bought > 0 else 1)
            units.append(unit)
            allowed.append(
                unit <= spendable[acc.id] + 1e-9
                and (bought + 1.0) * float(price[k]) >= floor
                and (tax is None or tax.blocked(s) is None)
            )
        best = best_extra_share(err, price.tolist(), cash_err, units, allowed)
        if best is not None:
            spendable[acc.id] -= book.buy(acc.id, symbols[best], 1.0, reason(symbols[best]))
            continue
        fewer = _one_share_fewer(book, start, err, cash_err, floor) if local else None
        if fewer is None:
            break
        account, k = fewer
        spendable[account] += book.unbuy(account, symbols[k])


def _one_share_fewer(
    book: _Book, start: _Start, err: list[float], cash_err: float, floor: float
) -> tuple[str, int] | None:
    """The buy (account, symbol index) one share fewer of which most lowers the squared
    tracking error Σ err² + cash_err² (its value less one share, its cash back), or None."""
    best, found = -1e-9, None
    for (account, symbol), trade in book.buys.items():
        k = start.position.get(symbol, len(err))
        if k >= len(err):  # a substitute bought in a target's place: not in the error
            continue
        p, q = trade.price, trade.quantity
        if q < 1.0 - 1e-9 or (q - 1.0 > 1e-9 and (q - 1.0) * p < floor):
            continue
        rest = q - 1.0
        back = -trade.cash_change - (
            rest * p + book.household.trading.cost(rest * p) if rest > 1e-9 else 0.0
        )
        e, c = err[k], cash_err
        delta = (e - p) * (e - p) - e * e + (c + back) * (c + back) - c * c
        if delta < best:
            best, found = delta, (account, k)
    return found


def _settle(
    book: _Book,
    start: _Start,
    decision: Decision,
    flows: Sequence[CashFlow],
    fl: _Flows,
    targets: Mapping[str, float],
) -> Plan:
    """The holdings after the trades (wash sales settled), unmet withdrawals, the plan."""
    hh, holdings, as_of = book.household, book.holdings, book.as_of
    trades = _merge(book.trades)
    moves = [(f.account, f.amount) for f in flows]
    after = (
        holdings_after_sells(holdings, book.open_lots, trades, as_of, moves)
        if book.sells
        else apply_trades(holdings, trades, as_of, moves)
    )
    if book.tax is not None:
        trades, after, notes = book.tax.settle(trades, after)
        book.warnings.extend(notes)
    unmet = unmet_withdrawals(after, fl.withdrawn, book.warnings)
    s = start
    return finish_plan(
        hh, holdings, after, trades, book.prices, as_of, decision, s.names, s.target_w,
        s.weights_before, s.total_before, book.warnings, unmet, targets,
    )  # fmt: skip


def _merge(trades: list[Trade]) -> list[Trade]:
    """Trades in a stable order: sells before buys, as a broker would send them."""
    return [t for t in trades if t.side is Side.SELL] + [t for t in trades if t.side is Side.BUY]
