"""The optimize use case: target weights from an allocation model fitted on a price table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from poise._errors import InputError
from poise.allocate import (
    FitResult,
    FrontierPoint,
    ModelSpec,
    efficient_frontier,
    fit_model,
    price_returns,
)

__all__ = ["OptimizeRequest", "OptimizeResult", "optimize", "select_universe"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OptimizeRequest:
    """One model fit.

    Parameters
    ----------
    prices : DataFrame
        Adjusted closes, one row per trading day, one column per symbol.
    spec : ModelSpec
        The model, its estimator and constraints.
    symbols : sequence of str, optional
        The universe (default: every column); ``field`` ``symbols`` on error.
    start, end : date, optional
        The window of prices fitted on.
    frontier : bool
        Also trace the efficient frontier.
    points : int
        Portfolios on the frontier (≥ 2, ``field`` ``points``).
    report : bool
        Also build the HTML report (it shows the frontier).
    """

    prices: pd.DataFrame
    spec: ModelSpec
    symbols: Sequence[str] | None = None
    start: date | None = None
    end: date | None = None
    frontier: bool = False
    points: int = 30
    report: bool = False


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """The fit, its spec, the frontier (empty unless asked for or reported) and the HTML
    report."""

    fit: FitResult
    spec: ModelSpec
    frontier: tuple[FrontierPoint, ...] = ()
    report_html: str | None = None


def select_universe(prices: pd.DataFrame, symbols: Sequence[str] | None) -> list[str]:
    """The symbols to fit on: ``symbols``, or every column of ``prices``.

    Raises
    ------
    InputError
        A symbol without a column, or listed twice (``field`` ``symbols``).
    """
    universe = [str(c) for c in prices.columns]
    if symbols is None:
        return universe
    wanted = list(symbols)
    missing = [s for s in wanted if s not in prices.columns]
    if missing:
        raise InputError(
            f"{', '.join(missing)} not in the prices ({', '.join(universe)})", field="symbols"
        )
    if len(set(wanted)) != len(wanted):
        raise InputError("a symbol is listed twice", field="symbols")
    return wanted


def optimize(request: OptimizeRequest) -> OptimizeResult:
    """Fit the model on daily returns of the window (days with a missing price dropped).

    Raises
    ------
    InputError
        Unknown or repeated symbols, a window ending before it starts, too few frontier
        points, or a spec the data cannot satisfy (``field`` names the spec's key).
    """
    table = request.prices
    universe = select_universe(table, request.symbols)
    first, last = request.start, request.end
    if first and last and first > last:
        raise InputError(f"start {first} is after end {last}", field="start")
    window = table[universe]
    if first is not None:
        window = window.loc[window.index >= str(first)]
    if last is not None:
        window = window.loc[window.index <= str(last)]
    returns = price_returns(window)
    if request.points < 2:
        raise InputError(f"must be at least 2, got {request.points}", field="points")
    fit = fit_model(returns, request.spec)
    curve: tuple[FrontierPoint, ...] = ()
    if request.frontier or request.report:
        curve = efficient_frontier(returns, request.spec, request.points)
    text = None
    if request.report:
        from poise.allocate._report import allocation_html

        text = allocation_html(fit, curve)
    return OptimizeResult(fit, request.spec, curve, text)
