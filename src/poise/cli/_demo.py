"""``poise demo``: no files needed. An example household on 33 years of real S&P 500 prices,
six rebalancing rules compared, a table in the terminal and an HTML report on disk."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from poise._errors import InputError
from poise.cli._app import app, console, flag_errors, parse_date_option, print_json
from poise.cli._backtest import RUN_FLAGS, check_report_path, headline, metrics_table, write_report
from poise.cli._progress import progress_bars

__all__ = ["demo"]


@app.command()
def demo(
    out: Path | None = typer.Option(
        None, "--report", help="Where to write the HTML report (default poise-demo.html)."
    ),
    out_old: Path | None = typer.Option(None, "--out", hidden=True),
    start: str | None = typer.Option(None, "--start", help="First day (default 1990-01-02)."),
    end: str | None = typer.Option(None, "--end", help="Last day (default 2022-12-28)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Compare six rebalancing rules for an example household on real S&P 500 prices
    (1990-2022, bundled), with monthly savings, costs and taxes; write an HTML report."""
    from poise.app import check_window
    from poise.app import demo as run
    from poise.report import compare_to_dict

    if out is not None and out_old is not None:
        raise InputError("give it once (--out is the old name of --report)", field="--report")
    out = out or out_old or Path("poise-demo.html")
    first = parse_date_option(start, "--start")
    last = parse_date_option(end, "--end")
    with flag_errors(RUN_FLAGS):
        check_window(first, last, 100_000.0)
    check_report_path(out, "--report")
    with flag_errors(RUN_FLAGS), progress_bars() as progress:
        outcome = run(first, last, progress=progress)
    written = write_report(out, outcome.report_html or "", "--report")
    if json_out:
        data = compare_to_dict(outcome)
        print_json({"household": data["household"], "report": str(written), **data})
        return
    console.print(headline(outcome.subtitle, outcome.household.name))
    console.print(
        "Six rules for the same household and savings, after 5 bp spread, whole shares and "
        "US taxes (35% short-term, 15% long-term, paid each year from the brokerage account):"
    )
    console.print(metrics_table(outcome.labelled, "Rebalancing rules compared"))
    console.print(f"Report written to {escape(str(written))}")
    console.print(
        "Try your own: poise backtest HOUSEHOLD.toml --prices sp500 (see examples/household.toml)"
    )
