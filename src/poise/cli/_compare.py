"""``poise compare``: several rules on the same household and prices, side by side."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from poise._errors import InputError
from poise.backtest import BacktestResult, run_backtest
from poise.cli._app import app, console, print_json, warn
from poise.cli._backtest import (
    describe_run,
    metrics_table,
    run_options,
    scheduled_flows,
    show_progress,
    write_report,
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
from poise.io import read_household, read_prices
from poise.policy import policy_from_spec

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
    hh = read_household(household)
    first, last, initial = run_options(start, end, initial)
    withdrawal = either(withdrawal, withdrawal_old, "--withdraw", "--withdrawal")
    flows = scheduled_flows(contribution, withdrawal, every, account, hh)
    rules = [(spec, policy_from_spec(spec)) for spec in policy]
    seen: set[str] = set()
    for spec, _ in rules:
        if spec in seen:
            raise InputError(f"{spec!r} is given twice; compare different rules", field="--policy")
        seen.add(spec)
    table = read_prices(prices)
    results: dict[str, BacktestResult] = {}
    for spec, rule in rules:
        results[spec] = run_backtest(
            hh,
            table,
            start=first,
            end=last,
            initial=initial,
            flows=flows,
            policy=rule,
            progress=show_progress(),
        )
    labels = [r.policy for r in results.values()]
    if len(set(labels)) < len(labels):
        labels = list(results)
    named = dict(zip(labels, results.values(), strict=True))
    any_result = next(iter(results.values()))
    subtitle = describe_run(any_result, flows).replace(f" · {any_result.policy}", "")
    written = None
    if report is not None:
        written = write_report(report, named, f"{hh.name}: rules compared", subtitle)
    if json_out:
        out = {
            "household": hh.name,
            "policies": [{"spec": spec, **r.to_dict()} for spec, r in results.items()],
        }
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    console.print(subtitle)
    console.print(metrics_table(named, "Rules compared"))
    for spec, r in results.items():
        for warning in r.warnings[:3]:
            warn(f"warning ({spec})", warning)
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")
