"""Monte Carlo of a household's future: block bootstrap of historical returns, with the
household's rebalancing rule and monthly cash flows applied on every path.

How a path is drawn
-------------------
Steps are months of ``STEP_DAYS`` = 21 trading days. A block is ``block_months`` consecutive
months of real history: it starts on a random trading day *s* of the price table and its
*j*-th month returns ``P[s + 21(j+1)] / P[s + 21j]`` for every asset at once (so the cross-
section of returns, their fat tails and their short-run autocorrelation are kept). Paths are
blocks laid end to end, drawn independently; cash earns nothing.

What happens at each step (the close of a month)
------------------------------------------------
1. Positions grow by the month's returns.
2. The household's policy decides on the weights *before* the month's cash flow, as
   ``poise.plan.plan_rebalance`` does: threshold bands (``half_bands`` of the policy's
   absolute/relative bands) are checked each step, or on the first step of each new
   ``check_frequency`` period; a calendar policy fires on the first step of a new period;
   ``AnyOf`` fires if any part fires; buy-and-hold and cash-flow policies never sell.
3. The contribution (or withdrawal) is placed as the engine places it: a triggered rebalance
   goes to target (or to the band edge, ``rebalance_to = "band"``); otherwise a deposit buys
   what is most underweight first (water-filling) and a withdrawal is paid from cash first,
   then by selling what is most overweight.
4. Trading costs (``spread_bps`` of each traded value plus ``commission`` per traded asset)
   are taken from the new positions pro rata.

Simplifications against the day-by-day backtest, shown as ``notes`` in every result: the rule
is checked monthly, shares are fractional, the household is one pot (no accounts, lots or
taxes), and volatility-adjusted bands run at their base width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise._errors import DataError, InputError
from poise._progress import ProgressCallback, Throttled
from poise.calendar import add_months, period_index
from poise.costs import CostModel
from poise.model import CASH, Household
from poise.plan._sizing import level_fill_rows
from poise.policy import (
    BandTrigger,
    CalendarTrigger,
    Frequency,
    NoTrigger,
    Policy,
    Trigger,
    trigger_of,
)

__all__ = [
    "STEP_DAYS",
    "GoalOutcome",
    "MonteCarloResult",
    "MonteCarloSettings",
    "StepRule",
    "TailRisk",
    "ValueGoal",
    "add_months",
    "bootstrap_steps",
    "monte_carlo",
    "months_between",
    "simulate_paths",
    "step_gross_table",
    "step_rule",
]

STEP_DAYS = 21
"""Trading days per monthly step."""

_EPS = 1e-9


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``: the last step on or before ``end``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


@dataclass(frozen=True, slots=True)
class ValueGoal:
    """A target amount to have by a date."""

    amount: float
    when: date

    def __str__(self) -> str:
        return f"{self.amount:,.0f} by {self.when}"


@dataclass(frozen=True, slots=True)
class MonteCarloSettings:
    """What to simulate.

    Attributes
    ----------
    paths : int
        Number of simulated paths.
    years : int
        Horizon; the paths have ``12 × years`` monthly steps.
    block_months : int
        Length of each bootstrap block in months.
    contribution : float
        Cash added at the close of every month (negative: withdrawn).
    seed : int or None
        Random seed; the same seed gives the same paths.
    levels : tuple of float
        Confidence levels for VaR and CVaR (0.95 = the worst 5%).
    goals : tuple of ValueGoal
        Amounts to reach by dates.
    """

    paths: int = 10_000
    years: int = 30
    block_months: int = 12
    contribution: float = 0.0
    seed: int | None = 0
    levels: tuple[float, ...] = (0.95, 0.99)
    goals: tuple[ValueGoal, ...] = ()

    def __post_init__(self) -> None:
        if self.paths < 1:
            raise InputError(f"must be at least 1, got {self.paths}", field="paths")
        if self.years < 1:
            raise InputError(f"must be at least 1 year, got {self.years}", field="years")
        if self.block_months < 1:
            raise InputError(
                f"must be at least 1 month, got {self.block_months}", field="block_months"
            )
        if not math.isfinite(self.contribution):
            raise InputError("must be a number", field="contribution")
        for level in self.levels:
            if not 0 < level < 1:
                raise InputError(
                    f"a confidence level is between 0 and 1 (0.95), got {level}", field="levels"
                )

    @property
    def steps(self) -> int:
        return 12 * self.years


# --------------------------------------------------------------------------- the rule, vectorised


@dataclass(frozen=True, slots=True)
class _Bands:
    bands: np.ndarray
    check: Frequency | None
    to_band: bool


@dataclass(frozen=True, slots=True)
class _Calendar:
    frequency: Frequency


@dataclass(frozen=True, slots=True)
class StepRule:
    """A policy turned into vectorised checks on a monthly grid.

    ``parts`` are band checks and calendars; the rule fires on a path when any part fires;
    a firing calendar or to-target band takes the path to target, otherwise to the band edge
    of ``merged_bands`` (the tightest bands given). ``notes`` say what was approximated.
    """

    parts: tuple[_Bands | _Calendar, ...] = ()
    notes: tuple[str, ...] = ()
    invests_idle: bool = False  # a cash-flow policy: idle cash is invested like a deposit

    @property
    def merged_bands(self) -> np.ndarray | None:
        bands = [p.bands for p in self.parts if isinstance(p, _Bands)]
        return np.minimum.reduce(bands) if bands else None

    @property
    def rebalances(self) -> bool:
        return bool(self.parts)

    def frequencies(self) -> set[Frequency]:
        out: set[Frequency] = set()
        for part in self.parts:
            if isinstance(part, _Calendar):
                out.add(part.frequency)
            elif part.check is not None:
                out.add(part.check)
        return out

    def decide(
        self,
        weights: np.ndarray,
        target: np.ndarray,
        t: int,
        last_rebalanced: np.ndarray,
        periods: Mapping[Frequency, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """(fires, to_target) per path at step ``t``, on the weights before the step's cash
        flow. ``last_rebalanced`` holds each path's step of its last rebalance (-1: never);
        ``periods[f][t]`` numbers the calendar period of step ``t``."""
        n = weights.shape[0]
        fires = np.zeros(n, dtype=bool)
        to_target = np.zeros(n, dtype=bool)
        for part in self.parts:
            if isinstance(part, _Calendar):
                keys = periods[part.frequency]
                hit = (last_rebalanced < 0) | (keys[np.maximum(last_rebalanced, 0)] != keys[t])
                fires |= hit
                to_target |= hit
                continue
            if (
                part.check is not None
                and t > 0
                and periods[part.check][t] == periods[part.check][t - 1]
            ):
                continue
            hit = np.einsum("ij->i", np.abs(weights - target) > part.bands + 1e-12)  # any
            fires |= hit
            if not part.to_band:
                to_target |= hit
        return fires, to_target


def step_rule(policy: Policy | Any, target: np.ndarray) -> StepRule:
    """Translate a household policy into a ``StepRule`` over ``target`` (``CASH`` last).

    Raises
    ------
    InputError
        For a policy kind the Monte Carlo cannot run.
    """
    trigger = trigger_of(policy)
    if trigger is not None:
        return _rule_of(trigger, target)
    describe = getattr(policy, "describe", lambda: type(policy).__name__)()
    raise InputError(
        f"the Monte Carlo cannot run the policy {describe!r}: it declares no trigger (see "
        "poise.policy.trigger_of); use a calendar, threshold, cash_flow, volatility, never or "
        "any_of policy",
        field="policy",
    )


def _rule_of(trigger: Trigger, target: np.ndarray) -> StepRule:
    if isinstance(trigger, NoTrigger):
        return StepRule(invests_idle=trigger.invests_idle)
    if isinstance(trigger, CalendarTrigger):
        return StepRule((_Calendar(trigger.frequency),))
    if isinstance(trigger, BandTrigger):
        part = _Bands(trigger.bands(target), trigger.check_frequency, trigger.to_band)
        return StepRule((part,), (trigger.note,) if trigger.note else ())
    rules = [_rule_of(p, target) for p in trigger.parts]
    return StepRule(
        tuple(p for r in rules for p in r.parts),
        tuple(dict.fromkeys(n for r in rules for n in r.notes)),
        any(r.invests_idle for r in rules),
    )


# --------------------------------------------------------------------------- placing cash


def _rowsum(x: np.ndarray) -> np.ndarray:
    """Sum of each row (``einsum`` is several times faster than ``sum(axis=1)`` on the short
    rows here, and gives the same bits whatever the number of rows)."""
    return np.einsum("ij->i", x)


def _rowcount(mask: np.ndarray) -> np.ndarray:
    """True entries in each row of a boolean array."""
    if mask.shape[1] < 256:
        return np.einsum("ij->i", mask.view(np.uint8))
    return mask.sum(axis=1)


def _waterfill(
    gaps: np.ndarray, amount: np.ndarray, weights: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """``poise.plan.waterfill`` row by row: spread ``amount[p]`` over row ``p``'s gaps, largest
    first (to the level L with Σ max(gap − L, 0) = amount); beyond the positive gaps, in
    proportion to ``weights``. With ``mask``, only the masked assets take part."""
    n = gaps.shape[1]
    if mask is not None:
        gaps = np.where(mask, gaps, 0.0)
        weights = np.where(mask, weights, 0.0)
    else:
        weights = np.broadcast_to(weights, gaps.shape)
    amount = np.maximum(amount, 0.0)
    positive = np.maximum(gaps, 0.0)
    rows = np.arange(len(positive))
    # Most often the amount only tops up the largest gap: the level g1 − a is at or above
    # every other gap, so no sort is needed.
    top = positive.argmax(axis=1)
    above = positive > (positive[rows, top] - amount)[:, None]
    one = (_rowcount(above) == 1) & (amount > 0)
    out = np.zeros_like(positive)
    out[rows[one], top[one]] = amount[one]
    many = ~one & (amount > 0)
    if many.any():
        pos, a = positive[many], amount[many]
        ordered = np.sort(pos, axis=1)[:, ::-1]
        cumulative = np.cumsum(ordered, axis=1)
        levels = (cumulative - a[:, None]) / np.arange(1, n + 1)
        nxt = np.empty_like(ordered)
        nxt[:, :-1] = ordered[:, 1:]
        nxt[:, -1] = -np.inf
        first = np.argmax(levels >= nxt, axis=1)
        level = np.maximum(levels[np.arange(len(levels)), first], 0.0)
        fill = np.maximum(pos - level[:, None], 0.0)
        rest = np.maximum(a - cumulative[:, -1], 0.0)
        if rest.any():
            w = weights[many]
            wsum = w.sum(axis=1, keepdims=True)
            if mask is not None:
                m = mask[many]
                uniform = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
            else:
                uniform = np.full(w.shape, 1.0 / n)
            share = np.where(wsum > 0, w / np.where(wsum > 0, wsum, 1.0), uniform)
            fill += rest[:, None] * share
        out[many] = fill
    return out


def _capped_fill(
    gaps: np.ndarray, amount: np.ndarray, caps: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """The engine's levelled fill (``poise.plan._sizing.level_fill_rows``), row by row: take
    ``amount`` from the largest gaps first, never more than ``caps`` (masked entries: none)."""
    if mask is not None:
        caps = np.where(mask, caps, 0.0)
    return level_fill_rows(gaps, amount, caps)


def _withdraw(values: np.ndarray, goal: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """A withdrawal without a rebalance, as the engine makes it: paid from cash first; the
    rest raised by selling what is most above its goal after the withdrawal first, levelled
    (``level_fill``)."""
    cash = values[:, -1]
    from_cash = np.minimum(amount, np.maximum(cash, 0.0))
    rest = amount - from_cash
    out = values.copy()
    if (rest > _EPS).any():
        held = values[:, :-1]
        sells = _capped_fill(held - goal[:, :-1], rest, held)
        out[:, :-1] -= sells
        out[:, -1] = cash + sells.sum(axis=1) - amount
    else:
        out[:, -1] = cash - amount
    return out


def _place(
    values: np.ndarray,
    value: np.ndarray,
    flow: np.ndarray,
    target: np.ndarray,
    fires: np.ndarray,
    to_target: np.ndarray,
    bands: np.ndarray | None,
    invests_idle: bool = False,
) -> np.ndarray:
    """The values each path should end the step at, after its cash flow (as the engine);
    ``value`` is each path's total before the flow. ``invests_idle``: a cash-flow policy,
    whose idle cash is invested with each deposit (``desired_values``' ``idle``)."""
    total = value + flow
    goal = target[None, :] * total[:, None]
    # Untriggered paths: cash-flow first (computed for every path, then overridden).
    deposit = flow >= 0
    if invests_idle:
        idle = np.maximum(values[:, -1] + flow, 0.0) - flow
        base = values.copy()
        base[:, -1] -= idle
        inflow = flow + idle
    else:
        base, inflow = values, flow
    if deposit.all():
        desired = base + _waterfill(goal - base, inflow, target)
    else:
        desired = values.copy()
        if deposit.any():
            v, g = base[deposit], goal[deposit]
            desired[deposit] = v + _waterfill(g - v, inflow[deposit], target)
        wd = ~deposit
        desired[wd] = _withdraw(values[wd], goal[wd], -flow[wd])

    full = fires & to_target
    if full.any():
        desired = np.where(full[:, None], goal, desired)

    band = fires & ~to_target
    if band.any():
        assert bands is not None
        cur = values[band].copy()
        cur[:, -1] += flow[band]
        tot = total[band]
        safe_tot = np.where(tot > 0, tot, 1.0)[:, None]
        w_now = np.where(tot[:, None] > 0, cur / safe_tot, cur)
        low, high = target - bands, target + bands
        breach = (w_now < low - 1e-12) | (w_now > high + 1e-12)
        d = np.where(breach, np.clip(w_now, low, high) * tot[:, None], cur)
        free = ~breach | breach.all(axis=1, keepdims=True)  # all breach: all are free
        slack = tot - d.sum(axis=1)
        g = goal[band]
        up = slack > 0
        d += _waterfill(g - d, np.where(up, slack, 0.0), target, free)
        down = slack < 0
        if down.any():
            d[down] -= _capped_fill((d - g)[down], -slack[down], d[down], free[down])
        desired[band] = d
    return desired


# --------------------------------------------------------------------------- paths


def simulate_paths(
    step_gross: Callable[[int, slice], np.ndarray],
    paths: int,
    steps: int,
    target: np.ndarray,
    rule: StepRule,
    step_dates: Sequence[date],
    *,
    initial_values: np.ndarray,
    contribution: float = 0.0,
    spread_bps: float = 0.0,
    commission: float = 0.0,
    costs: CostModel | None = None,
    invested_at_target: bool = True,
    chunk: int = 2048,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run ``rule`` over every path, vectorised across paths.

    Parameters
    ----------
    step_gross : callable
        ``step_gross(t, rows)`` gives the gross returns ``1 + r`` of step ``t`` (1..steps) for
        the paths in the slice ``rows``: an array paths × assets with ``CASH`` last.
    paths, steps : int
        Number of paths and of monthly steps.
    target : ndarray
        Target weights, ``CASH`` last.
    rule : StepRule
        The household's policy (see ``step_rule``).
    step_dates : sequence of date
        The close of each step, ``steps + 1`` of them (index 0 is the start).
    initial_values : ndarray
        Values per asset at the start (one row for all paths, or paths × assets).
    contribution : float
        Cash flow at each step's close (negative: a withdrawal, at most the whole value).
    spread_bps, commission : float
        Trading costs, when ``costs`` is not given.
    costs : CostModel, optional
        The trading-cost model (``household.trading.costs``); its cost must depend on value
        alone (the paths hold values, not shares).
    invested_at_target : bool
        True when ``initial_values`` are at target (the start counts as a rebalance);
        otherwise the rule is applied at step 0 as a live plan would.
    chunk : int
        Paths simulated together (small enough for the CPU cache; the result does not depend
        on it).
    on_step : callable, optional
        Called with the number of path-steps done so far (progress).

    Returns
    -------
    dict of ndarray
        ``values`` (paths × steps+1, total value), ``index`` (flow-adjusted growth of 1 per
        path), ``max_drawdown``, ``rebalances``, ``costs``, ``traded`` and ``depleted``.
    """
    out = {
        "values": np.empty((paths, steps + 1)),
        "index": np.empty(paths),
        "max_drawdown": np.empty(paths),
        "rebalances": np.empty(paths, dtype=np.int64),
        "costs": np.empty(paths),
        "traded": np.empty(paths),
        "depleted": np.empty(paths, dtype=bool),
    }
    periods = {f: np.array([period_index(d, f) for d in step_dates]) for f in rule.frequencies()}
    model = CostModel(commission, spread_bps) if costs is None else costs
    if model.per_share:
        raise ValueError("the Monte Carlo holds values, not shares: per-share costs are refused")
    initial = np.atleast_2d(np.asarray(initial_values, dtype=float))
    done = 0
    for begin in range(0, paths, chunk):
        rows = slice(begin, min(begin + chunk, paths))
        start = initial if initial.shape[0] == 1 else initial[rows]
        part = _run_chunk(
            step_gross,
            rows,
            steps,
            target,
            rule,
            periods,
            start,
            contribution,
            model,
            invested_at_target,
        )
        for key, value in part.items():
            out[key][rows] = value
        done += (rows.stop - rows.start) * steps
        if on_step is not None:
            on_step(done)
    return out


def _run_chunk(
    step_gross: Callable[[int, slice], np.ndarray],
    rows: slice,
    steps: int,
    target: np.ndarray,
    rule: StepRule,
    periods: Mapping[Frequency, np.ndarray],
    initial: np.ndarray,
    contribution: float,
    cost_model: CostModel,
    invested_at_target: bool,
) -> dict[str, np.ndarray]:
    n_paths = rows.stop - rows.start
    n_assets = target.shape[0]
    values = np.broadcast_to(initial, (n_paths, n_assets)).copy()
    totals = np.empty((n_paths, steps + 1))
    growth = np.ones(n_paths)
    peak = np.ones(n_paths)
    max_dd = np.zeros(n_paths)
    rebalances = np.zeros(n_paths, dtype=np.int64)
    costs = np.zeros(n_paths)
    traded = np.zeros(n_paths)
    depleted = np.zeros(n_paths, dtype=bool)
    last = np.full(n_paths, -1, dtype=np.int64)
    bands = rule.merged_bands
    no_fire = np.zeros(n_paths, dtype=bool)

    def settle(t: int, before: np.ndarray, total: np.ndarray, flow: np.ndarray) -> np.ndarray:
        if rule.rebalances:
            weights = before / np.where(total > 0, total, 1.0)[:, None]
            fires, to_target = rule.decide(weights, target, t, last, periods)
            fires &= total > 0
        else:
            fires = to_target = no_fire
        desired = _place(before, total, flow, target, fires, to_target, bands, rule.invests_idle)
        trade = np.abs(desired[:, :-1] - before[:, :-1])  # CASH (last) is not traded
        moved = _rowsum(trade)
        if not cost_model.free:
            cost = cost_model.total_cost(moved, _rowcount(trade > 1e-6))
            kept = _rowsum(desired)
            scale = np.divide(
                np.maximum(kept - cost, 0.0), kept, out=np.zeros_like(kept), where=kept > 0
            )
            desired *= scale[:, None]
            costs[:] += cost
        traded[:] += moved
        if fires.any():
            rebalances[fires] += 1
            last[fires] = t
        return desired

    if invested_at_target:
        last[:] = 0
    else:
        values = settle(0, values, _rowsum(values), np.zeros(n_paths))
    start_total = _rowsum(values)
    totals[:, 0] = start_total
    flow = np.full(n_paths, contribution)
    for t in range(1, steps + 1):
        before = values * step_gross(t, rows)
        grown = _rowsum(before)
        if contribution < 0:
            flow = np.maximum(contribution, -grown)  # a withdrawal takes at most everything
            depleted |= grown + contribution <= _EPS
        values = settle(t, before, grown, flow)
        end_total = _rowsum(values)
        totals[:, t] = end_total
        growth *= np.divide(
            end_total - flow, start_total, out=np.ones(n_paths), where=start_total > 0
        )
        np.maximum(peak, growth, out=peak)
        np.maximum(max_dd, 1.0 - growth / peak, out=max_dd)
        start_total = end_total
    return {
        "values": totals,
        "index": growth,
        "max_drawdown": max_dd,
        "rebalances": rebalances,
        "costs": costs,
        "traded": traded,
        "depleted": depleted,
    }


# --------------------------------------------------------------------------- bootstrap


def step_gross_table(prices: np.ndarray, step_days: int = STEP_DAYS) -> np.ndarray:
    """Gross return over ``step_days`` from every starting day: row *s* is
    ``P[s + step_days] / P[s]`` (rows: days that have ``step_days`` days after them)."""
    return prices[step_days:] / prices[:-step_days]


def bootstrap_steps(
    n_days: int,
    paths: int,
    steps: int,
    block_months: int,
    rng: np.random.Generator,
    step_days: int = STEP_DAYS,
) -> np.ndarray:
    """Start day of every block of every path (paths × blocks), uniform over the days that
    have a whole block of history after them."""
    span = block_months * step_days
    last_start = n_days - 1 - span
    if last_start < 0:
        raise DataError(
            f"the price history has {n_days} common trading days; a block of {block_months} "
            f"month(s) needs at least {span + 1}; use a shorter `block_months` or a "
            "longer history"
        )
    blocks = -(-steps // block_months)
    return rng.integers(0, last_start + 1, size=(paths, blocks))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class GoalOutcome:
    """How often the goal's amount is there on its date (``probability``), and how often it
    is reached on some month-end by then (``probability_touched``)."""

    goal: ValueGoal
    step: int
    probability: float
    probability_touched: float
    median_value: float


@dataclass(frozen=True, slots=True)
class TailRisk:
    """Value at risk and conditional value at risk of the loss against what was put in
    (initial value plus contributions) over ``months``.

    ``var`` is the loss exceeded with probability ``1 − level``; ``cvar`` the mean loss beyond
    it; both in currency (negative: even the tail gains) and as a fraction of what was put in.
    """

    level: float
    months: int
    var: float
    cvar: float
    var_fraction: float
    cvar_fraction: float


@dataclass(frozen=True)
class MonteCarloResult:
    """The simulated paths of a household's total value and their statistics.

    ``values`` is paths × (steps + 1): the total value at the start and at each month-end,
    after that month's cash flow. ``invested`` is what was put in by each step: the initial
    value plus the contributions (withdrawals count negative), never below zero.
    """

    settings: MonteCarloSettings
    symbols: tuple[str, ...]
    step_dates: tuple[date, ...]
    values: np.ndarray
    invested: np.ndarray
    growth: np.ndarray
    max_drawdown: np.ndarray
    rebalances: np.ndarray
    costs: np.ndarray
    traded: np.ndarray
    depleted: np.ndarray
    block_starts: np.ndarray
    history: tuple[date, date]
    policy: str
    notes: tuple[str, ...] = field(default=())

    @property
    def terminal(self) -> np.ndarray:
        return self.values[:, -1]

    def percentiles(self, q: Sequence[float] = (5, 25, 50, 75, 95)) -> pd.DataFrame:
        """Percentiles of the total value per month-end (rows: dates; columns: ``q``)."""
        data = np.percentile(self.values, list(q), axis=0).T
        return pd.DataFrame(data, index=pd.DatetimeIndex(self.step_dates), columns=list(q))

    def goal(self, goal: ValueGoal) -> GoalOutcome:
        step = months_between(self.step_dates[0], goal.when)
        if step < 0:
            raise InputError(
                f"goal date {goal.when} is before the start {self.step_dates[0]}", field="goal"
            )
        if step > len(self.step_dates) - 1:
            raise InputError(
                f"goal date {goal.when} is after the horizon {self.step_dates[-1]}; raise `years`",
                field="goal",
            )
        at = self.values[:, step]
        touched = (self.values[:, : step + 1] >= goal.amount).any(axis=1)
        return GoalOutcome(
            goal,
            step,
            float((at >= goal.amount).mean()),
            float(touched.mean()),
            float(np.median(at)),
        )

    def tail(self, level: float, months: int | None = None) -> TailRisk:
        """VaR and CVaR at ``level`` of the loss over the first ``months`` (default: all)."""
        step = len(self.step_dates) - 1 if months is None else min(months, len(self.values[0]) - 1)
        put_in = float(self.invested[step])
        loss = put_in - self.values[:, step]
        var = float(np.quantile(loss, level))
        cvar = float(loss[loss >= var].mean())
        scale = put_in if put_in > 0 else float("nan")
        return TailRisk(level, step, var, cvar, var / scale, cvar / scale)

    def annualised_returns(self) -> np.ndarray:
        """Time-weighted annualised return of each path (cash flows taken out)."""
        years = (len(self.step_dates) - 1) / 12
        return np.power(np.maximum(self.growth, 0.0), 1.0 / years) - 1.0

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: use ``poise.report.monte_carlo_to_dict``."""
        import warnings

        from poise.report import monte_carlo_to_dict

        warnings.warn(
            "MonteCarloResult.to_dict() is deprecated; use poise.report.monte_carlo_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return monte_carlo_to_dict(self)


@contextmanager
def _progress(
    callback: ProgressCallback | None, total: int, label: str
) -> Iterator[Callable[[int], None] | None]:
    if callback is None:
        yield None
        return
    bar = Throttled(callback, label, total)
    try:
        yield bar.advance
    finally:
        bar.finish()


def history_notes(index: pd.Index, years: float, dataset: str | None) -> list[str]:
    """Warnings about what the bootstrap draws from: a history much shorter than the horizon
    (the paths re-use the same few years), and the bundled stocks' survivorship."""
    notes = []
    span = (pd.Timestamp(index[-1]) - pd.Timestamp(index[0])).days / 365.25 if len(index) else 0
    if span < years:
        notes.append(
            f"warning: the price history covers {span:.1f} years for a {years:g}-year horizon: "
            "every path re-uses blocks of those few years, so the fan is narrower and more "
            "like them than the future is likely to be; use a longer history or a shorter "
            "--years"
        )
    if dataset == "sp500":
        notes.append(
            "the bundled S&P 500 stocks are today's large companies picked with hindsight "
            "(survivors); their past returns overstate what a portfolio picked at the start "
            "would have earned, so these paths are optimistic"
        )
    return notes


def monte_carlo(
    household: Household,
    prices: pd.DataFrame,
    settings: MonteCarloSettings | None = None,
    *,
    initial_value: float = 100_000.0,
    initial_weights: Mapping[str, float] | None = None,
    targets: Mapping[str, float] | None = None,
    start: date | None = None,
    progress: ProgressCallback | None = None,
) -> MonteCarloResult:
    """Simulate the household's total value with its rule and monthly cash flows.

    Parameters
    ----------
    household : Household
        Targets, policy and trading costs (``spread_bps``, ``commission``).
    prices : DataFrame
        Daily adjusted closes to bootstrap from; the rows where every needed symbol has a
        price are used.
    settings : MonteCarloSettings, optional
        Paths, horizon, block length, contribution, seed, VaR levels and goals.
    initial_value : float
        Total value at the start.
    initial_weights : mapping, optional
        Weights at the start (e.g. of current holdings; symbols outside the targets are held
        at target 0). By default the household starts invested at target.
    targets : mapping, optional
        Target weights instead of ``household.targets``.
    start : date, optional
        The start date (month 0); default the last day of ``prices``.
    progress : ProgressCallback, optional
        Told ``(label, path-steps done, path-steps)`` as the paths advance.

    Raises
    ------
    DataError
        Too little common history for one block.
    """
    s = settings or MonteCarloSettings()
    goal_targets = dict(targets if targets is not None else household.targets)
    symbols = [k for k in goal_targets if k != CASH]
    if initial_weights is not None:
        symbols += [k for k in initial_weights if k != CASH and k not in symbols]
    missing = [k for k in symbols if k not in prices.columns]
    if missing:
        raise InputError(
            f"the prices have no column for {', '.join(missing)}; add them", field="prices"
        )
    history = prices[symbols].dropna()
    if history.empty:
        raise DataError(
            f"no day has a price for all of {', '.join(symbols)}; check the prices file"
        )
    names = (*symbols, CASH)
    target = np.array([goal_targets.get(k, 0.0) for k in names])
    if initial_weights is None:
        start_w = target.copy()
    else:
        start_w = np.array([float(initial_weights.get(k, 0.0)) for k in names])
        if abs(start_w.sum() - 1.0) > 1e-6:
            raise InputError(f"initial weights sum to {start_w.sum():.6g}, not 1")
    if not initial_value > 0:
        raise InputError(f"must be positive, got {initial_value:g}", field="initial_value")
    rule = step_rule(household.policy, target)
    begin = start or pd.Timestamp(prices.index[-1]).date()
    dates = tuple(add_months(begin, t) for t in range(s.steps + 1))

    table = step_gross_table(history.to_numpy(dtype=float))
    table = np.column_stack([table, np.ones(len(table))])
    rng = np.random.default_rng(s.seed)
    starts = bootstrap_steps(len(history), s.paths, s.steps, s.block_months, rng)

    def gross(t: int, rows: slice) -> np.ndarray:
        block, month = divmod(t - 1, s.block_months)
        return np.take(table, starts[rows, block] + STEP_DAYS * month, axis=0)

    with _progress(progress, s.steps * s.paths, "Monte Carlo") as on_step:
        out = simulate_paths(
            gross,
            s.paths,
            s.steps,
            target,
            rule,
            dates,
            initial_values=start_w * initial_value,
            contribution=s.contribution,
            costs=household.trading.costs,
            invested_at_target=initial_weights is None,
            on_step=on_step,
        )
    invested = initial_value + s.contribution * np.arange(s.steps + 1)
    notes = [
        "rule checked at each month-end; fractional shares; one pot (no accounts, lots or "
        "taxes); cash earns nothing",
        *rule.notes,
    ]
    if s.contribution < 0:
        invested = np.maximum(invested, 0.0)
    idx = history.index
    notes += history_notes(idx, s.years, prices.attrs.get("dataset"))
    return MonteCarloResult(
        settings=s,
        symbols=names,
        step_dates=dates,
        values=out["values"],
        invested=invested,
        growth=out["index"],
        max_drawdown=out["max_drawdown"],
        rebalances=out["rebalances"],
        costs=out["costs"],
        traded=out["traded"],
        depleted=out["depleted"],
        block_starts=starts,
        history=(pd.Timestamp(idx[0]).date(), pd.Timestamp(idx[-1]).date()),
        policy=household.policy.describe(),
        notes=tuple(notes),
    )
