"""The backtest and compare use cases: replay a household's rule (or several rules) over a
price history, optionally with the HTML report (attribution and a Monte Carlo of what follows).

Doors build a :class:`BacktestRequest` or :class:`CompareRequest`; errors name request fields
(``initial``, ``start``, ``end``, ``every``, ``account``, ``contribution.amount``,
``withdrawal.amount``, ``policies``), which the doors map to their own names.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from poise._errors import DataError, InputError
from poise._progress import ProgressCallback
from poise.backtest import BacktestResult, ScheduledFlow, run_backtest
from poise.calendar import Frequency
from poise.model import Household
from poise.policy import Policy

__all__ = [
    "BacktestOutcome",
    "BacktestRequest",
    "CompareOutcome",
    "CompareRequest",
    "ReportOptions",
    "backtest",
    "check_window",
    "compare",
    "run_description",
    "scheduled_flows",
]

PERIODS = ("month", "quarter", "year")


def scheduled_flows(
    household: Household,
    *,
    contribution: float | None = None,
    withdrawal: float | None = None,
    every: str = "month",
    account: str | None = None,
) -> list[ScheduledFlow]:
    """A recurring contribution and/or withdrawal as :class:`ScheduledFlow` objects.

    Raises
    ------
    InputError
        ``field`` ``every``, ``account``, ``contribution.amount`` or ``withdrawal.amount``.
    """
    if every not in PERIODS:
        raise InputError(f"{every!r} is not a frequency; use month | quarter | year", field="every")
    if account is not None and account not in household.account_ids:
        raise InputError(
            f"unknown account {account!r}; the household has {', '.join(household.account_ids)}",
            field="account",
        )
    flows = []
    for amount, name, sign in (
        (contribution, "contribution", 1.0),
        (withdrawal, "withdrawal", -1.0),
    ):
        if amount is None:
            continue
        if not amount > 0:
            raise InputError(f"must be a positive amount, got {amount:g}", field=f"{name}.amount")
        flows.append(ScheduledFlow(sign * amount, every, account))  # type: ignore[arg-type]
    return flows


def check_window(start: date | None, end: date | None, initial: float) -> None:
    """Refuse an end before the start (``field`` ``end``) or a non-positive initial amount
    (``field`` ``initial``)."""
    if start and end and end < start:
        raise InputError(f"end {end} is before start {start}", field="end")
    if not (isinstance(initial, int | float) and math.isfinite(initial) and initial > 0):
        raise InputError(f"must be a positive amount, got {initial:g}", field="initial")


def run_description(
    result: BacktestResult, flows: Sequence[ScheduledFlow], policy: bool = True
) -> str:
    """One line: household · rule · start → end · initial · flows (plain text)."""
    parts = [result.household]
    if policy:
        parts.append(result.policy)
    parts += [f"{result.start} → {result.end}", f"initial {result.initial_value:,.2f}"]
    parts += [flow.describe() for flow in flows]
    return " · ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    """What the HTML report of a backtest adds.

    Parameters
    ----------
    benchmark : DataFrame, optional
        The benchmark's prices for the attribution section (one column).
    benchmark_name : str
        Its name in the report.
    benchmark_unavailable : str, optional
        Why there is no benchmark (shown in place of the attribution).
    paths, years : int
        The Monte Carlo of the years after the end.
    """

    benchmark: pd.DataFrame | None = None
    benchmark_name: str = "benchmark"
    benchmark_unavailable: str | None = None
    paths: int = 2000
    years: int = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRequest:
    """One backtest.

    Parameters
    ----------
    household : Household
        Accounts, targets, policy and rules.
    prices : DataFrame
        Adjusted closes, one row per trading day, one column per symbol.
    start, end : date, optional
        First and last day (default: the whole table).
    initial : float
        Cash in the first account before the first day.
    flows : sequence of ScheduledFlow
        Recurring contributions and withdrawals (see :func:`scheduled_flows`).
    progress : ProgressCallback, optional
        Told how far the replay has come.
    report : ReportOptions, optional
        Also build the HTML report.
    """

    household: Household
    prices: pd.DataFrame
    start: date | None = None
    end: date | None = None
    initial: float = 100_000.0
    flows: Sequence[ScheduledFlow] = ()
    progress: ProgressCallback | None = None
    report: ReportOptions | None = None


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """The backtest, the flows it ran with, and its HTML report when asked for."""

    household: Household
    result: BacktestResult
    flows: tuple[ScheduledFlow, ...]
    report_html: str | None = None


def backtest(request: BacktestRequest) -> BacktestOutcome:
    """Replay the household's rule over the prices, with costs, lots and taxes.

    Raises
    ------
    InputError
        Bad window or amounts (``start``, ``end``, ``initial``, ``account``), missing prices.
    """
    hh = request.household
    check_window(request.start, request.end, request.initial)
    result = run_backtest(
        hh,
        request.prices,
        start=request.start,
        end=request.end,
        initial=request.initial,
        flows=request.flows,
        progress=request.progress,
    )
    text = None
    if request.report is not None:
        from poise.report import backtest_report

        sections = _risk_sections(hh, request.prices, result, request.flows, request.report)
        text = backtest_report(
            {result.policy: result},
            title=f"{hh.name}: backtest of {result.policy}",
            subtitle=run_description(result, request.flows),
            sections=sections,
        )
    return BacktestOutcome(hh, result, tuple(request.flows), text)


def _risk_sections(
    household: Household,
    prices: pd.DataFrame,
    result: BacktestResult,
    flows: Sequence[ScheduledFlow],
    options: ReportOptions,
) -> list[tuple[str, Any]]:
    """Report sections on one backtest: its attribution against the benchmark and a Monte
    Carlo of the next years from where it ended, with the same rule and savings."""
    from poise.risk import MonteCarloSettings, attribute_backtest, benchmark_series, monte_carlo
    from poise.risk._report import attribution_blocks, montecarlo_blocks

    sections: list[tuple[str, Any]] = []
    try:
        if options.benchmark is None:
            raise DataError(options.benchmark_unavailable or "no benchmark given")
        bench = benchmark_series(options.benchmark, None, options.benchmark_name)
        attribution = attribute_backtest(
            household,
            prices,
            bench,
            benchmark_name=options.benchmark_name,
            start=result.start,
            end=result.end,
            initial=result.initial_value,
            flows=flows,
            result=result,
        )
        sections.append(("Attribution", ""))
        sections += attribution_blocks(attribution)
    except DataError as exc:
        sections.append(("Attribution", f"<p>Not available: {html.escape(str(exc))}</p>"))
    monthly = sum(f.amount / Frequency.parse(f.every).months for f in flows)
    final_weights = result.weights.iloc[-1]
    final_targets = result.daily_targets().iloc[-1]
    mc = monte_carlo(
        household,
        prices.loc[: pd.Timestamp(result.end)],
        MonteCarloSettings(paths=options.paths, years=options.years, contribution=monthly, seed=0),
        initial_value=float(result.values.iloc[-1]),
        initial_weights={str(k): float(v) for k, v in final_weights.items()},
        targets={str(k): float(v) for k, v in final_targets.items() if v > 0},
        start=result.end,
    )
    blocks = montecarlo_blocks(mc)
    heading = (
        f"Monte Carlo: the next {options.years} years from {result.end}, same rule and savings"
    )
    return [*sections, (heading, blocks[0][1]), *blocks[1:]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompareRequest:
    """Several rules on the same household, prices and flows.

    ``policies`` pairs each rule with its name (the spec it was parsed from); names must be
    distinct (``field`` ``policies``). ``report``: also build the HTML report, headed
    ``title`` (default: the household's name and "rules compared").
    """

    household: Household
    prices: pd.DataFrame
    policies: Sequence[tuple[str, Policy]]
    start: date | None = None
    end: date | None = None
    initial: float = 100_000.0
    flows: Sequence[ScheduledFlow] = ()
    progress: ProgressCallback | None = None
    report: bool = False
    title: str | None = None


@dataclass(frozen=True, slots=True)
class CompareOutcome:
    """One backtest per rule, by name; ``labelled`` by each rule's description when those
    are distinct (else by name); ``subtitle`` describes the common run."""

    household: Household
    results: Mapping[str, BacktestResult]
    labelled: Mapping[str, BacktestResult]
    subtitle: str
    report_html: str | None = None


def compare(request: CompareRequest) -> CompareOutcome:
    """Backtest every rule of the request on the same household, prices and flows.

    Raises
    ------
    InputError
        A rule named twice (``field`` ``policies``), or as :func:`backtest`.
    """
    hh = request.household
    check_window(request.start, request.end, request.initial)
    seen: set[str] = set()
    for name, _ in request.policies:
        if name in seen:
            raise InputError(f"{name!r} is given twice; compare different rules", field="policies")
        seen.add(name)
    if not request.policies:
        raise InputError("give at least one rule", field="policies")
    results: dict[str, BacktestResult] = {}
    for name, rule in request.policies:
        results[name] = run_backtest(
            hh,
            request.prices,
            start=request.start,
            end=request.end,
            initial=request.initial,
            flows=request.flows,
            policy=rule,
            progress=request.progress,
        )
    labels = [r.policy for r in results.values()]
    if len(set(labels)) < len(labels):
        labels = list(results)
    named = dict(zip(labels, results.values(), strict=True))
    subtitle = run_description(next(iter(results.values())), request.flows, policy=False)
    text = None
    if request.report:
        from poise.report import backtest_report

        title = request.title or f"{hh.name}: rules compared"
        text = backtest_report(named, title=title, subtitle=subtitle)
    return CompareOutcome(hh, results, named, subtitle, text)
