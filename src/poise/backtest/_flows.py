"""Scheduled contributions and withdrawals, and the trading days they land on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import numpy as np

from poise._errors import InputError
from poise.calendar import Frequency, period_keys

__all__ = ["Every", "ScheduledFlow", "flow_days"]

Every = Literal["month", "quarter", "year"]
"""How often a scheduled flow recurs."""


@dataclass(frozen=True, slots=True)
class ScheduledFlow:
    """A recurring contribution (``amount`` > 0) or withdrawal (``amount`` < 0).

    It lands on the first trading day of each ``every`` period, at the close, in ``account``
    (default: the household's first account), from ``start`` to ``end`` inclusive. With no
    ``start`` the first flow is in the period after the backtest's first day (that day invests
    the initial amount); with a ``start`` inside a period, the first flow is on the first
    trading day on or after ``start``.
    """

    amount: float
    every: Every = "month"
    account: str | None = None
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int | float) or not math.isfinite(self.amount):
            raise InputError(f"must be a finite number, got {self.amount!r}", field="amount")
        if self.amount == 0:
            raise InputError(
                "must not be 0; use a positive contribution or a negative withdrawal",
                field="amount",
            )
        if self.every not in get_args(Every):
            raise InputError(
                f"{self.every!r} is not a frequency; use month | quarter | year", field="every"
            )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InputError(f"end {self.end} is before start {self.start}", field="end")

    @property
    def is_contribution(self) -> bool:
        return self.amount > 0

    def describe(self) -> str:
        kind = "contribution" if self.amount > 0 else "withdrawal"
        where = f" into {self.account}" if self.account and self.amount > 0 else ""
        where = f" from {self.account}" if self.account and self.amount < 0 else where
        return f"{kind} of {abs(self.amount):,.2f} every {self.every}{where}"


def flow_days(flow: ScheduledFlow, days: np.ndarray) -> np.ndarray:
    """Positions in ``days`` (ascending ``datetime64[D]``, the backtest's trading days) on
    which ``flow`` lands."""
    if days.size == 0:
        return np.zeros(0, dtype=np.int64)
    ok = np.ones(days.size, dtype=bool)
    if flow.start is None:
        ok[0] = False
    else:
        ok &= days >= np.datetime64(flow.start, "D")
    if flow.end is not None:
        ok &= days <= np.datetime64(flow.end, "D")
    positions = np.flatnonzero(ok)
    if positions.size == 0:
        return positions
    keys = period_keys(days[positions], Frequency.parse(flow.every))
    first = np.ones(positions.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    if flow.start is None:
        # a period already under way on the first day has no flow (it was the initial one)
        first &= keys != period_keys(days[:1], Frequency.parse(flow.every))[0]
    return positions[first]
