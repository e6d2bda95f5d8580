"""``poise harvest``: which losses can I harvest today, what do I buy instead, what does it save?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from poise.cli._app import (
    REQUEST_FLAGS,
    app,
    console,
    flag_errors,
    parse_date_option,
    print_json,
    trades_table,
    warn,
)

if TYPE_CHECKING:
    from poise.plan import HarvestPlan

__all__ = ["harvest"]


def _render(plan: HarvestPlan, name: str) -> None:
    console.print(f"[bold]{escape(name)}[/] on {plan.as_of}: tax-loss harvest")
    if plan.trades:
        console.print(trades_table(plan.trades, gain_label="loss"))
    else:
        console.print("No losses to harvest today.")
    if plan.blocked:
        table = Table(title="Blocked")
        for column in ("account", "symbol", "loss", "reason"):
            table.add_column(column, justify="right" if column == "loss" else "left")
        for b in plan.blocked:
            table.add_row(b.account, b.symbol, f"{b.loss:,.2f}", escape(b.reason))
        console.print(table)
    console.print(
        f"Harvested short-term {plan.harvested_short_term:,.2f} · long-term "
        f"{plan.harvested_long_term:,.2f} · estimated tax saving "
        f"{plan.estimated_tax_saving:,.2f} · cost {plan.total_cost:,.2f}"
    )
    for warning in plan.warnings:
        warn("warning", warning)


@app.command()
def harvest(
    household: Path = typer.Argument(..., metavar="HOUSEHOLD", help="Household TOML file."),
    holdings: Path = typer.Option(..., "--holdings", help="Holdings CSV (one row per lot)."),
    prices: str = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Decision day (default: last date)."),
    transactions: Path | None = typer.Option(
        None, "--transactions", help="Recent trades CSV (at least the last 31 days)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List the losses to harvest today, the substitutes to buy, and the wash sales that block."""
    from poise.app import HarvestRequest
    from poise.app import harvest as run
    from poise.io import read_holdings, read_household, read_prices, read_transactions
    from poise.report import harvest_to_dict

    hh = read_household(household)
    lots = read_holdings(holdings, hh)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
    txs = read_transactions(transactions, hh) if transactions is not None else ()
    with flag_errors(REQUEST_FLAGS):
        result = run(
            HarvestRequest(
                household=hh,
                holdings=lots,
                prices=table,
                as_of=day,
                transactions=txs,
                prices_source=str(prices),
                holdings_source=str(holdings),
                transactions_source=str(transactions),
            )
        )
    if json_out:
        print_json(harvest_to_dict(result))
    else:
        _render(result.plan, hh.name)
