"""Calendar periods: one frequency vocabulary and one rule for "the same period".

A period of a :class:`Frequency` is a block of ``frequency.months`` calendar months starting
in January (months, quarters, half-years, years). Two days are in the same period when their
period keys are equal; the scalar (:func:`period_key`, :func:`period_index`) and vectorised
(:func:`period_keys`) forms number periods the same way, so a screen over many days and a
policy asking about one day agree.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from datetime import date
from enum import StrEnum

import numpy as np

__all__ = [
    "Frequency",
    "add_months",
    "period_index",
    "period_key",
    "period_keys",
    "period_label",
]


class Frequency(StrEnum):
    """A calendar period.

    ``Frequency("monthly")``; :meth:`parse` also takes the nouns ``month``, ``quarter``,
    ``half-year`` and ``year`` (the flags of recurring cash flows).
    """

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """Calendar months in one period (1, 3, 6 or 12)."""
        return _MONTHS[self]

    @classmethod
    def parse(cls, text: str) -> Frequency:
        """The frequency named ``text``: ``monthly`` or ``month``, ``quarterly`` or
        ``quarter``, ``semiannual`` or ``half-year``, ``annual`` or ``year``.

        Raises
        ------
        ValueError
            An unknown name.
        """
        key = text.strip().lower()
        if key in _NOUNS:
            return _NOUNS[key]
        return cls(key)


_MONTHS = {
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.SEMIANNUAL: 6,
    Frequency.ANNUAL: 12,
}
_NOUNS = {
    "month": Frequency.MONTHLY,
    "quarter": Frequency.QUARTERLY,
    "half-year": Frequency.SEMIANNUAL,
    "year": Frequency.ANNUAL,
}


def _months_of(frequency: Frequency | int) -> int:
    return frequency if isinstance(frequency, int) else _MONTHS[frequency]


def period_key(day: date, frequency: Frequency) -> tuple[int, int]:
    """The period ``day`` falls in: (year, index of the period within the year)."""
    return day.year, (day.month - 1) // _MONTHS[frequency]


def period_index(day: date, frequency: Frequency | int) -> int:
    """The period ``day`` falls in as one integer (periods since January 1970); equal for two
    days exactly when :func:`period_key` is. ``frequency`` may be a number of months."""
    return ((day.year - 1970) * 12 + day.month - 1) // _months_of(frequency)


def period_keys(days: np.ndarray, frequency: Frequency | int) -> np.ndarray:
    """:func:`period_index` of every day of ``days`` (a ``datetime64[D]`` array)."""
    month_index = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return month_index // _months_of(frequency)


def period_label(day: date, frequency: Frequency) -> str:
    """``2024-03``, ``2024-Q1``, ``2024-H1`` or ``2024``."""
    year, index = period_key(day, frequency)
    if frequency is Frequency.MONTHLY:
        return f"{year}-{index + 1:02d}"
    if frequency is Frequency.QUARTERLY:
        return f"{year}-Q{index + 1}"
    if frequency is Frequency.SEMIANNUAL:
        return f"{year}-H{index + 1}"
    return str(year)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (the day clipped to the month's length)."""
    m = day.year * 12 + day.month - 1 + months
    year, month = m // 12, m % 12 + 1
    return date(year, month, min(day.day, _stdlib_calendar.monthrange(year, month)[1]))
