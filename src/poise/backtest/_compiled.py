"""The array path's quiet stretches, run as one compiled loop.

Between two *scheduled* days (the first day, cash-flow days, listing days) nothing but the
policy can change a one-account household that ``_fast.py`` serves: its holdings stay as
they are until the policy triggers, and then the plan is a rebalance to target without flows.
For the built-in rules whose trigger is a function of the day and the weights alone
(``CalendarPolicy``; ``ThresholdPolicy`` to target, with or without a check frequency),
``advance`` runs such a stretch in one call of ``stretch``: each day it tests the rule (the
policy's own comparison on the weights computed as ``BacktestState.weights`` computes them),
and on a trigger day plans with ``poise.plan._compiled.rebalance_to_target``, the code that
``plan_kernel`` runs for the same plan. numba compiles both (``poise.plan._compiled``); the
results are the array path's to the last bit (tested), and the policy itself is still asked on
every day the loop rebalanced (``policy.decide`` on the same context, for its reasons; a
disagreement raises).

Used only when numba is installed (the ``fast`` extra) and ``POISE_JIT`` is not ``0``; any
other policy, a to-band rule, custom steps or ``screen=False`` take the general loop.

Loading numba costs a process about 0.4 s of CPU once (its start-up, then the machine code
cached on disk), while a run of the general loop costs tens of milliseconds. So a process's
first ``WARM_UP - 1`` array-path runs take the general loop (the same results to the last
bit) unless numba is already loaded, and the compiled loop takes over from the next one: a
command that runs one backtest does not pay for numba, a batch pays for it once.
``POISE_JIT=1`` compiles from the first run.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from poise.backtest._screen import MARGIN
from poise.backtest._state import TradeKind
from poise.model import Side
from poise.plan import _compiled as plan_compiled
from poise.plan._compiled import pairwise_sum, rebalance_to_target
from poise.plan._kernel import Action, action_text, reason_texts
from poise.plan._orders import order_floor
from poise.policy import (
    CalendarPolicy,
    Policy,
    PolicyContext,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
    half_bands,
)
from poise.policy import _compiled as policy_compiled
from poise.policy._compiled import volatility_scales

__all__ = ["CompiledPlans", "CompiledStretch", "advance", "stretch_for"]

_CALENDAR, _THRESHOLD, _VOLATILITY = 1, 2, 3
_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
_state: dict[str, Any] = {"compiled": False, "runs": 0}
WARM_UP = 3
"""The array-path run of a process from which the compiled loop is used (see above)."""


_SCREEN = 1e-12 - MARGIN
_SURE = 1e-12 + MARGIN
_buffers = threading.local()  # each thread's prefix-sum buffers (``CompiledStretch.prefix``)
_BAD = 2.0**30  # added to a prefix count for each infinite return


def prefix_sums(
    hist: np.ndarray, counts: np.ndarray, sums: np.ndarray, squares: np.ndarray, err: np.ndarray
) -> None:
    """Prefix sums of each column's daily returns (``hist[t + 1] / hist[t] - 1``, as the
    volatility rule forms them) for its scale bounds: row ``t`` of ``counts``, ``sums`` and
    ``squares`` covers returns ``0 .. t - 1`` (NaN left out; an infinite one adds ``_BAD``
    to the count and nothing to the sums). ``err[0]`` and ``err[1]``: a bound of the rounding
    of any difference of two rows of ``sums`` and of ``squares``, per column."""
    rows, cols = hist.shape
    grow = 2.0 * (rows + 2) * 2.220446049250313e-16
    for c in range(cols):
        counts[0, c] = 0.0
        sums[0, c] = 0.0
        squares[0, c] = 0.0
        err[0, c] = 0.0
    for t in range(rows - 1):
        for c in range(cols):
            k = counts[t, c]
            total = sums[t, c]
            square = squares[t, c]
            r = hist[t + 1, c] / hist[t, c] - 1.0
            if r == r:
                if abs(r) == np.inf:
                    k += _BAD
                else:
                    k += 1.0
                    total += r
                    square += r * r
                    err[0, c] += abs(r)
            counts[t + 1, c] = k
            sums[t + 1, c] = total
            squares[t + 1, c] = square
    for c in range(cols):
        err[0, c] *= grow
        err[1, c] = grow * squares[rows - 1, c]


def _variance_bounds(
    counts: np.ndarray,
    sums: np.ndarray,
    squares: np.ndarray,
    err: np.ndarray,
    col: int,
    lo: int,
    hi: int,
) -> tuple[float, float, bool]:
    """Bounds of ``nanstd(returns[lo:hi, col]) ** 2`` as numpy computes it, from the prefix
    sums and their rounding bound; False where they cannot be trusted (no or an infinite
    return, or a variance not large against its rounding)."""
    eps = 2.220446049250313e-16
    n = counts[hi, col] - counts[lo, col]
    if n <= 0.0 or n >= _BAD:
        return 0.0, 0.0, False
    s = sums[hi, col] - sums[lo, col]
    q = squares[hi, col] - squares[lo, col]
    mean = s / n
    var = q / n - mean * mean
    e = (err[1, col] + 2.0 * abs(mean) * err[0, col] + err[0, col] * err[0, col] / n) / n
    e += 8.0 * eps * (q / n + mean * mean)
    e += 4.0 * (n + 4.0) * eps * abs(var)  # nanstd's own rounding
    if not e < 1e-3 * var:
        return 0.0, 0.0, False
    return var - e, var + e, True


def scale_bounds(
    counts: np.ndarray,
    sums: np.ndarray,
    squares: np.ndarray,
    err: np.ndarray,
    col: int,
    row: int,
    vol: np.ndarray,
) -> tuple[float, float]:
    """A lower and an upper bound of the volatility rule's scale of ``col`` at ``row`` (the
    decision day; ``vol``: window, long window, lowest and highest scale)."""
    window = int(vol[0])
    min_scale, max_scale = vol[2], vol[3]
    if row < window:  # the policy's scale is exactly 1
        return 1.0, 1.0
    low_r, high_r, ok_r = _variance_bounds(counts, sums, squares, err, col, row - window, row)
    start = row - int(vol[1]) if row > int(vol[1]) else 0
    low_l, high_l, ok_l = _variance_bounds(counts, sums, squares, err, col, start, row)
    if not (ok_r and ok_l):  # the policy's scale is 1 or clipped
        return (min_scale if min_scale < 1.0 else 1.0), (max_scale if max_scale > 1.0 else 1.0)
    low = np.sqrt(low_r / high_l) * (1.0 - 1e-9)
    high = np.sqrt(high_r / low_l) * (1.0 + 1e-9)
    low = low if low > min_scale else min_scale
    low = low if low < max_scale else max_scale
    high = high if high > min_scale else min_scale
    high = high if high < max_scale else max_scale
    return low, high


def stretch(
    hist: np.ndarray,
    prefix: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    offset: int,
    lo: int,
    hi: int,
    q: np.ndarray,
    target_w: np.ndarray,
    threshold: np.ndarray,
    base: np.ndarray,
    vol: np.ndarray,
    kind: int,
    keys: np.ndarray,
    check: bool,
    last_key: int,
    fractional: bool,
    commission: float,
    spread_bps: float,
    floor: float,
    reserve: float,
    ev_day: np.ndarray,
    ev_trades: np.ndarray,
    ev_sells: np.ndarray,
    ev_total: np.ndarray,
    ev_cost: np.ndarray,
    ev_q: np.ndarray,
    tr_index: np.ndarray,
    tr_quantity: np.ndarray,
    tr_cost: np.ndarray,
    tr_held: np.ndarray,
    tr_price: np.ndarray,
) -> tuple[int, int, int, bool]:
    """Run days ``[lo, hi)``: test the rule each day and rebalance to target on trigger days.

    ``hist`` holds the closes of the policy's symbols with a cash column of 1.0 last
    (``prefix``: the prefix sums of their returns for the volatility rule); ``q``
    the shares held and, last, the cash (updated in place). Trigger days are written to the
    ``ev_*`` arrays (day, trades, sells, value before, total cost, holdings after) and their
    trades to the ``tr_*`` arrays, until either is full. Returns (next day to run, events,
    trades): the next day is ``hi`` unless the buffers filled up first.
    """
    n = q.shape[0] - 1
    values = np.empty(n + 1)
    scale = np.empty(n + 1)
    lowest = vol[2] if vol[2] < 1.0 else 1.0  # the volatility rule's lowest scale
    after = np.empty(n)
    events = 0
    trades = 0
    for i in range(lo, hi):
        if events == ev_day.shape[0] or trades + 2 * n > tr_index.shape[0]:
            return i, events, trades, False
        row = offset + i
        if kind == _CALENDAR:
            if keys[i] == last_key:
                continue
        else:
            if check and i > 0 and keys[i] == keys[i - 1]:
                continue
            for j in range(n + 1):
                values[j] = hist[row, j] * q[j]
            total = pairwise_sum(values, 0, n + 1)
            fired = False
            sure = kind != _VOLATILITY
            if kind == _VOLATILITY:  # screen with bounds of the day's scales
                counts, sums, squares, err = prefix
                for j in range(n + 1):
                    w = values[j] / total if total > 0 else 0.0
                    drift = abs(w - target_w[j])
                    if drift <= base[j] * lowest + _SCREEN:  # inside any band it can have
                        continue
                    low, high = 1.0, 1.0  # cash: the policy sets its scale to 1
                    if j < n:
                        low, high = scale_bounds(counts, sums, squares, err, j, row, vol)
                    if drift > base[j] * low + _SCREEN:
                        fired = True
                        if drift > base[j] * high + _SURE:  # outside the widest band
                            sure = True
                            break
            else:
                for j in range(n + 1):
                    w = values[j] / total if total > 0 else 0.0
                    if abs(w - target_w[j]) > threshold[j]:
                        fired = True
                        break
            if fired and not sure:  # the bands of the day, as the policy scales them
                volatility_scales(hist, row + 1, int(vol[0]), int(vol[1]), vol[2], vol[3], scale)
                scale[n] = 1.0
                fired = False
                for j in range(n + 1):
                    w = values[j] / total if total > 0 else 0.0
                    if abs(w - target_w[j]) > base[j] * scale[j] + 1e-12:
                        fired = True
                        break
            if not fired:
                continue
        price = hist[row, :n]
        held = q[:n]
        count, sells, cash, total_before, uncovered = rebalance_to_target(
            held,
            price,
            q[n],
            target_w,
            fractional,
            commission,
            spread_bps,
            floor,
            reserve,
            after,
            tr_index,
            tr_quantity,
            tr_cost,
            trades,
        )
        if uncovered:  # the general loop plans this day (and words the warnings)
            return i, events, trades, True
        cost = 0.0
        for t in range(trades, trades + count):
            k = tr_index[t]
            tr_held[t] = held[k]
            tr_price[t] = price[k]
            cost += tr_cost[t]
        for j in range(n):
            q[j] = after[j]
        q[n] = cash
        ev_day[events] = i
        ev_trades[events] = count
        ev_sells[events] = sells
        ev_total[events] = total_before
        ev_cost[events] = cost
        ev_q[events, :] = q
        events += 1
        trades += count
        last_key = keys[i]
    return hi, events, trades, False


def _worth_loading() -> bool:
    """Whether to use the compiled loop for this run: numba is loaded already, or this is
    the process's ``WARM_UP``-th array-path run or later, or ``POISE_JIT=1``."""
    if _state["compiled"] or "numba" in sys.modules or os.environ.get("POISE_JIT") == "1":
        return True
    _state["runs"] += 1
    return bool(_state["runs"] >= WARM_UP)


