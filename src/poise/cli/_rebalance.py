"""``poise rebalance``: do I need to rebalance today, and exactly what should I trade?"""

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
from poise.cli._options import number

if TYPE_CHECKING:
    from poise.model import Plan

__all__ = ["rebalance"]

_FLAGS = REQUEST_FLAGS


def render_plan(plan: Plan, household_name: str) -> None:
    """A table of target / before / after weights and the trade list, with totals."""
    status = "[bold red]rebalance[/]" if plan.triggered else "[bold green]no rebalance needed[/]"
    console.print(f"[bold]{escape(household_name)}[/] on {plan.as_of}: {status}")
    for reason in plan.reasons:
        console.print(f"  • {escape(reason)}")
    weights = Table(title=f"Weights (total value {plan.total_value:,.2f})")
    for column in ("symbol", "target", "before", "after", "drift after"):
        weights.add_column(column, justify="right" if column != "symbol" else "left")
    for sym in plan.targets:
        tw, bw, aw = plan.targets[sym], plan.weights_before[sym], plan.weights_after[sym]
        weights.add_row(sym, f"{tw:.2%}", f"{bw:.2%}", f"{aw:.2%}", f"{(aw - tw) * 100:+.2f}pp")
    console.print(weights)
    if not plan.trades:
        console.print("No trades.")
    else:
        console.print(trades_table(plan.trades))
    console.print(
        f"Total cost {plan.total_cost:,.2f} · realized short-term {plan.realized_short_term:,.2f}"
        f" · long-term {plan.realized_long_term:,.2f} · estimated tax {plan.estimated_tax:,.2f}"
    )
    for warning in plan.warnings:
        warn("warning", warning)


@app.command()
def rebalance(
    household: Path = typer.Argument(..., metavar="HOUSEHOLD", help="Household TOML file."),
    holdings: Path = typer.Option(..., "--holdings", help="Holdings CSV (one row per lot)."),
    prices: str = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Decision day (default: last date)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    deposit: float | None = typer.Option(
        None, "--deposit", parser=number, help="Cash to deposit today."
    ),
    withdraw: float | None = typer.Option(
        None, "--withdraw", parser=number, help="Cash to withdraw today."
    ),
    account: str | None = typer.Option(None, "--account", help="Account of the cash flow."),
    force: bool = typer.Option(False, "--force", help="Rebalance to target regardless."),
    last_rebalanced: str | None = typer.Option(
        None, "--last-rebalanced", help="Date of the last rebalance (calendar policies)."
    ),
    transactions: Path | None = typer.Option(
        None, "--transactions", help="Recent trades CSV: applies the wash-sale rule."
    ),
    max_price_age: int = typer.Option(
        5,
        "--max-price-age",
        min=0,
        help="Refuse a held or targeted symbol whose last price is more than this many days "
        "older than the as-of day (a younger one is carried forward).",
    ),
) -> None:
    """Decide whether to rebalance today and list the trades, per account, with cost and tax."""
    from poise.app import RebalanceRequest, cash_flows
    from poise.app import rebalance as app_rebalance
    from poise.io import read_holdings, read_household, read_prices, read_transactions
    from poise.report import rebalance_to_dict

    hh = read_household(household)
    lots = read_holdings(holdings, hh)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
    last = parse_date_option(last_rebalanced, "--last-rebalanced")
    txs = None if transactions is None else read_transactions(transactions, hh)
    with flag_errors(_FLAGS):
        flows = cash_flows(hh.account_ids, deposit=deposit, withdraw=withdraw, account=account)
        result = app_rebalance(
            RebalanceRequest(
                household=hh,
                holdings=lots,
                prices=table,
                as_of=day,
                flows=flows,
                force=force,
                last_rebalanced=last,
                transactions=txs,
                prices_source=str(prices),
                holdings_source=str(holdings),
                transactions_source=str(transactions),
                max_price_age_days=max_price_age,
            )
        )
    if json_out:
        print_json(rebalance_to_dict(result))
    else:
        render_plan(result.plan, hh.name)
        for warning in result.data_warnings:
            warn("data", warning)
