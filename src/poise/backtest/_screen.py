"""Skipping quiet days: which days a built-in policy might trigger on.

A backtest must ask the policy every day, but most days nothing can happen: a monthly
calendar cannot fire inside a month it already rebalanced in, a band policy cannot fire while
every weight is well inside its band. A *screen* looks at a block of days at once (the
holdings do not change between events, so the weights of the whole block are one array
product) and marks the days on which the policy **might** trigger. The engine calls
``policy.decide`` on those days, which stays the only authority; on the other days the
policy provably returns "not triggered", so the call is skipped.

Screens are conservative by construction: band screens use the policy's own bands minus a
margin (1e-9 weight points), calendar screens the policy's own period rule. The screen comes
from the trigger the policy declares for its own ``decide`` (``poise.policy.trigger_of``: a
subclass that overrides ``decide`` without its trigger has none); any other policy is asked
every day. ``run_backtest(..., screen=False)`` asks every policy every day and gives the same
result (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from poise.calendar import period_index, period_keys
from poise.policy import (
    BandTrigger,
    CalendarTrigger,
    Frequency,
    NoTrigger,
    Policy,
    Trigger,
    trigger_of,
)

__all__ = ["MARGIN", "DayInfo", "History", "Screen", "screen_for"]

MARGIN = 1e-13
"""Weight points by which a band screen widens the policy's own test
(``|weight - target| > band + 1e-12``): a day whose drift comes within this of it is handed to
the policy. The screen's weights are computed by the same code as the policy's, so this only
guards against rounding."""


class DayInfo:
    """Calendar facts about the backtest's days that screens share (computed once)."""

    def __init__(self, days: np.ndarray) -> None:
        self.days = days
        self._keys: dict[int, np.ndarray] = {}

    def keys(self, months: int) -> np.ndarray:
        """Period key of every day for periods of ``months`` months."""
        if months not in self._keys:
            self._keys[months] = period_keys(self.days, months)
        return self._keys[months]

    def key_of(self, day: date, months: int) -> int:
        return period_index(day, months)

    def new_period(self, months: int, lo: int, hi: int) -> np.ndarray:
        """Days in ``[lo, hi)`` that start a new period (day 0 counts as new)."""
        keys = self.keys(months)
        out = np.ones(hi - lo, dtype=bool)
        start = max(lo, 1)
        out[start - lo :] = keys[start:hi] != keys[start - 1 : hi - 1]
        return out


Weights = Callable[[], np.ndarray]
"""Computes the weights of a block of days (one row per day), for screens that need them."""

Screen = Callable[[DayInfo, int, int, Weights, np.ndarray, "date | None"], np.ndarray]
"""``screen(info, lo, hi, weights, target_weights, last_rebalanced)`` → bool per day in
``[lo, hi)``: True where the policy might trigger."""

History = Callable[[], tuple[np.ndarray, int]]
"""The policy's price history (``BacktestState.history``'s table: one column per symbol of
the policy's view, cash last) and the row of the backtest's first day."""


def _calendar(frequency: Frequency) -> Screen:
    months = frequency.months

    def screen(
        info: DayInfo,
        lo: int,
        hi: int,
        weights: Weights,
        targets: np.ndarray,
        last: date | None,
    ) -> np.ndarray:
        if last is None:
            return np.ones(hi - lo, dtype=bool)
        return info.keys(months)[lo:hi] != info.key_of(last, months)

    return screen


def _bands(check: Frequency | None, bands_of: Callable[[np.ndarray], np.ndarray]) -> Screen:
    cache: list[np.ndarray] = []  # [targets, their thresholds], recomputed when targets change

    def screen(
        info: DayInfo,
        lo: int,
        hi: int,
        weights: Weights,
        targets: np.ndarray,
        last: date | None,
    ) -> np.ndarray:
        if check is not None:
            checks = info.new_period(check.months, lo, hi)
            if not checks.any():
                return checks
        if not cache or cache[0] is not targets:
            cache[:] = [targets, bands_of(targets) + (1e-12 - MARGIN)]
        out = (np.abs(weights() - targets) > cache[1]).any(axis=1)
        if check is not None:
            out &= checks
        return out

    return screen


def _never(
    info: DayInfo, lo: int, hi: int, weights: Weights, targets: np.ndarray, last: date | None
) -> np.ndarray:
    return np.zeros(hi - lo, dtype=bool)


def screen_for(policy: Policy, history: History | None = None) -> Screen | None:
    """The screen of a policy that declares its trigger (``poise.policy.trigger_of``), or
    None (ask the policy every day). With ``history``, the volatility rule's bands are
    screened at a lower bound of each day's scales (the trigger's ``lowest_scales``, e.g.
    ``VolatilityPolicy.lowest_scales``) instead of its lowest scale of all."""
    trigger = trigger_of(policy)
    if trigger is None:
        return None
    if history is not None and isinstance(trigger, BandTrigger) and trigger.lowest_scales:
        return _scaled_bands(trigger, trigger.lowest_scales, history)
    return _screen_of(trigger)


def _scaled_bands(
    trigger: BandTrigger, lowest_scales: Callable[[np.ndarray], np.ndarray], history: History
) -> Screen:
    """Bands times each day's lowest possible scale (computed once per history table; the
    cash column, last, has scale 1 as the policy sets it)."""
    check = trigger.check_frequency
    cache: dict[str, np.ndarray] = {}

    def screen(
        info: DayInfo,
        lo: int,
        hi: int,
        weights: Weights,
        targets: np.ndarray,
        last: date | None,
    ) -> np.ndarray:
        if check is not None:
            checks = info.new_period(check.months, lo, hi)
            if not checks.any():
                return checks
        table, offset = history()
        if cache.get("table") is not table:
            lowest = lowest_scales(table)
            lowest[:, -1] = 1.0
            cache.update(table=table, lowest=lowest)
        if cache.get("targets") is not targets:
            cache.update(targets=targets, base=trigger.bands(targets))
        thresholds = cache["base"] * cache["lowest"][offset + lo : offset + hi] + (1e-12 - MARGIN)
        out = (np.abs(weights() - targets) > thresholds).any(axis=1)
        if check is not None:
            out &= checks
        return out

    return screen


def _screen_of(trigger: Trigger) -> Screen:
    if isinstance(trigger, CalendarTrigger):
        return _calendar(trigger.frequency)
    if isinstance(trigger, BandTrigger):
        if trigger.min_scale == 1.0:
            return _bands(trigger.check_frequency, trigger.bands)
        low = trigger.min_scale
        return _bands(trigger.check_frequency, lambda t: trigger.bands(t) * low)
    if isinstance(trigger, NoTrigger):
        return _never
    screens = [_screen_of(p) for p in trigger.parts]

    def any_of(
        info: DayInfo,
        lo: int,
        hi: int,
        weights: Weights,
        targets: np.ndarray,
        last: date | None,
    ) -> np.ndarray:
        memo: list[np.ndarray] = []

        def once() -> np.ndarray:
            if not memo:
                memo.append(weights())
            return memo[0]

        out = np.zeros(hi - lo, dtype=bool)
        for s in screens:
            out |= s(info, lo, hi, once, targets, last)
        return out

    return any_of
