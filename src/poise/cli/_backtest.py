"""``poise backtest``: how would this household's rule have done over a price history?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import DataError, InputError
from poise.cli._app import (
    REQUEST_FLAGS,
    app,
    console,
    flag_errors,
    parse_date_option,
    print_json,
    warn,
    whole_numbers,
)
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
from poise.cli._progress import progress_bars

__all__ = [
    "RUN_FLAGS",
    "backtest",
    "check_report_path",
    "headline",
    "metrics_table",
    "print_warnings",
    "write_report",
]

RUN_FLAGS = REQUEST_FLAGS
"""Request fields of the backtest-like use cases and the flags that set them."""


def metrics_table(results: Mapping[str, object], title: str) -> Table:
    """Metrics as rows, one column per backtest."""
    from poise.report import METRIC_ROWS, backtest_result_to_dict, format_metric

    table = Table(title=title)
    table.add_column("metric")
    dicts = {name: backtest_result_to_dict(r) for name, r in results.items()}  # type: ignore[arg-type]
    for name in results:
        table.add_column(escape(name), justify="right")
    for label, key in METRIC_ROWS:
        table.add_row(label, *(format_metric(key, d[key]) for d in dicts.values()))
    return whole_numbers(table)


def headline(text: str, name: str) -> str:
    """``text`` (a run description starting with the household's name) with the name bold."""
    return f"[bold]{escape(name)}[/]{escape(text[len(name) :])}"


def check_report_path(path: Path, flag: str = "--report") -> Path:
    """Refuse a report path that is not ``.html`` or whose folder does not exist."""
    if path.suffix.lower() not in {".html", ".htm"}:
        raise InputError(
            f"the report is an HTML file; give a name ending in .html, got {str(path)!r}",
            field=flag,
        )
    if not path.parent.exists():
        raise InputError(
            f"folder {str(path.parent)!r} does not exist; create it or choose another path",
            field=flag,
        )
    return path


def write_report(path: Path, text: str, flag: str = "--report") -> Path:
    """Write ``text`` to ``path`` atomically; returns the resolved path."""
    from poise.io import write_text_atomic

    write_text_atomic(check_report_path(path, flag), text)
    return path.resolve()


def print_warnings(warnings: Sequence[str], limit: int = 5) -> None:
    for warning in warnings[:limit]:
        warn("warning", warning)
    if len(warnings) > limit:
        console.print(f"[yellow]… and {len(warnings) - limit} more warnings[/]")


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
    from poise.app import BacktestRequest, ReportOptions, check_window, scheduled_flows
    from poise.app import backtest as run
    from poise.io import read_household, read_prices
    from poise.report import backtest_to_dict

    hh = read_household(household)
    first = parse_date_option(start, "--start")
    last = parse_date_option(end, "--end")
    with flag_errors(RUN_FLAGS):
        check_window(first, last, initial)
        flows = scheduled_flows(
            hh,
            contribution=contribution,
            withdrawal=either(withdrawal, withdrawal_old, "--withdraw", "--withdrawal"),
            every=every,
            account=account,
        )
    table = read_prices(prices)
    options = None
    if report is not None:
        check_report_path(report)
        try:
            options = ReportOptions(
                benchmark=read_prices(benchmark), benchmark_name=benchmark, paths=paths, years=years
            )
        except DataError as exc:
            options = ReportOptions(
                benchmark_name=benchmark, benchmark_unavailable=str(exc), paths=paths, years=years
            )
    with flag_errors(RUN_FLAGS), progress_bars() as progress:
        outcome = run(
            BacktestRequest(
                household=hh,
                prices=table,
                start=first,
                end=last,
                initial=initial,
                flows=flows,
                progress=progress,
                report=options,
            )
        )
    result = outcome.result
    written = None
    if report is not None and outcome.report_html is not None:
        written = write_report(report, outcome.report_html)
    if json_out:
        out = backtest_to_dict(outcome)
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    from poise.app import run_description

    console.print(headline(run_description(result, flows), result.household))
    console.print(metrics_table({result.policy: result}, "Backtest"))
    console.print(
        f"{len(result.trades)} trades · contributions {result.total_contributions:,.2f} · "
        f"withdrawals {result.total_withdrawals:,.2f} · taxes due at the end "
        f"{result.taxes_due:,.2f}"
    )
    print_warnings(result.warnings)
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")