def _compile() -> bool:
    if _state["compiled"]:
        return True
    if not plan_compiled.compile():
        return False
    import numba

    space = globals()
    space["pairwise_sum"] = plan_compiled.pairwise_sum
    space["rebalance_to_target"] = plan_compiled.rebalance_to_target
    space["volatility_scales"] = policy_compiled.volatility_scales
    for name in ("prefix_sums", "_variance_bounds", "scale_bounds", "stretch"):
        space[name] = numba.njit(cache=True, nogil=True, error_model="numpy")(space[name])
    _state["compiled"] = True
    return True


class CompiledStretch:
    """What ``stretch`` needs of a run's policy, rules and days (built once per run)."""

    def __init__(self, state: Any, policy: Policy) -> None:
        self.policy = policy
        if type(policy) is CalendarPolicy:
            self.kind = _CALENDAR
            self.months = _MONTHS[str(policy.frequency)]
            self.check = False
        else:
            assert isinstance(policy, ThresholdPolicy | VolatilityPolicy)
            self.kind = _THRESHOLD if type(policy) is ThresholdPolicy else _VOLATILITY
            freq = policy.check_frequency
            self.check = freq is not None
            self.months = _MONTHS[str(freq)] if freq is not None else 1
        self.keys = np.ascontiguousarray(state.info.keys(self.months), dtype=np.int64)
        rules = state.household.trading
        self.rules = (
            bool(rules.fractional),
            float(rules.commission),
            float(rules.spread_bps),
            float(order_floor(rules)),
            float(rules.cash_reserve),
        )
        self.vol = np.zeros(4)
        if isinstance(policy, VolatilityPolicy):
            self.vol = np.array(
                [policy.window, policy.long_window, policy.min_scale, policy.max_scale], float
            )
        self._targets: np.ndarray | None = None
        self._threshold = np.zeros(0)
        self._base = np.zeros(0)
        self._hist: np.ndarray | None = None
        stub = np.zeros((1, 1))
        self._prefix = (stub, stub, stub, stub)

    def prefix(self, hist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The prefix sums of ``hist``'s returns for the volatility rule's scale bounds
        (``prefix_sums``), once per history; stubs for other rules."""
        if self.kind == _VOLATILITY and self._hist is not hist:
            rows, cols = hist.shape
            # the buffers are reused by the thread's next run: fresh pages cost more than
            # the sums (runs of one thread follow each other; a run uses them in advance)
            arrays = getattr(_buffers, "prefix", None)
            if arrays is None or arrays.shape != (3, rows, cols):
                arrays = _buffers.prefix = np.empty((3, rows, cols))
            err = np.empty((2, cols))
            prefix_sums(hist, arrays[0], arrays[1], arrays[2], err)
            self._prefix = (arrays[0], arrays[1], arrays[2], err)
            self._hist = hist
        return self._prefix

    def thresholds(self, target_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The policy's test, ``|weight - target| > bands + 1e-12``, as one array (for the
        volatility rule: its bands at the lowest scale, less the screens' margin), and the
        volatility rule's unscaled bands."""
        if self._targets is not target_w:
            self._targets = target_w
            p: Any = self.policy
            if self.kind == _THRESHOLD:
                self._threshold = np.ascontiguousarray(p.bands(target_w) + 1e-12)
            elif self.kind == _VOLATILITY:
                self._base = np.ascontiguousarray(half_bands(target_w, p.absolute, p.relative))
                low = min(p.min_scale, 1.0)
                self._threshold = self._base * low + (1e-12 - MARGIN)
            else:
                self._threshold = np.zeros(target_w.size)
        return self._threshold, self._base


def stretch_for(state: Any, policy: Policy, screen: bool) -> CompiledStretch | None:
    """A compiled stretch for this run, or None (the general loop runs every day)."""
    if not screen:
        return None
    if type(policy) is CalendarPolicy:
        pass
    elif type(policy) is ThresholdPolicy or type(policy) is VolatilityPolicy:
        if policy.rebalance_to is not RebalanceTo.TARGET:
            return None
    else:
        return None
    if state.household.allocation is not None:
        return None
    if not _worth_loading() or not _compile():
        return None
    return CompiledStretch(state, policy)


def advance(state: Any, fast: CompiledStretch, lo: int, hi: int) -> int:
    """Run days ``[lo, hi)`` (none of them scheduled) of an ``ArrayState`` in compiled code,
    and record what happened as the general loop would have. Returns ``hi``, or the first day
    the general loop must run instead (its plan leaves out a sell that would not cover its
    cost: the general code words the warning)."""
    names = state.names
    n = len(names) - 1
    cols = state.cols
    hist = state._history_matrix()
    target_w = np.ascontiguousarray(state.target_w, dtype=float)
    threshold, base = fast.thresholds(state.target_w)
    q = np.ascontiguousarray(state._q, dtype=float).copy()
    months = fast.months
    last = state.last_rebalanced
    last_key = -(2**62) if last is None else state.info.key_of(last, months)
    size = max(16, min(hi - lo, 4096))
    i = lo
    while i < hi:
        ev_day = np.empty(size, dtype=np.int64)
        ev_trades = np.empty(size, dtype=np.int64)
        ev_sells = np.empty(size, dtype=np.int64)
        ev_total = np.empty(size)
        ev_cost = np.empty(size)
        ev_q = np.empty((size, n + 1))
        room = size * 2 * n + 2 * n
        tr_index = np.empty(room, dtype=np.int64)
        tr_quantity = np.empty(room)
        tr_cost = np.empty(room)
        tr_held = np.empty(room)
        tr_price = np.empty(room)
        i, events, trades, general = stretch(
            hist,
            fast.prefix(hist),
            state.offset,
            i,
            hi,
            q,
            target_w,
            threshold,
            base,
            fast.vol,
            fast.kind,
            fast.keys,
            fast.check,
            last_key,
            *fast.rules,
            ev_day,
            ev_trades,
            ev_sells,
            ev_total,
            ev_cost,
            ev_q,
            tr_index,
            tr_quantity,
            tr_cost,
            tr_held,
            tr_price,
        )
        if events:
            batch = CompiledPlans(
                days=ev_day[:events],
                trades=ev_trades[:events],
                sells=ev_sells[:events],
                totals=ev_total[:events],
                index=tr_index[:trades],
                quantity=tr_quantity[:trades],
                cost=tr_cost[:trades],
                held=tr_held[:trades],
                price=tr_price[:trades],
                names=names,
                cols=cols,
                target_w=state.target_w,
                bands=None,
            )
            _record(state, fast, batch, ev_q[:events], ev_cost[:events])
            last_key = int(fast.keys[ev_day[events - 1]])
        if general:
            return i
    return hi


def _record(
    state: Any, fast: CompiledStretch, batch: Any, holdings: np.ndarray, costs: np.ndarray
) -> None:
    """Book a batch of compiled rebalances on ``state`` as ``ArrayRebalance`` would have:
    the rebalance rows, the holdings of each day, the positions opened and closed, and the
    trades. The policy's decisions (for the rows' reasons and the trades' bands) are asked
    when they are first needed (``CompiledPlans.decisions``), on the contexts the general loop
    would have built: the weights of all the batch's days are computed here at once, as
    ``BacktestState.weights`` computes each."""
    n = len(state.names) - 1
    cols = state.cols
    days = batch.days
    events = days.size
    universe = np.zeros((events, len(state.universe)))
    universe[:, cols] = holdings[:, :n]
    previous = np.empty_like(holdings)  # the holdings each day's decision sees
    previous[0] = state._q
    previous[1:] = holdings[:-1]
    hist = state._history_matrix()
    values = hist[state.offset + days] * previous
    totals = values.sum(axis=1)
    weights = np.where(
        (totals > 0)[:, None], values / np.where(totals > 0, totals, 1.0)[:, None], 0.0
    )
    held = holdings[:, :n] > 0
    was = previous[:, :n] > 0
    changed = np.flatnonzero((held != was).any(axis=1)).tolist()
    starts = (np.cumsum(batch.trades) - batch.trades).tolist()
    opened = state._opened
    for e in changed:  # positions closed, then opened in the order they were bought
        for j in np.flatnonzero(was[e] & ~held[e]).tolist():
            opened.pop(int(cols[j]), None)
        start = starts[e]
        for t in range(start + int(batch.sells[e]), start + int(batch.trades[e])):
            j = int(batch.index[t])
            if not was[e, j] and held[e, j]:
                opened[int(cols[j])] = None
    counts = batch.trades.tolist()
    cash = holdings[:, n].tolist()
    costs_list = costs.tolist()
    rows, segments = state.rebalance_rows, state.segments
    batch.context = (weights, state.last_rebalanced, len(rows), state.offset, hist, state.policy)
    day = state.day
    for e, i in enumerate(days.tolist()):  # reasons worded on first use (``decisions``)
        rows.append((day(i), None, counts[e], costs_list[e], _REBALANCE))
        segments.append((i, universe[e], cash[e]))
    state.i = int(days[-1])
    state.last_rebalanced = day(state.i)
    q = holdings[-1].copy()
    state.quantity[cols] = q[:n]
    state.cash = float(q[n])
    state._q = q
    state.qty_names = q[:n]
    state.cash_total = float(q[n])
    state._plans.append(batch)


_REBALANCE = TradeKind.REBALANCE
_ACTIONS = np.array([int(Action.SELL_TO_TARGET), int(Action.BUY_TO_TARGET)], dtype=np.int64)
_TEXTS = [action_text(a) if a != Action.WITHDRAWAL else "" for a in Action]


@dataclass(eq=False)
class CompiledPlans:
    """The rebalances to target of one compiled stretch: per event its day, trades, sells and
    value before; per trade its symbol position (in ``names``), shares, cost, shares held
    before and price, and the band half-width the day's decision gave its symbol (``bands``,
    None when the rule has no bands). ``names``, ``cols`` and ``target_w`` are the view they
    were planned in."""

    days: np.ndarray
    trades: np.ndarray
    sells: np.ndarray
    totals: np.ndarray
    index: np.ndarray
    quantity: np.ndarray
    cost: np.ndarray
    held: np.ndarray
    price: np.ndarray
    names: tuple[str, ...]
    cols: np.ndarray
    target_w: np.ndarray
    bands: np.ndarray | None
    # (weights of each day, last rebalanced before the batch, first row in the state's
    # rebalance rows, price offset, history matrix, policy): what ``decisions`` asks on
    context: tuple[Any, ...] | None = None
    _decided: bool = False

    @property
    def size(self) -> int:
        return int(self.index.size)

    def decisions(self, state: Any) -> None:
        """Ask the policy about each day of the batch, on the context the general loop would
        have built, and fill in the reasons of the batch's rebalance rows and the band of
        each trade. Once; the compiled loop and the policy must agree (else AssertionError).
        """
        if self._decided or self.context is None:
            return
        weights, last, first_row, offset, hist, policy = self.context
        rows = state.rebalance_rows
        names, target_w = self.names, self.target_w
        bands: list[np.ndarray | None] = []
        for e, i in enumerate(self.days.tolist()):
            day = state.day(i)
            context = PolicyContext(
                day,
                names,
                weights[e],
                target_w,
                last,
                state.day(i - 1) if i > 0 else None,
                hist[: offset + i + 1],
            )
            decision = policy.decide(context)
            if not decision.triggered:
                raise AssertionError(f"compiled loop and {policy!r} disagree on day {i}")
            bands.append(decision.half_bands)
            last = day
            row = rows[first_row + e]
            rows[first_row + e] = (row[0], "; ".join(decision.reasons), *row[2:])
        if any(b is not None for b in bands):  # each trade's band, as the day's decision drew it
            none = np.full(len(names), np.inf)
            by_event = np.stack([none if b is None else b for b in bands])
            self.bands = by_event[np.repeat(np.arange(self.days.size), self.trades), self.index]
        self._decided = True

    def _trade_bands(self, state: Any) -> None:
        """Each trade's band (``bands``) for its reason, as the day's decision draws it:
        none for a calendar rule, the threshold rule's bands of the targets (the same every
        day), and for the volatility rule the policy's decisions themselves."""
        if self._decided or self.context is None:
            return
        policy = self.context[-1]
        if type(policy) is CalendarPolicy:
            self.bands = None
        elif type(policy) is ThresholdPolicy:
            self.bands = policy.bands(self.target_w)[self.index]
        else:
            self.decisions(state)

    def is_sell(self) -> np.ndarray:
        position = np.arange(self.size) - np.repeat(
            np.cumsum(self.trades) - self.trades, self.trades
        )
        return position < np.repeat(self.sells, self.trades)

    def columns(self, state: Any, reasons: bool = True) -> dict[str, Any]:
        """The trades as ``TRADE_COLUMNS``, reasons worded as the engine words them (None
        without ``reasons``)."""
        n = self.size
        index = self.index
        sell = self.is_sell()
        total = np.repeat(self.totals, self.trades)
        positive = total > 0
        held, price = self.held, self.price
        weights = np.where(positive, held * price / np.where(positive, total, 1.0), 0.0)
        symbols = np.array(state.universe, dtype=object)[self.cols[index]]
        worded = None
        if reasons:
            self._trade_bands(state)
            actions = np.where(sell, _ACTIONS[0], _ACTIONS[1])
            worded = np.array(
                reason_texts(symbols, weights, self.target_w[index], self.bands, actions, _TEXTS),
                dtype=object,
            )
        return {
            "date": np.repeat(state.days[self.days], self.trades),
            "account": np.full(n, state.account, dtype=object),
            "symbol": symbols,
            "side": np.where(sell, Side.SELL.value, Side.BUY.value).astype(object),
            "quantity": self.quantity,
            "price": price,
            "value": self.quantity * price,
            "cost": self.cost,
            "realized_short_term": np.zeros(n),
            "realized_long_term": np.zeros(n),
            "reason": worded,
            "kind": np.full(n, TradeKind.REBALANCE, dtype=object),
        }

    def trade_lists(self, state: Any) -> list[tuple[Any, ...]]:
        """Each event's trades: (day, universe columns, sells, quantities, prices, costs)."""
        out = []
        start = 0
        cols = self.cols[self.index].tolist()
        sell = self.is_sell().tolist()
        quantity, price, cost = self.quantity.tolist(), self.price.tolist(), self.cost.tolist()
        for i, count in zip(self.days.tolist(), self.trades.tolist(), strict=True):
            end = start + count
            out.append(
                (
                    state.day(i),
                    cols[start:end],
                    sell[start:end],
                    quantity[start:end],
                    price[start:end],
                    cost[start:end],
                )
            )
            start = end
        return out
