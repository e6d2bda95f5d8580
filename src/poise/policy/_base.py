"""What every policy sees and says.

Timing: a decision on day *t* sees weights at the close of *t* and prices up to and including
the close of *t* (``PolicyContext.history`` ends at *t*); nothing later is ever passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Decision",
    "Frequency",
    "Policy",
    "PolicyContext",
    "RebalanceTo",
    "period_key",
]


class Frequency(StrEnum):
    """A calendar period."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"


_MONTHS = {
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.SEMIANNUAL: 6,
    Frequency.ANNUAL: 12,
}


def period_key(day: date, frequency: Frequency) -> tuple[int, int]:
    """The period ``day`` falls in: (year, index of the period within the year)."""
    return day.year, (day.month - 1) // _MONTHS[frequency]


def period_label(day: date, frequency: Frequency) -> str:
    year, index = period_key(day, frequency)
    if frequency is Frequency.MONTHLY:
        return f"{year}-{index + 1:02d}"
    if frequency is Frequency.QUARTERLY:
        return f"{year}-Q{index + 1}"
    if frequency is Frequency.SEMIANNUAL:
        return f"{year}-H{index + 1}"
    return str(year)


class RebalanceTo(StrEnum):
    """Where a triggered rebalance takes the breaching assets."""

    TARGET = "target"
    BAND = "band"


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """The state a policy decides on.

    Attributes
    ----------
    as_of : date
        The decision day; weights are at its close.
    symbols : tuple of str
        Symbols, ``CASH`` included, aligned with ``weights`` and ``target_weights``.
    weights, target_weights : ndarray
        Current and target fractions of the household's total value.
    last_rebalanced : date or None
        The last day a rebalance was carried out; None when unknown (live use).
    previous_day : date or None
        The previous trading day (backtests); None in live use, where every call is a check.
    history : ndarray or None
        Prices of ``symbols`` up to and including ``as_of`` (rows = days; the cash column is 1).
    """

    as_of: date
    symbols: tuple[str, ...]
    weights: np.ndarray
    target_weights: np.ndarray
    last_rebalanced: date | None = None
    previous_day: date | None = None
    history: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to rebalance, why, and how far.

    ``half_bands`` are per-symbol band half-widths (weight points; ``inf`` where no band),
    used by a to-band plan. ``sells_allowed`` is False for cash-flow-only policies.
    ``invest_idle``: when not triggered, cash already held above the reserve is invested as
    a deposit would be (buy-only; the cash-flow policy).
    """

    triggered: bool
    reasons: tuple[str, ...]
    rebalance_to: RebalanceTo = RebalanceTo.TARGET
    half_bands: np.ndarray | None = None
    sells_allowed: bool = True
    invest_idle: bool = False


@runtime_checkable
class Policy(Protocol):
    """A rule that says when to rebalance."""

    def decide(self, context: PolicyContext) -> Decision:
        """Decide on ``context`` (which holds nothing after ``context.as_of``)."""
        ...

    def describe(self) -> str:
        """A short human name, e.g. ``"5/25 bands"``."""
        ...
