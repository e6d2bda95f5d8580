"""``poise harvest``: which losses can I harvest today, what do I buy instead, what does it save?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from poise.app import optional_prices
from poise.cli._app import app, console, parse_date_option, print_json, trades_table, warn
from poise.io import (
    check_acquired_by,
    check_transactions_by,
    prices_on,
    read_holdings,
    read_household,
    read_prices,
    read_transactions,
)
from poise.plan import HarvestPlan, plan_harvest
from poise.report import trade_to_dict

__all__ = ["harvest", "harvest_to_dict"]


def _r(value: float) -> float:
    return round(float(value), 10) + 0.0


def harvest_to_dict(plan: HarvestPlan) -> dict[str, Any]:
    """The ``poise harvest --json`` object (keys fixed by DESIGN.md; more may be added)."""
    return {
        "as_of": plan.as_of.isoformat(),
        "trades": [trade_to_dict(t) for t in plan.trades],
        "harvested_short_term": _r(plan.harvested_short_term),
        "harvested_long_term": _r(plan.harvested_long_term),
        "estimated_tax_saving": _r(plan.estimated_tax_saving),
        "blocked": [
            {
                "account": b.account,
                "symbol": b.symbol,
                "reason": b.reason,
                "loss": _r(b.loss),
                "until": b.until.isoformat() if b.until else None,
            }
            for b in plan.blocked
        ],
        "total_cost": _r(plan.total_cost),
        "cash_after": {k: _r(v) for k, v in plan.holdings_after.cash.items()},
        "warnings": list(plan.warnings),
    }


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
    hh = read_household(household)
    lots = read_holdings(holdings, hh)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
    txs = read_transactions(transactions, hh) if transactions is not None else ()
    on, price_map = prices_on(table, day, list(lots.symbols), source=str(prices))
    check_acquired_by(lots, on, source=str(holdings), prices_source=str(prices))
    check_transactions_by(txs, on, source=str(transactions))
    price_map.update(optional_prices(table, on, hh, price_map))
    plan = plan_harvest(hh, lots, price_map, on, transactions=txs)
    if json_out:
        out = harvest_to_dict(plan)
        out["household"] = hh.name
        print_json(out)
    else:
        _render(plan, hh.name)
