"""The attribution use case: backtest the household as ``backtest`` does and explain its
return (CAPM against a benchmark, Brinson-Fachler, contributions, rebalancing effect, drags)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from poise._errors import InputError
from poise._progress import ProgressCallback
from poise.app._backtest import check_window
from poise.backtest import ScheduledFlow
from poise.model import Household
from poise.risk import BacktestAttribution, attribute_backtest

__all__ = ["AttributionRequest", "AttributionResult", "attribution"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributionRequest:
    """One attribution.

    Parameters
    ----------
    household, prices, start, end, initial, flows, progress
        As for :class:`poise.app.BacktestRequest`.
    benchmark : Series
        The benchmark's prices by date (``poise.risk.benchmark_series``).
    benchmark_name : str
        Its name in results.
    risk_free : float
        Annual risk-free rate, a fraction in (-1, 1) (``field`` ``risk_free``).
    report : bool
        Also build the HTML report.
    """

    household: Household
    prices: pd.DataFrame
    benchmark: pd.Series
    benchmark_name: str = "benchmark"
    start: date | None = None
    end: date | None = None
    initial: float = 100_000.0
    flows: Sequence[ScheduledFlow] = ()
    risk_free: float = 0.0
    progress: ProgressCallback | None = None
    report: bool = False


@dataclass(frozen=True, slots=True)
class AttributionResult:
    """The attribution, and its HTML report when asked for."""

    household: Household
    attribution: BacktestAttribution
    report_html: str | None = None


def attribution(request: AttributionRequest) -> AttributionResult:
    """Backtest and attribute (see ``poise.risk.attribute_backtest``).

    Raises
    ------
    InputError
        A bad window, amount or rate (``start``, ``end``, ``initial``, ``risk_free``).
    DataError
        Fewer than 3 days shared with the benchmark.
    """
    check_window(request.start, request.end, request.initial)
    if not -1 < request.risk_free < 1:
        raise InputError(
            f"is an annual fraction (0.02), got {request.risk_free:g}", field="risk_free"
        )
    result = attribute_backtest(
        request.household,
        request.prices,
        request.benchmark,
        benchmark_name=request.benchmark_name,
        start=request.start,
        end=request.end,
        initial=request.initial,
        flows=request.flows,
        risk_free=request.risk_free,
        progress=request.progress,
    )
    text = None
    if request.report:
        from poise.risk._report import attribution_report

        text = attribution_report(
            result,
            title=f"{request.household.name}: attribution",
            subtitle=f"{result.result.policy} · {result.result.start} → {result.result.end} · "
            f"benchmark {request.benchmark_name}",
        )
    return AttributionResult(request.household, result, text)
