"""Historical crisis replay: the household's targets through a market crash, with its rule
running and as buy-and-hold, through the one backtest engine.

Each replay is a backtest (``poise.backtest.run_backtest``) that invests the initial amount to
target on the window's first trading day and runs, without cash flows, to the end of the
prices so that the recovery can be seen. Measured on the time-weighted value:

- ``loss``: the change from the window's first to its last close;
- ``max_drawdown``: the deepest fall from a high inside the window;
- ``worst_day``: the worst one-day return inside the window, and its date;
- ``recovered_on`` / ``days_to_recover``: the first close after the window at or above the
  value on its first day, and the calendar days from the window's end to it (None when the
  prices end first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise._errors import InputError
from poise.model import Household
from poise.policy import NeverPolicy, Policy

__all__ = [
    "CRISES",
    "CrisisWindow",
    "ReplayOutcome",
    "ReplayResult",
    "covered_windows",
    "parse_window",
    "replay",
]


@dataclass(frozen=True, slots=True)
class CrisisWindow:
    """A named stretch of market history (peak to trough of the S&P 500 for the built-ins)."""

    name: str
    label: str
    start: date
    end: date

    def __str__(self) -> str:
        return f"{self.label} ({self.start} to {self.end})"


CRISES: dict[str, CrisisWindow] = {
    w.name: w
    for w in (
        CrisisWindow("dotcom", "Dot-com crash", date(2000, 3, 24), date(2002, 10, 9)),
        CrisisWindow("gfc", "Global financial crisis", date(2007, 10, 9), date(2009, 3, 9)),
        CrisisWindow("covid", "COVID crash", date(2020, 2, 19), date(2020, 3, 23)),
        CrisisWindow("2022", "2022 rate shock", date(2022, 1, 3), date(2022, 10, 12)),
    )
}
"""The built-in windows: S&P 500 peak-to-trough dates."""


def parse_window(spec: str, option: str = "window") -> CrisisWindow:
    """A built-in window by name (``dotcom``, ``gfc``, ``covid``, ``2022``) or
    ``START:END`` in ISO dates."""
    text = spec.strip()
    if text.lower() in CRISES:
        return CRISES[text.lower()]
    first, sep, last = text.partition(":")
    if not sep:
        raise InputError(
            f"unknown window {spec!r}; use {' | '.join(CRISES)} or START:END "
            "(e.g. 2018-09-20:2018-12-24)",
            field=option,
        )
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
    except ValueError:
        raise InputError(
            f"window {spec!r} needs ISO dates, START:END as YYYY-MM-DD:YYYY-MM-DD", field=option
        ) from None
    if end <= start:
        raise InputError(f"window {spec!r} ends before it starts", field=option)
    return CrisisWindow(text, f"{start} to {end}", start, end)


def covered_windows(
    prices: pd.DataFrame, symbols: Sequence[str], windows: Sequence[CrisisWindow] | None = None
) -> tuple[list[CrisisWindow], list[tuple[CrisisWindow, str]]]:
    """Which ``windows`` (default: the built-ins) the prices of ``symbols`` cover whole, and
    why the others are left out."""
    ok: list[CrisisWindow] = []
    skipped: list[tuple[CrisisWindow, str]] = []
    frame = prices[list(symbols)] if symbols else prices
    for window in windows if windows is not None else CRISES.values():
        reason = _coverage(frame, window)
        if reason:
            skipped.append((window, reason))
        else:
            ok.append(window)
    return ok, skipped


def _coverage(frame: pd.DataFrame, window: CrisisWindow) -> str:
    index = pd.DatetimeIndex(frame.index)
    if index[0] > pd.Timestamp(window.start) or index[-1] < pd.Timestamp(window.end):
        return f"the prices cover {index[0].date()} to {index[-1].date()}"
    inside = frame.loc[pd.Timestamp(window.start) : pd.Timestamp(window.end)]
    if len(inside) < 2:
        return "fewer than 2 trading days in the window"
    first = inside.iloc[0]
    missing = [str(s) for s in frame.columns if not np.isfinite(first[s])]
    if missing:
        return f"no price on the first day for {', '.join(missing)}"
    return ""


@dataclass(frozen=True)
class ReplayOutcome:
    """One rule through one window (see the module notes for the definitions)."""

    policy: str
    loss: float
    max_drawdown: float
    worst_day: date
    worst_day_return: float
    recovered_on: date | None
    days_to_recover: int | None
    index: pd.Series
    rebalances: int
    total_cost: float

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: use ``poise.report.replay_outcome_to_dict``."""
        import warnings

        from poise.report import replay_outcome_to_dict

        warnings.warn(
            "ReplayOutcome.to_dict() is deprecated; use poise.report.replay_outcome_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return replay_outcome_to_dict(self)


@dataclass(frozen=True)
class ReplayResult:
    """A window replayed with the household's rule and as buy-and-hold."""

    window: CrisisWindow
    start: date
    end: date
    rule: ReplayOutcome
    buy_and_hold: ReplayOutcome

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: use ``poise.report.replay_to_dict``."""
        import warnings

        from poise.report import replay_to_dict

        warnings.warn(
            "ReplayResult.to_dict() is deprecated; use poise.report.replay_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return replay_to_dict(self)


def _outcome(result: Any, start: pd.Timestamp, end: pd.Timestamp) -> ReplayOutcome:
    index = result.growth_index()
    inside = index.loc[start:end]
    returns = inside.pct_change().dropna()
    worst = returns.index[int(np.argmin(returns.to_numpy()))]
    running = inside.cummax()
    after = index.loc[end:].iloc[1:]
    back = after[after >= inside.iloc[0] * (1 - 1e-12)]
    recovered = back.index[0].date() if len(back) else None
    rebalances = result.rebalances
    in_window = rebalances[(rebalances["date"] > start) & (rebalances["date"] <= end)]
    trades = result.trades
    cost = (
        float(trades.loc[(trades["date"] > start) & (trades["date"] <= end), "cost"].sum())
        if not trades.empty
        else 0.0
    )
    return ReplayOutcome(
        policy=result.policy,
        loss=float(inside.iloc[-1] / inside.iloc[0] - 1.0),
        max_drawdown=float((inside / running - 1.0).min()),
        worst_day=pd.Timestamp(worst).date(),
        worst_day_return=float(returns.min()),
        recovered_on=recovered,
        days_to_recover=(recovered - end.date()).days if recovered else None,
        index=index,
        rebalances=len(in_window),
        total_cost=cost,
    )


def replay(
    household: Household,
    prices: pd.DataFrame,
    window: CrisisWindow,
    *,
    initial: float = 100_000.0,
    policy: Policy | None = None,
) -> ReplayResult:
    """Replay ``window`` with the household's rule (or ``policy``) and as buy-and-hold.

    Raises
    ------
    InputError
        When the prices do not cover the window for every target symbol.
    """
    from poise.backtest import run_backtest

    symbols = [s for s in household.targets if s != "CASH"]
    missing = [s for s in symbols if s not in prices.columns]
    if missing:
        raise InputError(
            f"the prices have no column for {', '.join(missing)}; add them", field="prices"
        )
    reason = _coverage(prices[symbols], window)
    if reason:
        raise InputError(f"cannot replay {window}: {reason}", field="window")
    index = pd.DatetimeIndex(prices.index)
    inside = index[(index >= pd.Timestamp(window.start)) & (index <= pd.Timestamp(window.end))]
    first, last = inside[0], inside[-1]
    runs = {}
    for name, rule in (("rule", policy), ("hold", NeverPolicy())):
        result = run_backtest(household, prices, start=first.date(), initial=initial, policy=rule)
        runs[name] = _outcome(result, first, last)
    return ReplayResult(window, first.date(), last.date(), runs["rule"], runs["hold"])
