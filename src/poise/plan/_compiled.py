"""The kernel's trading steps, written once so that numba can compile them.

``plan_kernel`` (``_kernel.py``) plans a ``kernel_eligible`` household on numpy arrays: it
works out each asset's goal and makes the withdrawal sells, then hands the rest to
``trade_steps`` here: rebalancing sells, buys from spendable cash most underweight first,
whole-share top-ups, and the account after them, in the engine's order and with numpy's own
pairwise summation where the engine sums an array (``pairwise_sum``), so that its results
are the engine's to the last bit (tested with hypothesis against the engine's general code,
``tests/plan/test_kernel.py``). ``rebalance_to_target`` is the backtest's most frequent
plan, a triggered rebalance to target with no cash flow: the kernel's goals for it, then
``trade_steps``.

It is plain Python over numpy arrays and scalars in the subset numba compiles. ``compile``
compiles it (and ``pairwise_sum``) with numba when the ``fast`` extra is installed, caching
the machine code on disk (``cache=True``: compiled once per machine, loaded by later
processes); until then, and without numba, the same functions run as Python. Both the live
plan (``plan_kernel``) and the backtest's compiled loop (``poise.backtest._compiled``) call
whatever is bound here, so live and backtest plans come from the same code.

Set ``POISE_JIT=0`` to never compile (everything stays Python, slower, same results).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = [
    "compile",
    "compiled",
    "jit_available",
    "pairwise_sum",
    "rebalance_to_target",
    "trade_steps",
]

EPS = 1e-9  # as ``poise.plan._engine._EPS``
SHARE_UNIT = 1e-6  # as ``poise.plan._orders.SHARE_UNIT``


def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's sum of at most 128 contiguous float64 values: 8 partial sums, then the rest."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """``a[lo:lo + n].sum()`` exactly as numpy sums a contiguous float64 array: blocks of at
    most 128 values (``_block_sum``) added pairwise, the halves split at a multiple of 8.
    numpy recurses; this walks the same tree with an explicit stack (numba caches it)."""
    if n <= 128:
        return _block_sum(a, lo, n)
    s_lo = np.empty(64, dtype=np.int64)
    s_n = np.empty(64, dtype=np.int64)
    s_stage = np.zeros(64, dtype=np.int64)  # 0 new, 1 left half running, 2 right half running
    s_left = np.empty(64)
    top = 0
    s_lo[0] = lo
    s_n[0] = n
    while True:
        m = s_n[top]
        if m > 128:  # split: run the left half first
            half = m // 2
            half -= half % 8
            s_stage[top] = 1
            top += 1
            s_lo[top] = s_lo[top - 1]
            s_n[top] = half
            s_stage[top] = 0
            continue
        v = _block_sum(a, s_lo[top], m)
        top -= 1
        while top >= 0:  # hand v to the parent
            if s_stage[top] == 1:  # its left half: now run the right one
                s_left[top] = v
                s_stage[top] = 2
                half = s_n[top] // 2
                half -= half % 8
                top += 1
                s_lo[top] = s_lo[top - 1] + half
                s_n[top] = s_n[top - 1] - half
                s_stage[top] = 0
                break
            v = s_left[top] + v
            top -= 1
        if top < 0:
            return v


def rebalance_to_target(
    held: np.ndarray,
    price: np.ndarray,
    cash: float,
    target_w: np.ndarray,
    fractional: bool,
    commission: float,
    spread_bps: float,
    floor: float,
    reserve: float,
    after: np.ndarray,
    out_index: np.ndarray,
    out_quantity: np.ndarray,
    out_cost: np.ndarray,
    start: int,
) -> tuple[int, int, float, float, int]:
    """Plan a triggered rebalance to target with no cash flow, as ``plan_kernel`` does (its
    goals, then ``trade_steps``).

    Parameters
    ----------
    held, price : ndarray
        Shares held and closes per symbol (n,).
    cash : float
        The account's cash.
    target_w : ndarray
        Target weights (n + 1,), cash last.
    fractional, commission, spread_bps, reserve
        The household's ``TradingRules``.
    floor : float
        The smallest order value (``poise.plan._orders.order_floor``).
    after : ndarray
        (n,) output: shares held after the trades.
    out_index, out_quantity, out_cost : ndarray
        Output: each trade's symbol position, shares and cost, written from ``start`` on
        (sells first, then buys; room for 2n trades is needed).
    start : int
        First row of the outputs to write.

    Returns
    -------
    (trades, sells, cash after, total value before, uncovered)
        ``uncovered`` counts the sells left out because their cost is at least their value;
        when it is not 0 the caller plans the day with the kernel's general code, which
        words their warnings.
    """
    n = held.shape[0]
    values = np.empty(n + 1)
    for i in range(n):
        values[i] = held[i] * price[i]
    values[n] = cash
    total_before = pairwise_sum(values, 0, n + 1)
    total = total_before + 0.0  # the kernel adds the day's (empty) net flow
    delta = np.empty(n)
    desired = np.empty(n + 1)
    for i in range(n + 1):
        desired[i] = target_w[i] * total
    for i in range(n):
        delta[i] = desired[i] - values[i]
        after[i] = held[i]
    uncovered = np.empty((n, 4))
    count, sells, applied, n_uncovered = trade_steps(
        held, price, after, delta, desired, cash, cash, cash, 0.0, 0.0, True, True, True,
        fractional, commission, spread_bps, floor, reserve,
        out_index, out_quantity, out_cost, start, 0, False, uncovered,
    )  # fmt: skip
    return count, sells, applied, total_before, n_uncovered


def trade_steps(
    held: np.ndarray,
    price: np.ndarray,
    after: np.ndarray,
    delta: np.ndarray,
    desired: np.ndarray,
    book_cash: float,
    applied: float,
    replay_cash: float,
    withdrawal: float,
    money: float,
    triggered: bool,
    topup: bool,
    marginal: bool,
    fractional: bool,
    commission: float,
    spread_bps: float,
    floor: float,
    reserve: float,
    out_index: np.ndarray,
    out_quantity: np.ndarray,
    out_cost: np.ndarray,
    start: int,
    done: int,
    redo: bool,
    uncovered: np.ndarray,
) -> tuple[int, int, float, int]:
    """Steps 3-5 of ``plan_kernel`` (rebalancing sells, buys, whole-share top-ups; one function
    each) and the account after: the code of the live kernel and the backtest's compiled loop.

    Parameters
    ----------
    held, price, after, delta, desired : ndarray
        (n,) shares held before the plan (the replay's start); closes; shares after the
        withdrawal sells (updated in place to the shares after all); value to buy (+) or
        sell (-) per symbol after the withdrawal sells (changed); (n + 1,) the value each
        symbol and, last, the cash should end at.
    book_cash, applied, replay_cash, withdrawal, money : float
        The cash after deposits and withdrawal sells as the book counts it and as
        ``apply_trades`` sums it; the cash plus the day's flows in order (the replay's start);
        the amount withdrawn (positive); the new money to spend when not triggered.
    triggered, topup, marginal : bool
        Whether to sell to rebalance; whether whole-share top-ups run; whether they go on
        one share at a time (``poise.plan._engine.TOPUP_RULE == "marginal"``).
    fractional, commission, spread_bps, floor, reserve
        The trading rules (``floor``: ``poise.plan._orders.order_floor``).
    out_index, out_quantity, out_cost : ndarray
        Each trade's symbol position, shares and cost from row ``start`` on; the first
        ``done`` rows hold the withdrawal sells already made (room for ``done`` + 2n rows).
    redo, uncovered
        Whether the account after must be replayed trade by trade (a withdrawal sell closed a
        position to within 1e-12 shares); (n, 4) output: the sells left out because their cost
        is at least their value (position, shares, value, cost).

    Returns
    -------
    (trades, sells, cash after, uncovered sells)
        Trades and sells counted from ``start`` (withdrawal sells included).
    """
    fee, k, n_uncovered = commission != 0.0 or spread_bps != 0.0, start + done, 0
    if triggered:
        k, n_uncovered, book_cash, applied, redo = _rebalancing_sells(
            price, after, delta, book_cash, applied, redo, fractional, commission, spread_bps,
            fee, floor, out_index, out_quantity, out_cost, k, uncovered,
        )  # fmt: skip
    n_sells = k - start
    spendable = _spendable(book_cash, withdrawal, desired, reserve, money, triggered)
    k, book_cash, applied, spendable = _buys(
        price, after, delta, book_cash, applied, spendable, fractional, commission, spread_bps,
        fee, floor, out_index, out_quantity, out_cost, k,
    )  # fmt: skip
    if not fractional and topup:
        k, redo = _whole_share_topups(
            price, after, desired, book_cash, withdrawal, spendable, marginal, commission,
            spread_bps, floor, out_index, out_quantity, out_cost, start + n_sells, k, redo,
        )  # fmt: skip
    if redo:
        applied = _replay(held, price, after, replay_cash, out_index, out_quantity, out_cost,
                          start, start + n_sells, k)  # fmt: skip
    return k - start, n_sells, applied, n_uncovered


def _rebalancing_sells(
    price: np.ndarray,
    after: np.ndarray,
    delta: np.ndarray,
    book_cash: float,
    applied: float,
    redo: bool,
    fractional: bool,
    commission: float,
    spread_bps: float,
    fee: bool,
    floor: float,
    out_index: np.ndarray,
    out_quantity: np.ndarray,
    out_cost: np.ndarray,
    k: int,
    uncovered: np.ndarray,
) -> tuple[int, int, float, float, bool]:
    """Step 3: sell what is over its goal (``delta`` < 0), whole shares rounded as the engine
    rounds them; the trades are written from row ``k`` and the sells whose cost is at least
    their value go to ``uncovered``. Returns (next row, uncovered count, book cash, applied
    cash, redo)."""
    n_uncovered = 0
    for i in range(price.shape[0]):
        if not delta[i] < -EPS:
            continue
        have = after[i]
        if have <= EPS:
            continue
        p = price[i]
        q = _sell_shares(-delta[i] / p, have, fractional)
        value = q * p
        if q < SHARE_UNIT or value < floor:
            continue
        cost = commission + value * spread_bps * 1e-4 if fee else 0.0
        if fee and value <= cost:
            uncovered[n_uncovered, 0] = i
            uncovered[n_uncovered, 1] = q
            uncovered[n_uncovered, 2] = value
            uncovered[n_uncovered, 3] = cost
            n_uncovered += 1
            continue
        out_index[k] = i
        out_quantity[k] = q
        out_cost[k] = cost
        k += 1
        after[i] = have - q
        if q >= have - 1e-12 and have != q:
            redo = True
        book_cash = book_cash + (value - cost)
        applied = applied + (value - cost)
        delta[i] += value
    return k, n_uncovered, book_cash, applied, redo


def _sell_shares(q: float, have: float, fractional: bool) -> float:
    """The shares a rebalancing sell of ``q`` shares sells out of ``have``: at most all of
    them; whole shares rounded to the nearest, all of them within half a share."""
    if fractional:
        return have if have < q else q
    if q >= have - 0.5:
        return have
    r = np.rint(q)
    return have if have < r else r


def _spendable(
    book_cash: float,
    withdrawal: float,
    desired: np.ndarray,
    reserve: float,
    money: float,
    triggered: bool,
) -> float:
    """The cash step 4 may spend: all but the reserve and the cash goal when triggered, else
    only the new ``money``; never below 0."""
    total_cash = book_cash - withdrawal
    if triggered:
        keep = desired[-1] * (total_cash / total_cash) if total_cash > EPS else 0.0
        if keep < 0.0:
            keep = 0.0
        spendable = total_cash - reserve - keep
    else:  # only new money is spent
        spendable = total_cash - reserve
        if money < spendable:
            spendable = money
    if not spendable > 0.0:
        spendable = 0.0
    return spendable


def _buys(
    price: np.ndarray,
    after: np.ndarray,
    delta: np.ndarray,
    book_cash: float,
    applied: float,
    spendable: float,
    fractional: bool,
    commission: float,
    spread_bps: float,
    fee: bool,
    floor: float,
    out_index: np.ndarray,
    out_quantity: np.ndarray,
    out_cost: np.ndarray,
    k: int,
) -> tuple[int, float, float, float]:
    """Step 4: buy what is under its goal (``delta`` > 0) from ``spendable``, most underweight
    first, scaled down when the cash cannot cover the buys and their costs; the trades are
    written from row ``k``. Returns (next row, book cash, applied cash, spendable left)."""
    n = price.shape[0]
    wanted = np.empty(n)
    n_buys = 0
    for i in range(n):
        d = delta[i]
        wanted[i] = d if d > 0.0 else 0.0
        if wanted[i] > EPS:
            n_buys += 1
    if not n_buys:
        return k, book_cash, applied, spendable
    cost_rate = 1.0 + spread_bps * 1e-4
    w_sum = pairwise_sum(wanted, 0, n)
    need_cash = w_sum * cost_rate + n_buys * commission
    if need_cash > spendable and need_cash > 0:
        room = spendable - n_buys * commission
        scale = (room if room > 0.0 else 0.0) / (w_sum * cost_rate)
        for i in range(n):
            wanted[i] *= scale
    order = np.argsort(-wanted, kind="mergesort")
    for j in range(n_buys):
        i = order[j]
        w = wanted[i]
        if w <= EPS:
            continue
        budget = spendable - commission
        if budget <= EPS:
            continue
        p = price[i]
        cap = budget / cost_rate
        q = (cap if cap < w else w) / p
        if not fractional:
            q = np.floor(q + 1e-9)
        value = q * p
        if q < SHARE_UNIT or value < floor:
            continue
        after[i] = after[i] + q
        cost = commission + value * spread_bps * 1e-4 if fee else 0.0
        out_index[k] = i
        out_quantity[k] = q
        out_cost[k] = cost
        k += 1
        before = book_cash
        book_cash = before + (-value - cost)
        applied = applied + (-value - cost)
        spendable -= before - book_cash
    return k, book_cash, applied, spendable


def _whole_share_topups(
    price: np.ndarray,
    after: np.ndarray,
    desired: np.ndarray,
    book_cash: float,
    withdrawal: float,
    spendable: float,
    marginal: bool,
    commission: float,
    spread_bps: float,
    floor: float,
    out_index: np.ndarray,
    out_quantity: np.ndarray,
    out_cost: np.ndarray,
    lo: int,
    k: int,
    redo: bool,
) -> tuple[int, bool]:
    """Step 5: whole shares leave cash over; top up what is furthest below its goal (in
    shares), then (``marginal``) one share at a time while it lowers the squared error. The
    buys (rows ``lo`` to ``k``) are rewritten when a top-up changed them. Returns (next row,
    redo)."""
    n = price.shape[0]
    seq = np.full(n, -1, dtype=np.int64)  # buys in the kernel's dict order
    buy_q = np.zeros(n)
    buy_cost = np.zeros(n)
    counter = 0
    for j in range(lo, k):
        i = out_index[j]
        seq[i] = counter
        counter += 1
        buy_q[i] = out_quantity[j]
        buy_cost[i] = out_cost[j]
    counter, book_cash, spendable, bought = _half_share_topups(
        price, after, desired, seq, buy_q, buy_cost, counter, book_cash, spendable,
        commission, spread_bps, floor,
    )  # fmt: skip
    if marginal:
        counter, bought_one = _one_share_topups(
            price, after, desired, seq, buy_q, buy_cost, counter, book_cash, withdrawal,
            spendable, commission, spread_bps, floor,
        )  # fmt: skip
        bought = bought or bought_one
    redo = redo or bought
    if not redo:
        return k, redo
    k = lo
    for i in np.argsort(seq, kind="mergesort"):
        if seq[i] < 0:
            continue
        out_index[k] = i
        out_quantity[k] = buy_q[i]
        out_cost[k] = buy_cost[i]
        k += 1
    return k, redo


def _half_share_topups(
    price: np.ndarray,
    after: np.ndarray,
    desired: np.ndarray,
    seq: np.ndarray,
    buy_q: np.ndarray,
    buy_cost: np.ndarray,
    counter: int,
    book_cash: float,
    spendable: float,
    commission: float,
    spread_bps: float,
    floor: float,
) -> tuple[int, float, float, bool]:
    """Up to 3 rounds: buy each symbol's shortfall rounded to whole shares (from half a share
    short), furthest below its goal first, as far as the cash goes. Returns (counter, book
    cash, spendable left, whether any was bought)."""
    n = price.shape[0]
    cost_rate = 1.0 + spread_bps * 1e-4
    short = np.empty(n)
    bought = False
    for _ in range(3):
        for i in range(n):
            short[i] = (desired[i] - after[i] * price[i]) / price[i]
        order = np.argsort(-short, kind="mergesort")
        bought_any = False
        for j in range(n):
            i = order[j]
            if short[i] < 0.5:
                break
            p = price[i]
            unit = p * cost_rate
            extra = np.floor(short[i] + 0.5)
            fit = np.floor((spendable - commission) / unit + 1e-9)
            if fit < extra:
                extra = fit
            earlier = seq[i] >= 0
            if extra < 1 or ((buy_q[i] if earlier else 0.0) + extra) * p < floor:
                continue
            counter, book_cash, spendable = _top_up(
                i, extra, price, after, seq, buy_q, buy_cost, counter, book_cash, spendable,
                commission, spread_bps,
            )  # fmt: skip
            bought_any = True
            bought = True
        if not bought_any:
            break
    return counter, book_cash, spendable, bought


def _one_share_topups(
    price: np.ndarray,
    after: np.ndarray,
    desired: np.ndarray,
    seq: np.ndarray,
    buy_q: np.ndarray,
    buy_cost: np.ndarray,
    counter: int,
    book_cash: float,
    withdrawal: float,
    spendable: float,
    commission: float,
    spread_bps: float,
    floor: float,
) -> tuple[int, bool]:
    """One share at a time while it lowers the squared error, cash included
    (``poise.plan._sizing.best_extra_share``, term for term), at most 4n + 8 shares.
    Returns (counter, whether any was bought)."""
    n = price.shape[0]
    cost_rate = 1.0 + spread_bps * 1e-4
    goal_cash = desired[n]
    bought = False
    for _ in range(4 * n + 8):
        cash_err = book_cash - withdrawal - goal_cash
        best = -1e-9
        pick = -1
        for i in range(n):
            p = price[i]
            earlier = seq[i] >= 0
            unit = p * cost_rate + (0.0 if earlier else commission)
            if not (
                unit <= spendable + 1e-9 and ((buy_q[i] if earlier else 0.0) + 1.0) * p >= floor
            ):
                continue
            e = after[i] * p - desired[i]
            gain = (e + p) * (e + p) - e * e + (cash_err - unit) * (cash_err - unit)
            gain = gain - cash_err * cash_err
            if gain < best:
                best = gain
                pick = i
        if pick < 0:
            break
        counter, book_cash, spendable = _top_up(
            pick, 1.0, price, after, seq, buy_q, buy_cost, counter, book_cash, spendable,
            commission, spread_bps,
        )  # fmt: skip
        bought = True
    return counter, bought


def _top_up(
    i: int,
    extra: float,
    price: np.ndarray,
    after: np.ndarray,
    seq: np.ndarray,
    buy_q: np.ndarray,
    buy_cost: np.ndarray,
    counter: int,
    book_cash: float,
    spendable: float,
    commission: float,
    spread_bps: float,
) -> tuple[int, float, float]:
    """Buy ``extra`` more shares of symbol ``i``: its earlier buy (if any) is replaced by one
    of the sum, which moves to the end of the buys (``seq``). Returns (counter, book cash,
    spendable left)."""
    p = price[i]
    after[i] = after[i] + extra
    before = book_cash
    q = extra
    if seq[i] >= 0:
        book_cash = before - (-(buy_q[i] * p) - buy_cost[i])
        q += buy_q[i]
    value = q * p
    cost = commission + value * spread_bps * 1e-4
    book_cash = book_cash + (-value - cost)
    seq[i] = counter
    buy_q[i] = q
    buy_cost[i] = cost
    return counter + 1, book_cash, spendable - (before - book_cash)


def _replay(
    held: np.ndarray,
    price: np.ndarray,
    after: np.ndarray,
    replay_cash: float,
    out_index: np.ndarray,
    out_quantity: np.ndarray,
    out_cost: np.ndarray,
    start: int,
    buys_from: int,
    k: int,
) -> float:
    """The account after, as ``apply_trades`` computes it trade by trade: ``after`` from
    ``held``, rows ``start`` to ``buys_from`` sells and the rest to ``k`` buys; returns the
    cash from ``replay_cash``."""
    for i in range(held.shape[0]):
        after[i] = held[i]
    applied = replay_cash
    for j in range(start, k):
        i = out_index[j]
        q = out_quantity[j]
        value = q * price[i]
        if j < buys_from:
            have = after[i]
            after[i] = 0.0 if q >= have - 1e-12 else have - q
            applied = applied + (value - out_cost[j])
        else:
            after[i] = after[i] + q
            applied = applied + (-value - out_cost[j])
    return applied


_PLAIN = {
    "_block_sum": _block_sum,
    "pairwise_sum": pairwise_sum,
    "trade_steps": trade_steps,
    "_rebalancing_sells": _rebalancing_sells,
    "_sell_shares": _sell_shares,
    "_spendable": _spendable,
    "_buys": _buys,
    "_whole_share_topups": _whole_share_topups,
    "_half_share_topups": _half_share_topups,
    "_one_share_topups": _one_share_topups,
    "_top_up": _top_up,
    "_replay": _replay,
    "rebalance_to_target": rebalance_to_target,
}
_state: dict[str, Any] = {"compiled": False}


def jit_available() -> bool:
    """Whether numba is installed and ``POISE_JIT`` does not turn compiling off."""
    if os.environ.get("POISE_JIT", "1") == "0":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def compiled() -> bool:
    """Whether this module's functions are compiled in this process."""
    return bool(_state["compiled"])


def compile() -> bool:
    """Compile this module's functions with numba (machine code cached on disk); returns
    whether they are compiled. Without numba, or with ``POISE_JIT=0``, nothing changes."""
    if _state["compiled"]:
        return True
    if not jit_available():
        return False
    import numba

    from poise.policy import _compiled as policy_compiled

    space = globals()
    for name, fn in _PLAIN.items():
        space[name] = numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    policy_compiled.compile()  # the volatility rule's scales
    _state["compiled"] = True
    return True
