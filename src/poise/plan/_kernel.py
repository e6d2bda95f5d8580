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
the next one sees) run on plain floats, in the engine's order, so that the results are the
engine's to the last bit (tested with hypothesis). For a few dozen symbols that is faster
than numpy calls, which cost more each than a whole float operation.

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
    SHARE_UNIT,
    is_dust,
    order_floor,
    sell_covers_cost,
    uncovered_sell_note,
)
from poise.plan._sizing import best_extra_share, desired_values
from poise.policy import Decision, RebalanceTo

__all__ = [
    "Action",
    "KernelPlan",
    "action_text",
    "kernel_eligible",
    "kernel_plan",
    "kernel_serves",
    "plan_kernel",
    "reason_text",
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


def action_text(action: int, withdrawal: float = 0.0, account: str = "") -> str:
    """The words the engine puts after a trade's drift (``withdrawal``: the amount withdrawn
    from ``account``, for withdrawal sells)."""
    if action == Action.WITHDRAWAL:
        return f"sell to fund the withdrawal of {fmt_money(withdrawal)} from {account}"
    return _ACTION_TEXT[Action(action)]


def reason_text(symbol: str, weight: float, target: float, band: float | None, action: str) -> str:
    """A trade's reason exactly as the engine words it: the symbol's weight before the plan,
    its target, its band half-width (None or not finite: no band) and the action."""
    text = ""
    if band is not None and math.isfinite(band):
        text = f" (band ±{band * 100:.2f}pp)"
    return f"{symbol} {weight * 100:.1f}% vs target {target * 100:.1f}%{text}: {action}"


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
    """``reason_text`` of many trades at once (the same strings, faster): trade k's action is
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
    for u, k in enumerate(first.tolist()):
        b = float(bands[k])
        band = f" (band ±{b * 100:.2f}pp)" if math.isfinite(b) else ""
        suffixes[u] = f"% vs target {targets[k] * 100:.1f}%{band}: {action_texts[actions[k]]}"
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
    fractional = rules.fractional
    commission = rules.commission
    spread_bps = rules.spread_bps
    floor = order_floor(rules)
    uncovered: list[tuple[int, float, float, float]] = []
    n = held.shape[0]
    held_value = held * price
    values = np.empty(n + 1)
    values[:n] = held_value
    values[n] = cash
    total_before = float(values.sum())
    triggered = decision.triggered and decision.sells_allowed
    to_target = decision.rebalance_to is RebalanceTo.TARGET
    same_topup = fractional or _engine.TOPUP_RULE == "marginal"  # the compiled code's rule
    if triggered and to_target and not flows and same_topup and _compiled.compiled():
        compiled = _to_target_compiled(held, price, cash, target_w, rules)
        if compiled is not None:
            return compiled
    net_flow = float(sum(flows))
    total_after_flow = total_before + net_flow
    if total_after_flow < -_EPS:
        raise InputError(
            f"withdrawals of {fmt_money(-net_flow)} exceed the household's total value "
            f"{fmt_money(total_before)}",
            field="withdraw.amount",
        )
    deposit = 0.0
    withdrawal = 0.0
    withdrawing = False
    for amount in flows:
        if amount < 0:
            withdrawal = withdrawal - amount
            withdrawing = True
        else:
            deposit = deposit + amount
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

    qty = held.tolist()  # the book's shares, changed trade by trade
    p_list = price.tolist()
    book_cash = cash + deposit if deposit else cash
    # Trades as made (sells first, then buys): index, quantity, cost, action. ``applied`` is
    # the cash as apply_trades sums it (flows first, then each trade in order); ``redo`` says
    # that the account after must be recomputed trade by trade (a sell closed a position to
    # within 1e-12 shares, or a whole-share top-up merged buys).
    index: list[int] = []
    quantity: list[float] = []
    costs: list[float] = []
    actions: list[int] = []
    applied = cash
    for amount in flows:
        applied = applied + amount
    redo = False

    # 1. Withdrawals: raise the cash, selling what is most overweight.
    if withdrawing:
        need = withdrawal + rules.cash_reserve - book_cash
        if need > _EPS:
            over = -delta if triggered else held_value - target_w[:n] * total_after_flow
            amounts = _withdrawal_sells(over, need, held_value.copy(), rules)
            raised = 0.0
            for i in np.flatnonzero(amounts > _EPS).tolist():
                q = amounts[i] / price[i]
                have = qty[i]
                if not fractional:
                    q = float(min(math.ceil(q - 1e-9), have))
                sold = min(q, have)
                value = sold * p_list[i]
                cost = commission + value * spread_bps * 1e-4
                if is_dust(sold, value, floor):
                    pass
                elif not sell_covers_cost(value, cost):
                    uncovered.append((i, sold, value, cost))
                else:
                    index.append(i)
                    quantity.append(sold)
                    costs.append(cost)
                    actions.append(Action.WITHDRAWAL)
                    qty[i] = have - sold
                    redo = redo or (sold >= have - 1e-12 and have != sold)
                    book_cash = book_cash + (value - cost)
                    applied = applied + (value - cost)
                    raised = raised + (value - cost)
                delta[i] += q * price[i]
            money += max(0.0, raised - need)

    # 2. Rebalancing sells.
    d_list = delta.tolist()
    fee = commission != 0.0 or spread_bps != 0.0  # without: every cost is exactly 0.0
    add_index, add_quantity, add_cost = index.append, quantity.append, costs.append
    if triggered:
        sold = 0
        for i in [i for i, d in enumerate(d_list) if d < -_EPS]:
            have = qty[i]
            if have <= _EPS:
                continue
            p = p_list[i]
            q = -d_list[i] / p  # as _sell_quantity
            if fractional:
                if have < q:
                    q = have
            elif q >= have - 0.5:
                q = have
            else:
                q = min(float(round(q)), have)
            value = q * p
            if q < SHARE_UNIT or value < floor:
                continue
            cost = commission + value * spread_bps * 1e-4 if fee else 0.0
            if fee and value <= cost:
                uncovered.append((i, q, value, cost))
                continue
            add_index(i)
            add_quantity(q)
            add_cost(cost)
            sold += 1
            qty[i] = have - q
            if q >= have - 1e-12 and have != q:
                redo = True
            book_cash = book_cash + (value - cost)
            applied = applied + (value - cost)
            d_list[i] += value
        actions += [Action.SELL_TO_TARGET if to_target else Action.SELL_TO_BAND] * sold
    n_sells = len(index)

    # 3. Buys from spendable cash, most underweight first.
    cash_goal = float(desired[n])
    total_cash = book_cash - withdrawal
    if triggered:
        keep = cash_goal * (total_cash / total_cash) if total_cash > _EPS else 0.0
        spendable = max(0.0, total_cash - rules.cash_reserve - max(keep, 0.0))
    else:  # only new money is spent
        spendable = max(0.0, min(total_cash - rules.cash_reserve, money))
    if triggered:
        buy_action = Action.BUY_TO_TARGET if to_target else Action.BUY_TOWARD_TARGET
    else:
        buy_action = (
            Action.BUY_DEPOSIT
            if any(a > 0 for a in flows)
            else Action.BUY_IDLE
            if invest_idle
            else Action.BUY_FREED
        )
    wanted = np.maximum(d_list, 0.0) if n_sells else np.maximum(delta, 0.0)
    cost_rate = 1.0 + spread_bps * 1e-4
    n_buys = int(np.count_nonzero(wanted > _EPS))
    if n_buys:
        w_sum = wanted.sum()
        need_cash = w_sum * cost_rate + n_buys * commission
        if need_cash > spendable and need_cash > 0:
            wanted *= max(0.0, spendable - n_buys * commission) / (w_sum * cost_rate)
        w_list = wanted.tolist()
        for i in np.argsort(-wanted, kind="stable")[:n_buys].tolist():
            w = w_list[i]
            if w <= _EPS:
                continue
            budget = spendable - commission
            if budget <= _EPS:
                continue
            p = p_list[i]
            cap = budget / cost_rate
            q = (cap if cap < w else w) / p  # min(w, cap) / p
            if not fractional:
                q = float(math.floor(q + 1e-9))
            value = q * p
            if q < SHARE_UNIT or value < floor:
                continue
            qty[i] = qty[i] + q
            cost = commission + value * spread_bps * 1e-4 if fee else 0.0
            add_index(i)
            add_quantity(q)
            add_cost(cost)
            before = book_cash
            book_cash = before + (-value - cost)
            applied = applied + (-value - cost)
            spendable -= before - book_cash
        actions += [buy_action] * (len(index) - n_sells)

    # 4. Whole shares leave cash over: top up what is furthest below its goal (in shares).
    if not fractional and (triggered or net_flow > 0 or idle > 0):
        buys = {index[k]: (quantity[k], costs[k]) for k in range(n_sells, len(index))}
        goal_values = desired[:n]
        for _ in range(3):
            short_shares = (goal_values - np.array(qty) * price) / price
            s_list = short_shares.tolist()
            bought_any = False
            for k in np.argsort(-short_shares, kind="stable").tolist():
                if s_list[k] < 0.5:
                    break
                p = p_list[k]
                unit = p * cost_rate
                extra = min(
                    math.floor(s_list[k] + 0.5),
                    math.floor((spendable - commission) / unit + 1e-9),
                )
                earlier = buys.get(k)
                if extra < 1 or ((earlier[0] if earlier else 0.0) + extra) * p < floor:
                    continue
                qty[k] = qty[k] + float(extra)
                before = book_cash
                q = float(extra)
                if earlier is not None:  # merged into the earlier buy, which moves last
                    del buys[k]
                    book_cash = before - (-(earlier[0] * p) - earlier[1])
                    q += earlier[0]
                value = q * p
                cost = commission + value * spread_bps * 1e-4
                book_cash = book_cash + (-value - cost)
                buys[k] = (q, cost)
                spendable -= before - book_cash
                bought_any = True
                redo = True
            if not bought_any:
                break
        if _engine.TOPUP_RULE == "marginal":  # as the engine: one share at a time
            goal_cash = float(desired[n])
            for _ in range(4 * n + 8):
                err = (np.array(qty) * price - goal_values).tolist()
                cash_err = book_cash - withdrawal - goal_cash
                units = [
                    p_list[k] * cost_rate + (0.0 if k in buys else commission) for k in range(n)
                ]
                allowed = [
                    units[k] <= spendable + 1e-9
                    and ((buys[k][0] if k in buys else 0.0) + 1.0) * p_list[k] >= floor
                    for k in range(n)
                ]
                k = best_extra_share(err, p_list, cash_err, units, allowed)
                if k is None:
                    break
                p = p_list[k]
                earlier = buys.get(k)
                qty[k] = qty[k] + 1.0
                before = book_cash
                q = 1.0
                if earlier is not None:  # merged into the earlier buy, which moves last
                    del buys[k]
                    book_cash = before - (-(earlier[0] * p) - earlier[1])
                    q += earlier[0]
                value = q * p
                cost = commission + value * spread_bps * 1e-4
                book_cash = book_cash + (-value - cost)
                buys[k] = (q, cost)
                spendable -= before - book_cash
                redo = True
        if redo:
            del index[n_sells:], quantity[n_sells:], costs[n_sells:], actions[n_sells:]
            for i, (q, cost) in buys.items():
                index.append(i)
                quantity.append(q)
                costs.append(cost)
                actions.append(buy_action)

    if not redo:
        held_after, applied_cash = np.array(qty), applied
    else:
        held_after, applied_cash = _replay(
            held, cash, p_list, flows, index, quantity, costs, n_sells
        )
    unmet = -applied_cash if withdrawing and applied_cash < -1e-6 else 0.0
    return KernelPlan(
        index,
        quantity,
        costs,
        actions,
        n_sells,
        held_after,
        applied_cash,
        withdrawal,
        unmet,
        total_before,
        tuple(uncovered),
    )


def _to_target_compiled(
    held: np.ndarray, price: np.ndarray, cash: float, target_w: np.ndarray, rules: TradingRules
) -> KernelPlan | None:
    """Steps 2-4 of a rebalance to target without flows, by the compiled code that the
    backtest's compiled loop also calls (``_compiled.rebalance_to_target``, bit-exact);
    None when a sell would not cover its cost (the general code words its warning)."""
    n = held.shape[0]
    after = np.empty(n)
    index = np.empty(2 * n, dtype=np.int64)
    quantity = np.empty(2 * n)
    cost = np.empty(2 * n)
    count, n_sells, cash_after, total, uncovered = _compiled.rebalance_to_target(
        held,
        price,
        cash,
        target_w,
        rules.fractional,
        rules.commission,
        rules.spread_bps,
        order_floor(rules),
        rules.cash_reserve,
        after,
        index,
        quantity,
        cost,
        0,
    )
    if uncovered:
        return None
    actions: list[int] = [Action.SELL_TO_TARGET] * n_sells
    actions += [Action.BUY_TO_TARGET] * (count - n_sells)
    return KernelPlan(
        index[:count].tolist(),
        quantity[:count].tolist(),
        cost[:count].tolist(),
        actions,
        n_sells,
        after,
        cash_after,
        0.0,
        0.0,
        total,
    )


def _replay(
    held: np.ndarray,
    cash: float,
    p_list: list[float],
    flows: Sequence[float],
    index: list[int],
    quantity: list[float],
    costs: list[float],
    n_sells: int,
) -> tuple[np.ndarray, float]:
    """Shares and cash after the trades, as ``apply_trades`` computes them: flows first, then
    each trade's cash in order; a sell within 1e-12 shares of a whole position closes it (as
    ``Lot.take`` does)."""
    after = held.tolist()
    c = cash
    for amount in flows:
        c = c + amount
    for k, (i, q, cost) in enumerate(zip(index, quantity, costs, strict=True)):
        value = q * p_list[i]
        if k < n_sells:
            have = after[i]
            after[i] = 0.0 if q >= have - 1e-12 else have - q
            c = c + (value - cost)
        else:
            after[i] = after[i] + q
            c = c + (-value - cost)
    return np.array(after), c


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
        why = reason_text(
            sym,
            float(weights_before[i]),
            float(target_w[i]),
            None if bands is None else float(bands[i]),
            action_text(out.action[k], out.withdrawal, account),
        )
        q = out.quantity[k]
        if k < out.n_sells:
            trades.append(book._sell_trade(account, sym, q, why))
        else:
            p = prices[sym]
            trades.append(Trade(account, sym, Side.BUY, q, p, hh.trading.cost(q * p), why))
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
