"""``poise backtest``: how would this household's rule have done over a price history?"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import DataError, InputError
from poise.backtest import BacktestResult, ScheduledFlow, run_backtest
from poise.cli._app import app, console, parse_date_option, print_json, warn, whole_numbers
from poise.cli._options import (
    ACCOUNT,
    CONTRIBUTION,
    END,
    EVERY,
    INITIAL,
    PRICES,
    START,
    WITHDRAW_ALIAS,
    WITHDRAWAL,
    either,
)
from poise.io import read_household, read_prices, write_text_atomic
from poise.model import Household
from poise.report import METRIC_ROWS, format_metric

__all__ = ["backtest", "metrics_table", "scheduled_flows", "write_report"]

PERIODS = ("month", "quarter", "year")


def scheduled_flows(
    contribution: float | None,
    withdrawal: float | None,
    every: str,
    account: str | None,
    household: Household,
) -> list[ScheduledFlow]:
    """``--contribution`` / ``--withdraw`` / ``--every`` / ``--account`` as flows."""
    if every not in PERIODS:
        raise InputError(
            f"{every!r} is not a frequency; use month | quarter | year", field="--every"
        )
    if account is not None and account not in household.account_ids:
        raise InputError(
            f"unknown account {account!r}; the household has {', '.join(household.account_ids)}",
            field="--account",
        )
    flows = []
    for amount, option, sign in (
        (contribution, "--contribution", 1.0),
        (withdrawal, "--withdraw", -1.0),
    ):
        if amount is None:
            continue
        if not amount > 0:
            raise InputError(f"must be a positive amount, got {amount:g}", field=option)
        flows.append(ScheduledFlow(sign * amount, every, account))  # type: ignore[arg-type]
    return flows


def show_progress() -> bool:
    """Progress bars only where someone watches (stderr is a terminal)."""
    return sys.stderr.isatty()


def metrics_table(results: Mapping[str, BacktestResult], title: str) -> Table:
    """Metrics as rows, one column per backtest."""
    table = Table(title=title)
    table.add_column("metric")
    dicts = {name: r.to_dict() for name, r in results.items()}
    for name in results:
        table.add_column(escape(name), justify="right")
    for label, key in METRIC_ROWS:
        table.add_row(label, *(format_metric(key, d[key]) for d in dicts.values()))
    return whole_numbers(table)


def describe_run(result: BacktestResult, flows: Sequence[ScheduledFlow]) -> str:
    text = (
        f"[bold]{escape(result.household)}[/] · {escape(result.policy)} · {result.start} → "
        f"{result.end} · "
        f"initial {result.initial_value:,.2f}"
    )
    for flow in flows:
        text += f" · {escape(flow.describe())}"
    return text


def risk_sections(
    household: Household,
    prices: pd.DataFrame,
    result: BacktestResult,
    flows: Sequence[ScheduledFlow],
    benchmark: str,
    paths: int,
    years: int,
) -> list[tuple[str, Any]]:
    """Report sections on one backtest: its attribution against ``benchmark`` and a Monte
    Carlo of the next ``years`` from where it ended, with the same rule and savings."""
    import html

    from poise.risk import MonteCarloSettings, attribute_backtest, benchmark_series, monte_carlo
    from poise.risk._report import attribution_blocks, montecarlo_blocks

    sections: list[tuple[str, Any]] = []
    try:
        bench = benchmark_series(read_prices(benchmark), None, benchmark)
        attribution = attribute_backtest(
            household,
            prices,
            bench,
            benchmark_name=benchmark,
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
    per_month = {"month": 1.0, "quarter": 3.0, "year": 12.0}
    monthly = sum(f.amount / per_month[f.every] for f in flows)
    final_weights = result.weights.iloc[-1]
    final_targets = result.daily_targets().iloc[-1]
    mc = monte_carlo(
        household,
        prices.loc[: pd.Timestamp(result.end)],
        MonteCarloSettings(paths=paths, years=years, contribution=monthly, seed=0),
        initial_value=float(result.values.iloc[-1]),
        initial_weights={str(k): float(v) for k, v in final_weights.items()},
        targets={str(k): float(v) for k, v in final_targets.items() if v > 0},
        start=result.end,
    )
    blocks = montecarlo_blocks(mc)
    heading = f"Monte Carlo: the next {years} years from {result.end}, same rule and savings"
    return [*sections, (heading, blocks[0][1]), *blocks[1:]]


def write_report(
    path: Path,
    results: Mapping[str, BacktestResult],
    title: str,
    subtitle: str = "",
    sections: Sequence[tuple[str, Any]] = (),
) -> Path:
    """Write the HTML report for ``results`` atomically; returns the resolved path."""
    from poise.report import backtest_report

    if path.suffix.lower() not in {".html", ".htm"}:
        raise InputError(
            f"the report is an HTML file; give a name ending in .html, got {str(path)!r}",
            field="--report",
        )
    if not path.parent.exists():
        raise InputError(
            f"folder {str(path.parent)!r} does not exist; create it or choose another path",
            field="--report",
        )
    text = backtest_report(results, title=title, subtitle=subtitle, sections=sections)
    write_text_atomic(path, text)
    return path.resolve()


def print_warnings(result: BacktestResult, limit: int = 5) -> None:
    for warning in result.warnings[:limit]:
        warn("warning", warning)
    if len(result.warnings) > limit:
        console.print(f"[yellow]… and {len(result.warnings) - limit} more warnings[/]")


def run_options(
    start: str | None, end: str | None, initial: float
) -> tuple[date | None, date | None, float]:
    first = parse_date_option(start, "--start")
    last = parse_date_option(end, "--end")
    if first and last and last < first:
        raise InputError(f"--end {last} is before --start {first}", field="--end")
    if not initial > 0:
        raise InputError(f"must be a positive amount, got {initial:g}", field="--initial")
    return first, last, initial


@app.command()
def backtest(
    household: Path = typer.Argument(..., metavar="HOUSEHOLD", help="Household TOML file."),
    prices: str = PRICES,
    start: str | None = START,
    end: str | None = END,
    initial: float = INITIAL,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    contribution: float | None = CONTRIBUTION,
    withdrawal: float | None = WITHDRAWAL,
    withdrawal_old: float | None = WITHDRAW_ALIAS,
    every: str = EVERY,
    account: str | None = ACCOUNT,
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
    benchmark: str = typer.Option(
        "sp500_index",
        "--benchmark",
        help="Benchmark for the report's attribution (CSV or data set; sp500_index is a price "
        "index, without dividends).",
    ),
    paths: int = typer.Option(2000, "--paths", help="Monte Carlo paths in the report."),
    years: int = typer.Option(10, "--years", help="Monte Carlo horizon in the report (years)."),
) -> None:
    """Replay the household's rule over a price history, with costs, lots and taxes.

    With --report, the HTML report also attributes the return (CAPM against --benchmark,
    Brinson-Fachler, contributions) and fans out a Monte Carlo of the years after the end."""
    hh = read_household(household)
    first, last, initial = run_options(start, end, initial)
    withdrawal = either(withdrawal, withdrawal_old, "--withdraw", "--withdrawal")
    flows = scheduled_flows(contribution, withdrawal, every, account, hh)
    table = read_prices(prices)
    result = run_backtest(
        hh, table, start=first, end=last, initial=initial, flows=flows, progress=show_progress()
    )
    written = None
    if report is not None:
        title = f"{hh.name}: backtest of {result.policy}"
        extra = risk_sections(hh, table, result, flows, benchmark, paths, years)
        written = write_report(
            report, {result.policy: result}, title, describe_run(result, flows), extra
        )
    if json_out:
        out = result.to_dict()
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    console.print(describe_run(result, flows))
    console.print(metrics_table({result.policy: result}, "Backtest"))
    console.print(
        f"{len(result.trades)} trades · contributions {result.total_contributions:,.2f} · "
        f"withdrawals {result.total_withdrawals:,.2f} · taxes due at the end "
        f"{result.taxes_due:,.2f}"
    )
    print_warnings(result)
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")
