"""The plan's array kernel: the same decisions as ``plan_rebalance``, on numpy arrays.

When lots and taxes cannot change a plan, the engine's choices depend only on quantities,
prices, cash and the rules. That is the case for a household with **one** account that is
tax-deferred or tax-free, the heuristic plan, no wash-sale input, no harvesting or
substitutes, no ``[risk]`` limits and no tax-aware lot or location choices
(``kernel_eligible``). For such a household ``plan_rebalance`` hands the work to
``plan_kernel`` and builds its ``Plan`` from the result (``kernel_plan``); the backtest calls
``plan_kernel`` directly on its arrays. There is still one engine: both doors run this code.

``plan_kernel`` reproduces the engine's steps and its arithmetic, in the same order:

1. the value each asset should end at (to target, to band, or cash flows water-filled);
2. withdrawal sells, most overweight first (``level_fill``), grossed up for costs;
3. rebalancing sells (when triggered), whole shares rounded as the engine rounds them;
4. buys from spendable cash (cash goal and reserve kept), most underweight first, scaled
   down when the cash cannot cover them and their costs;
5. with whole shares, top-ups toward the goals while the cash lasts.

Its inputs and outputs are arrays; inside, the steps that chain (each trade changes the cash
the next one sees) run element by element in the engine's order, so that the results are
the engine's to the last bit (tested with hypothesis). Steps 1-2 are here; steps 3-5 are
``poise.plan._compiled.trade_steps``, the same code the backtest's compiled loop runs
(compiled by numba when the ``fast`` extra is installed, else run as Python).

Timing as in the engine: everything fills at the closes given (day *t*).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

import numpy as np

from poise._errors import InputError
from poise.model import (
    Holdings,
    Household,
    LotMethod,
    Plan,
    PlanMethod,
    Reason,
    ReasonKind,
    Side,
    Trade,
    TradingRules,
)
from poise.plan import _compiled, _engine
from poise.plan._apply import apply_trades
from poise.plan._engine import _EPS, _Book, _withdrawal_sells
from poise.plan._finish import finish_plan, fmt_money, unmet_withdrawals
from poise.plan._flows import CashFlow
from poise.plan._orders import (
    is_dust,
    order_floor,
    sell_covers_cost,
    uncovered_sell_note,
)
from poise.plan._sizing import desired_values
from poise.policy import Decision, RebalanceTo

__all__ = [
    "Action",
    "KernelPlan",
    "action_text",
    "kernel_eligible",
    "kernel_plan",
    "kernel_serves",
    "plan_kernel",
    "reason_texts",
]


class Action(IntEnum):
    """Why the kernel trades (the end of a trade's reason, see ``action_text``)."""

    WITHDRAWAL = 0
    SELL_TO_TARGET = 1
    SELL_TO_BAND = 2
    BUY_TO_TARGET = 3
    BUY_TOWARD_TARGET = 4
    BUY_DEPOSIT = 5
    BUY_FREED = 6
    BUY_IDLE = 7


_ACTION_TEXT = {
    Action.SELL_TO_TARGET: "sell to target",
    Action.SELL_TO_BAND: "sell to band",
    Action.BUY_TO_TARGET: "buy to target",
    Action.BUY_TOWARD_TARGET: "buy toward target",
    Action.BUY_DEPOSIT: "buy with the deposit (most underweight first)",
    Action.BUY_FREED: "buy with cash freed by the withdrawal sells",
    Action.BUY_IDLE: "buy with idle cash (cash-flow policy, most underweight first)",
}


_ACTION_KIND = {
    Action.WITHDRAWAL: ReasonKind.WITHDRAW,
    Action.SELL_TO_TARGET: ReasonKind.TO_TARGET,
    Action.SELL_TO_BAND: ReasonKind.TO_BAND,
    Action.BUY_TO_TARGET: ReasonKind.TO_TARGET,
    Action.BUY_TOWARD_TARGET: ReasonKind.TO_BAND,
    Action.BUY_DEPOSIT: ReasonKind.DEPOSIT,
    Action.BUY_FREED: ReasonKind.FREED_CASH,
    Action.BUY_IDLE: ReasonKind.IDLE_CASH,
}


def action_text(action: int, withdrawal: float = 0.0, account: str = "") -> str:
    """The words the engine puts after a trade's drift (``withdrawal``: the amount withdrawn
    from ``account``, for withdrawal sells)."""
    if action == Action.WITHDRAWAL:
        return f"sell to fund the withdrawal of {fmt_money(withdrawal)} from {account}"
    return _ACTION_TEXT[Action(action)]


_TENTHS = np.array([f"{k // 10}.{k % 10}" for k in range(1001)], dtype=object)  # "0.0" … "100.0"


def _one_decimal(percent: np.ndarray) -> np.ndarray:
    """``f"{x:.1f}"`` of each value (an object array), from a table wherever the table is
    provably exact.

    ``.1f`` rounds the exact binary value of x to one decimal (half to even). x × 10 computed
    in floating point is within 1e-12 of the exact product for x ≤ 100, so away from a
    rounding tie (more than 1e-9 from one) ``rint`` of it rounds the same way; ties, negative
    and large values are formatted one by one.
    """
    scaled = percent * 10.0
    tenths = np.rint(scaled)
    with np.errstate(invalid="ignore"):  # inf and nan are formatted one by one
        tie = np.abs(scaled - np.floor(scaled) - 0.5) <= 1e-9
    ok = ~tie & (tenths <= 1000.0) & ~np.signbit(scaled)
    out = _TENTHS[np.where(ok, tenths, 0.0).astype(np.int64)]
    for k in np.flatnonzero(~ok).tolist():
        out[k] = f"{percent[k]:.1f}"
    return out


def reason_texts(
    symbols: Sequence[str] | np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    bands: np.ndarray | None,
    actions: np.ndarray,
    action_texts: Sequence[str],
) -> list[str]:
    """``str(Reason(...))`` of many trades at once (the same strings, faster): trade k's
    symbol, weight before the plan, target, band half-width and action
    ``action_texts[actions[k]]``; ``bands`` None means no bands."""
    n = len(weights)
    if n == 0:
        return []
    if bands is None:
        bands = np.full(n, np.inf)
    # what follows the weight depends only on (target, band, action): worded once per distinct
    # combination of their bit patterns (so that -0.0 and 0.0 stay apart, as in the text)
    keys = np.empty((n, 3), dtype=np.int64)
    keys[:, 0] = np.ascontiguousarray(targets, dtype=float).view(np.int64)
    keys[:, 1] = np.ascontiguousarray(bands, dtype=float).view(np.int64)
    keys[:, 2] = actions
    _, first, inverse = np.unique(
        keys.view(np.dtype((np.void, 24))).ravel(), return_index=True, return_inverse=True
    )
    suffixes = np.empty(first.size, dtype=object)
    for u, k in enumerate(first.tolist()):  # Reason words it (its kind is not in the text)
        action = action_texts[actions[k]]
        text = str(
            Reason(ReasonKind.TO_TARGET, action, "", 0.0, float(targets[k]), float(bands[k]))
        )
        suffixes[u] = text[len(" 0.0") :]  # what follows the weight of 0.0
    head = np.asarray(symbols, dtype=object) + " "
    out: np.ndarray = head + _one_decimal(weights * 100) + suffixes[inverse.ravel()]
    return out.tolist()


@dataclass(frozen=True, slots=True)
class KernelPlan:
    """The kernel's trades, in the engine's order (sells as made, then buys), and the account
    after them.

    Trade ``k`` is a sell when ``k < n_sells``: ``index[k]`` is its symbol's position in the
    arrays given to ``plan_kernel``, ``quantity[k]`` its shares, ``cost[k]`` its commission
    plus spread and ``action[k]`` why (an ``Action``). ``held`` and ``cash`` are after every
    trade and flow (cash summed in the order ``apply_trades`` sums it; a sell within 1e-12
    shares of a whole position closes it, as ``Lot.take`` does). ``withdrawal`` is the amount
    withdrawn (positive), ``unmet`` what the cash falls short of it (0 when met), and
    ``total_value`` the account's value before the plan (the weights' denominator).
    ``uncovered`` lists the sells left out because their cost is at least their value
    (index, quantity, value, cost), for the plan's warnings.
    """

    index: list[int]
    quantity: list[float]
    cost: list[float]
    action: list[int]
    n_sells: int
    held: np.ndarray
    cash: float
    withdrawal: float
    unmet: float
    total_value: float
    uncovered: tuple[tuple[int, float, float, float], ...] = ()

    def __len__(self) -> int:
        return len(self.index)


def kernel_eligible(household: Household, transactions: object | None = None) -> bool:
    """Whether ``plan_kernel`` plans for ``household`` exactly as the engine's general path:
    one tax-deferred or tax-free account, the heuristic plan, no wash-sale input
    (``transactions``), no harvesting or substitutes, no ``[risk]`` limits, no tax-aware lot,
    deferral or location choices."""
    hh = household
    return (
        transactions is None
        and len(hh.accounts) == 1
        and not hh.accounts[0].taxable
        and hh.plan_method is PlanMethod.HEURISTIC
        and not hh.harvest.enabled
        and not hh.harvest.substitutes
        and hh.risk is None
        and hh.tax.lot_method not in (LotMethod.TAX_MIN, LotMethod.TAX_ORDER)
        and hh.tax.defer_days <= 0
        and not hh.location
    )


def kernel_serves(
    household: Household, holdings: Holdings, transactions: object | None = None
) -> bool:
    """``kernel_eligible``, and every lot and all cash are in the household's one account."""
    if not kernel_eligible(household, transactions):
        return False
    account = household.accounts[0].id
    return all(lot.account == account for lot in holdings.lots) and all(
        a == account for a in holdings.cash
    )


def plan_kernel(
    held: np.ndarray,
    price: np.ndarray,
    cash: float,
    target_w: np.ndarray,
    rules: TradingRules,
    decision: Decision,
    flows: Sequence[float] = (),
) -> KernelPlan:
    """Plan one account's trades as ``plan_rebalance`` does for a ``kernel_eligible`` household.

    Parameters
    ----------
    held : ndarray
        Shares held per symbol (the engine's symbol order: targets, then held extras).
    price : ndarray
        Closes of those symbols on the plan's day; trades fill at them.
    cash : float
        The account's cash before flows and trades.
    target_w : ndarray
        Target weights of the symbols and, last, of cash.
    rules : TradingRules
        Fractional or whole shares, minimum trade, cash reserve, commission, spread.
    decision : Decision
        The policy's decision (``force`` already applied).
    flows : sequence of float
        Today's deposits (> 0) and withdrawals (< 0) into and out of the account, in order.

    Returns
    -------
    KernelPlan

    Raises
    ------
    InputError
        Withdrawals larger than the household's total value.
    """
    n = held.shape[0]
    held_value = held * price
    values = np.empty(n + 1)
    values[:n] = held_value
    values[n] = cash
    total_before = float(values.sum())
    triggered = decision.triggered and decision.sells_allowed
    to_target = decision.rebalance_to is RebalanceTo.TARGET
    net_flow = float(sum(flows))
    total_after_flow = total_before + net_flow
    if total_after_flow < -_EPS:
        raise InputError(
            f"withdrawals of {fmt_money(-net_flow)} exceed the household's total value "
            f"{fmt_money(total_before)}",
            field="withdraw.amount",
        )
    deposit, withdrawal, withdrawing, replay_cash = _flow_totals(cash, flows)
    invest_idle = not triggered and decision.invest_idle and not withdrawing
    money = max(0.0, cash + deposit - rules.cash_reserve) if invest_idle else deposit
    idle = money - net_flow if invest_idle else 0.0
    if triggered and to_target:  # the common case, inlined: every asset to its goal
        desired = target_w * total_after_flow
    else:
        desired = desired_values(
            values,
            target_w,
            net_flow,
            triggered=triggered,
            to_target=to_target,
            half_bands=decision.half_bands,
            idle=idle,
        )
    delta = desired[:n] - held_value  # value to buy (+) or sell (-) per symbol
    # 2. Withdrawals: raise the cash, selling what is most overweight.
    book = _KernelBook(held, cash + deposit if deposit else cash, replay_cash)
    if withdrawing:
        over = -delta if triggered else held_value - target_w[:n] * total_after_flow
        need = withdrawal + rules.cash_reserve - book.book_cash
        money += book.sell(over, need, held_value.copy(), price, delta, rules)
    # 3.-5. Rebalancing sells, buys, whole-share top-ups: the code the compiled loop runs.
    topup = triggered or net_flow > 0 or idle > 0
    book.trade(price, delta, desired, withdrawal, money, triggered, topup, rules)
    done, n_sells, count = len(book.withdrawn), book.n_sells, len(book.index)
    actions: list[int] = [Action.WITHDRAWAL] * done
    actions += [Action.SELL_TO_TARGET if to_target else Action.SELL_TO_BAND] * (n_sells - done)
    actions += [_buy_action(triggered, to_target, flows, invest_idle)] * (count - n_sells)
    unmet = -book.applied if withdrawing and book.applied < -1e-6 else 0.0
    return KernelPlan(
        book.index,
        book.quantity,
        book.cost,
        actions,
        n_sells,
        book.after,
        book.applied,
        withdrawal,
        unmet,
        total_before,
        tuple(book.uncovered),
    )


def _flow_totals(cash: float, flows: Sequence[float]) -> tuple[float, float, bool, float]:
    """The day's deposits and withdrawals (both positive), whether it withdraws, and the cash
    after the flows summed in order (as ``apply_trades`` sums them)."""
    deposit = 0.0
    withdrawal = 0.0
    withdrawing = False
    replay = cash
    for amount in flows:
        replay = replay + amount
        if amount < 0:
            withdrawal = withdrawal - amount
            withdrawing = True
        else:
            deposit = deposit + amount
    return deposit, withdrawal, withdrawing, replay


def _buy_action(
    triggered: bool, to_target: bool, flows: Sequence[float], invest_idle: bool
) -> Action:
    if triggered:
        return Action.BUY_TO_TARGET if to_target else Action.BUY_TOWARD_TARGET
    if any(a > 0 for a in flows):
        return Action.BUY_DEPOSIT
    return Action.BUY_IDLE if invest_idle else Action.BUY_FREED


class _KernelBook:
    """The kernel's book: shares per symbol, the cash as the book counts it (``book_cash``)
    and as ``apply_trades`` sums it (``applied``), the trades made (``index``, ``quantity``,
    ``cost``; the withdrawal sells first, ``withdrawn`` of them) and the sells left out
    because their cost is at least their value (``uncovered``)."""

    def __init__(self, held: np.ndarray, book_cash: float, applied: float) -> None:
        self.held = held
        self.qty: list[float] = held.tolist()
        self.book_cash = book_cash
        self.applied = applied
        self.replay_cash = applied
        self.redo = False
        self.index: list[int] = []
        self.quantity: list[float] = []
        self.cost: list[float] = []
        self.withdrawn: list[int] = []
        self.uncovered: list[tuple[int, float, float, float]] = []
        self.n_sells = 0
        self.after = held

    def sell(
        self,
        over: np.ndarray,
        need: float,
        values: np.ndarray,
        price: np.ndarray,
        delta: np.ndarray,
        rules: TradingRules,
    ) -> float:
        """Withdrawal sells: sell what is most overweight (``over``, value per symbol;
        ``values`` held) to raise ``need``, grossed up for costs; ``delta`` is credited with
        what is sold. Returns the cash raised beyond the need (money to spend)."""
        if need <= _EPS:
            return 0.0
        fractional, floor = rules.fractional, order_floor(rules)
        amounts = _withdrawal_sells(over, need, values, rules)
        raised = 0.0
        for i in np.flatnonzero(amounts > _EPS).tolist():
            q = amounts[i] / price[i]
            have = self.qty[i]
            if not fractional:
                q = float(min(math.ceil(q - 1e-9), have))
            sold = min(q, have)
            value = sold * float(price[i])
            cost = rules.commission + value * rules.spread_bps * 1e-4
            if is_dust(sold, value, floor):
                pass
            elif not sell_covers_cost(value, cost):
                self.uncovered.append((i, sold, value, cost))
            else:
                self.withdrawn.append(i)
                self.index.append(i)
                self.quantity.append(sold)
                self.cost.append(cost)
                self.qty[i] = have - sold
                self.redo = self.redo or (sold >= have - 1e-12 and have != sold)
                self.book_cash = self.book_cash + (value - cost)
                self.applied = self.applied + (value - cost)
                raised = raised + (value - cost)
            delta[i] += q * price[i]
        return max(0.0, raised - need)

    def trade(
        self,
        price: np.ndarray,
        delta: np.ndarray,
        desired: np.ndarray,
        withdrawal: float,
        money: float,
        triggered: bool,
        topup: bool,
        rules: TradingRules,
    ) -> None:
        """Rebalancing sells, buys and whole-share top-ups (``_compiled.trade_steps``, the
        code the backtest's compiled loop runs too), and the account after them."""
        n = self.held.shape[0]
        done = len(self.index)
        rows = done + 2 * n
        index, quantity, cost = np.empty(rows, dtype=np.int64), np.empty(rows), np.empty(rows)
        index[:done], quantity[:done], cost[:done] = self.index, self.quantity, self.cost
        after = np.array(self.qty, dtype=float)
        uncovered = np.empty((n, 4))
        count, self.n_sells, self.applied, skipped = _compiled.trade_steps(
            self.held, price, after, delta, np.ascontiguousarray(desired, dtype=float),
            float(self.book_cash), float(self.applied), float(self.replay_cash),
            float(withdrawal), float(money), triggered, topup, _engine.TOPUP_RULE == "marginal",
            rules.fractional, float(rules.commission), float(rules.spread_bps),
            float(order_floor(rules)), float(rules.cash_reserve),
            index, quantity, cost, 0, done, self.redo, uncovered,
        )  # fmt: skip
        self.after = after
        self.index = index[:count].tolist()
        self.quantity = quantity[:count].tolist()
        self.cost = cost[:count].tolist()
        self.uncovered += [(int(r[0]), r[1], r[2], r[3]) for r in uncovered[:skipped].tolist()]


def kernel_plan(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    names: Sequence[str],
    price: np.ndarray,
    held: np.ndarray,
    cash: float,
    target_w: np.ndarray,
    weights_before: np.ndarray,
    total_before: float,
    decision: Decision,
    flows: Sequence[CashFlow],
) -> Plan:
    """``plan_rebalance``'s result for a ``kernel_eligible`` household: the kernel decides,
    and the plan is built as the engine builds it (lot sales chosen by the lot method, the
    holdings after from ``apply_trades``, the same reasons and warnings)."""
    hh = household
    account = hh.accounts[0].id
    out = plan_kernel(held, price, cash, target_w, hh.trading, decision, [f.amount for f in flows])
    symbols = names[:-1]
    bands = decision.half_bands
    book = _Book(hh, prices, as_of, holdings, {}, {})
    trades: list[Trade] = []
    for k in range(len(out)):
        i = out.index[k]
        sym = symbols[i]
        action = out.action[k]
        why = Reason(
            _ACTION_KIND[Action(action)],
            action_text(action, out.withdrawal, account),
            sym,
            float(weights_before[i]),
            float(target_w[i]),
            None if bands is None else float(bands[i]),
        )
        q = out.quantity[k]
        if k < out.n_sells:
            trades.append(book._sell_trade(account, sym, q, why))
        else:
            p = prices[sym]
            cost = hh.trading.cost(q * p)
            trades.append(Trade(account, sym, Side.BUY, q, p, cost, str(why), why=why))
    after = apply_trades(holdings, trades, as_of, [(f.account, f.amount) for f in flows])
    warnings: list[str] = []
    for i, q, value, cost in out.uncovered:
        note = uncovered_sell_note(account, symbols[i], q, value, cost)
        if note not in warnings:
            warnings.append(note)
    unmet = unmet_withdrawals(after, {account: out.withdrawal}, warnings)
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
        warnings,
        unmet,
        {s: float(target_w[k]) for k, s in enumerate(names)},
    )
