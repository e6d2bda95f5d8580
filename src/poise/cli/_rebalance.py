"""``poise rebalance``: do I need to rebalance today, and exactly what should I trade?"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from poise._errors import InputError
from poise.allocate import resolve_targets
from poise.cli._app import app, console, parse_date_option, print_json, trades_table, warn
from poise.io import (
    check_acquired_by,
    history_matrix,
    prices_on,
    read_holdings,
    read_household,
    read_prices,
)
from poise.model import CASH, Plan
from poise.plan import CashFlow, plan_rebalance
from poise.report import plan_to_dict
from poise.risk._quality import check_prices

__all__ = ["rebalance"]

QUALITY_LOOKBACK_DAYS = 260
"""Trading days of prices (about a year, up to the as-of day) checked for stale prices, gaps
and impossible jumps before a plan is shown."""


def _flows(
    deposit: float | None, withdraw: float | None, account: str | None, accounts: tuple[str, ...]
) -> list[CashFlow]:
    if deposit is None and withdraw is None:
        if account is not None:
            raise InputError("--account goes with --deposit or --withdraw", field="--account")
        return []
    if account is None:
        if len(accounts) > 1:
            raise InputError(
                f"say which account the cash flow is for: --account {' | '.join(accounts)}",
                field="--account",
            )
        account = accounts[0]
    if account not in accounts:
        raise InputError(
            f"unknown account {account!r}; the household has {', '.join(accounts)}",
            field="--account",
        )
    flows = []
    for amount, option, sign in ((deposit, "--deposit", 1.0), (withdraw, "--withdraw", -1.0)):
        if amount is None:
            continue
        if not amount > 0:
            raise InputError(f"must be a positive amount, got {amount:g}", field=option)
        flows.append(CashFlow(account, sign * amount))
    return flows


def render_plan(plan: Plan, household_name: str) -> None:
    """A table of target / before / after weights and the trade list, with totals."""
    status = "[bold red]rebalance[/]" if plan.triggered else "[bold green]no rebalance needed[/]"
    console.print(f"[bold]{household_name}[/] on {plan.as_of}: {status}")
    for reason in plan.reasons:
        console.print(f"  • {reason}")
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
    household: Path = typer.Argument(..., help="Household TOML file."),
    holdings: Path = typer.Option(..., "--holdings", help="Holdings CSV (one row per lot)."),
    prices: str = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Decision day (default: last date)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    deposit: float | None = typer.Option(None, "--deposit", help="Cash to deposit today."),
    withdraw: float | None = typer.Option(None, "--withdraw", help="Cash to withdraw today."),
    account: str | None = typer.Option(None, "--account", help="Account of the cash flow."),
    force: bool = typer.Option(False, "--force", help="Rebalance to target regardless."),
    last_rebalanced: str | None = typer.Option(
        None, "--last-rebalanced", help="Date of the last rebalance (calendar policies)."
    ),
    transactions: Path | None = typer.Option(
        None, "--transactions", help="Recent trades CSV: applies the wash-sale rule."
    ),
) -> None:
    """Decide whether to rebalance today and list the trades, per account, with cost and tax."""
    hh = read_household(household)
    lots = read_holdings(holdings, hh)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
    last = parse_date_option(last_rebalanced, "--last-rebalanced")
    flows = _flows(deposit, withdraw, account, hh.account_ids)
    targets_symbols = [s for s in hh.targets if s != CASH]
    needed = list(dict.fromkeys([*targets_symbols, *lots.symbols]))
    if hh.allocation is not None:
        needed = list(dict.fromkeys([*needed, *hh.allocation.symbols]))
    on, price_map = prices_on(table, day, needed, source=str(prices))
    check_acquired_by(lots, on, source=str(holdings))
    targets = resolve_targets(hh, table, on)
    txs = None
    if transactions is not None:
        from poise.cli._harvest import optional_prices
        from poise.io import read_transactions

        txs = [t for t in read_transactions(transactions, hh) if t.date <= on]
        price_map.update(optional_prices(table, on, hh, price_map))
    symbols = [s for s in targets if s != CASH] + [s for s in lots.symbols if s not in targets]
    plan = plan_rebalance(
        hh,
        lots,
        price_map,
        on,
        targets=targets,
        flows=flows,
        force=force,
        last_rebalanced=last,
        history=history_matrix(table, symbols, on),
        transactions=txs,
    )
    for acc_id, short in plan.unmet_withdrawals.items():
        raise InputError(
            f"the withdrawal from {acc_id} cannot be met: short by {short:,.2f} after selling "
            "what the account holds; withdraw less or from another account",
            field="--withdraw",
        )
    # Data quality over the last year of prices that the decision rests on.
    recent = table.loc[: str(on)].tail(QUALITY_LOOKBACK_DAYS)
    data_warnings = [
        str(w) for w in check_prices(recent, symbols=needed, as_of=on, source=str(prices))
    ]
    if json_out:
        out = plan_to_dict(plan)
        out["household"] = hh.name
        out["policy"] = hh.policy.describe()
        out["data_warnings"] = data_warnings
        print_json(out)
    else:
        render_plan(plan, hh.name)
        for warning in data_warnings:
            warn("data", warning)
