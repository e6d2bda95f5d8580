"""Data-quality checks on a price table, run before a plan or a stress test.

Prices are what every decision rests on; a frozen feed, a hole in the history, a bad tick or a
symbol without a close on the decision day silently corrupts a plan. These checks return typed
warnings with a message each; they never change the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd

__all__ = ["QualityIssue", "QualityRules", "QualityWarning", "check_prices"]


class QualityIssue(StrEnum):
    """The kinds of data problems ``check_prices`` reports."""

    STALE = "stale"
    """The same close repeated for many trading days in a row (a frozen feed); one warning
    per symbol, for its longest run."""
    GAP = "gap"
    """Missing rows (a calendar gap between trading days) or an empty cell inside a symbol's
    history."""
    JUMP = "jump"
    """A one-day move too large to be plausible (a bad tick, a missed split)."""
    MISSING = "missing"
    """A symbol the request needs has no column, or no close on the as-of day."""
    OUTDATED = "outdated"
    """The table ends before the as-of day."""


@dataclass(frozen=True, slots=True)
class QualityRules:
    """Thresholds of the checks.

    Attributes
    ----------
    stale_days : int
        A run of this many identical closes in a row (i.e. ``stale_days - 1`` zero returns)
        is reported.
    max_gap_days : int
        Calendar days between consecutive rows above this are a gap (a long weekend with a
        holiday is 4 days; the longest US market closure since 1990, after 11 September
        2001, is 7).
    max_jump : float
        A one-day price ratio above ``1 + max_jump`` or below ``1 / (1 + max_jump)`` is a jump
        (1.0: doubling or halving in a day).
    """

    stale_days: int = 5
    max_gap_days: int = 7
    max_jump: float = 1.0


@dataclass(frozen=True, slots=True)
class QualityWarning:
    """One data problem: its kind, the symbol (None for the whole table), the day, and a
    message that says what to check."""

    issue: QualityIssue
    symbol: str | None
    day: date | None
    message: str

    def __str__(self) -> str:
        return self.message


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True in a 1-d boolean array."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def check_prices(
    prices: pd.DataFrame,
    *,
    symbols: Iterable[str] | None = None,
    as_of: date | None = None,
    rules: QualityRules | None = None,
    source: str = "prices",
) -> tuple[QualityWarning, ...]:
    """Check a wide price table for stale prices, gaps, impossible jumps and symbols missing
    on the as-of day.

    Parameters
    ----------
    prices : DataFrame
        Adjusted closes, one row per trading day (ascending ``DatetimeIndex``), one column per
        symbol; NaN where a symbol has no price.
    symbols : iterable of str, optional
        The symbols the request needs (default: every column). ``CASH`` is ignored.
    as_of : date, optional
        The decision day (default: the table's last day). Only rows up to it are checked.
    rules : QualityRules, optional
        Thresholds (defaults: 5 identical closes, 7 calendar days, a doubling or halving).
    source : str
        Named in the messages (the file or data set).

    Returns
    -------
    tuple of QualityWarning
        Table-level warnings first, then per symbol in the order given; empty when clean.
    """
    rules = rules or QualityRules()
    wanted = [s for s in (symbols if symbols is not None else prices.columns) if s != "CASH"]
    out: list[QualityWarning] = []
    if prices.empty:
        return (QualityWarning(QualityIssue.MISSING, None, None, f"{source} has no rows"),)
    index = pd.DatetimeIndex(prices.index)
    last_day = index[-1].date()
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        if stamp > index[-1]:
            out.append(
                QualityWarning(
                    QualityIssue.OUTDATED,
                    None,
                    as_of,
                    f"{source} ends on {last_day}, {(as_of - last_day).days} day(s) before the "
                    f"as-of day {as_of}; update the prices",
                )
            )
        elif stamp not in index:
            earlier = index[index <= stamp]
            hint = f"; the last earlier trading day is {earlier[-1].date()}" if len(earlier) else ""
            out.append(
                QualityWarning(
                    QualityIssue.MISSING,
                    None,
                    as_of,
                    f"{source} has no row for the as-of day {as_of}{hint}",
                )
            )
        keep = index <= stamp
        prices = prices.loc[keep]
        index = index[keep]
    if len(index) == 0:
        return tuple(out)
    check_day = as_of if as_of is not None else last_day

    days = np.diff(index.to_numpy().astype("datetime64[D]").astype(np.int64))
    for i in map(int, np.flatnonzero(days > rules.max_gap_days)):
        before, after = index[i].date(), index[i + 1].date()
        out.append(
            QualityWarning(
                QualityIssue.GAP,
                None,
                after,
                f"{source} has no rows between {before} and {after} ({int(days[i])} calendar "
                "days); fill the missing days or check the source",
            )
        )

    for sym in wanted:
        if sym not in prices.columns:
            out.append(
                QualityWarning(
                    QualityIssue.MISSING,
                    sym,
                    check_day,
                    f"{source} has no column for {sym}; add its prices",
                )
            )
            continue
        values = prices[sym].to_numpy(dtype=float)
        valid = np.isfinite(values)
        if not valid.any():
            out.append(
                QualityWarning(
                    QualityIssue.MISSING, sym, check_day, f"{source} has no prices at all for {sym}"
                )
            )
            continue
        first, last = int(np.argmax(valid)), len(valid) - 1 - int(np.argmax(valid[::-1]))
        holes = _runs(~valid[first : last + 1])
        for start, length in holes:
            day = index[first + start].date()
            out.append(
                QualityWarning(
                    QualityIssue.GAP,
                    sym,
                    day,
                    f"{sym} has no price for {length} trading day(s) from {day} inside its "
                    f"history; fill them or check the source",
                )
            )
        if not valid[-1]:
            out.append(
                QualityWarning(
                    QualityIssue.MISSING,
                    sym,
                    index[-1].date(),
                    f"{sym} has no close on {index[-1].date()} (its last close is on "
                    f"{index[last].date()}); fill it in or choose another as-of day",
                )
            )

        series = values[first : last + 1]
        filled = pd.Series(series).ffill().to_numpy()
        ratio = filled[1:] / filled[:-1]
        unchanged = series[1:] == series[:-1]
        stale = [(a, n) for a, n in _runs(unchanged) if n + 1 >= rules.stale_days]
        if stale:
            start, length = max(stale, key=lambda run: (run[1], run[0]))
            day = index[first + start].date()
            end = index[first + start + length].date()
            more = f" ({len(stale)} such runs in all)" if len(stale) > 1 else ""
            out.append(
                QualityWarning(
                    QualityIssue.STALE,
                    sym,
                    end,
                    f"{sym} closes at {filled[start]:g} on {length + 1} trading days in a row "
                    f"({day} to {end}){more}; check for a frozen feed or a delisting",
                )
            )
        high = 1.0 + rules.max_jump
        for i in map(int, np.flatnonzero((ratio > high) | (ratio < 1.0 / high))):
            day = index[first + i + 1].date()
            out.append(
                QualityWarning(
                    QualityIssue.JUMP,
                    sym,
                    day,
                    f"{sym} moves {ratio[i] - 1.0:+.0%} in one day on {day} "
                    f"({filled[i]:g} to {filled[i + 1]:g}); unless that move was real, check "
                    "for a bad tick or an unadjusted split",
                )
            )
    return tuple(out)
