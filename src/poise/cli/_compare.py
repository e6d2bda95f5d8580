"""``poise compare``: several rules on the same household and prices, side by side."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from poise.cli._app import app, console, flag_errors, parse_date_option, print_json, warn
from poise.cli._backtest import RUN_FLAGS, check_report_path, headline, metrics_table, write_report
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

__all__ = ["compare"]


@app.command()
def compare(
    household: Path = typer.Argument(..., metavar="HOUSEHOLD", help="Household TOML file."),
    prices: str = PRICES,
    policy: list[str] = typer.Option(
        ...,
        "--policy",
        help="A rule to compare (repeat): calendar:annual, threshold:abs=0.05, 5/25, "
        "cash_flow, volatility, never, or a+b for either.",
    ),
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
) -> None:
    """Backtest several rules on the same household, prices and cash flows; one table."""
    from poise.app import CompareRequest, check_window, scheduled_flows
    from poise.app import compare as run
    from poise.io import read_household, read_prices
    from poise.policy import policy_from_spec
    from poise.report import compare_to_dict

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
        rules = [(spec, policy_from_spec(spec)) for spec in policy]
    if report is not None:
        check_report_path(report)
    table = read_prices(prices)
    with flag_errors(RUN_FLAGS), progress_bars() as progress:
        outcome = run(
            CompareRequest(
                household=hh,
                prices=table,
                policies=rules,
                start=first,
                end=last,
                initial=initial,
                flows=flows,
                progress=progress,
                report=report is not None,
            )
        )
    written = None
    if report is not None and outcome.report_html is not None:
        written = write_report(report, outcome.report_html)
    if json_out:
        out = compare_to_dict(outcome)
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    console.print(headline(outcome.subtitle, hh.name))
    console.print(metrics_table(outcome.labelled, "Rules compared"))
    for spec, r in outcome.results.items():
        for warning in r.warnings[:3]:
            warn(f"warning ({spec})", warning)
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")
