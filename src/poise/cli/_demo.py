"""``poise demo``: no files needed. An example household on 33 years of real S&P 500 prices,
six rebalancing rules compared, a table in the terminal and an HTML report on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from poise.backtest import BacktestResult, ScheduledFlow, run_backtest
from poise.cli._app import app, console, print_json
from poise.cli._backtest import describe_run, metrics_table, run_options, write_report
from poise.io import household_from_dict, read_prices
from poise.model import Household
from poise.policy import policy_from_spec

__all__ = ["DEMO_HOUSEHOLD", "DEMO_POLICIES", "demo", "demo_household"]

DEMO_HOUSEHOLD: dict[str, Any] = {
    "name": "Rivera household (demo)",
    "accounts": [
        {"id": "brokerage", "kind": "taxable"},
        {"id": "ira", "kind": "tax_deferred"},
        {"id": "roth", "kind": "tax_free"},
    ],
    "targets": {
        "AAPL": 0.12,
        "MSFT": 0.12,
        "JPM": 0.10,
        "KO": 0.10,
        "HD": 0.08,
        "JNJ": 0.10,
        "PG": 0.10,
        "XOM": 0.08,
        "PEP": 0.06,
        "UNH": 0.06,
        "LLY": 0.06,
        "CASH": 0.02,
    },
    "policy": {"kind": "threshold", "absolute": 0.05, "relative": 0.25},
    "trading": {
        "fractional": False,
        "min_trade_value": 50.0,
        "cash_reserve": 100.0,
        "commission": 0.0,
        "spread_bps": 5.0,
    },
    "tax": {"lot_method": "tax_min", "short_term_rate": 0.35, "long_term_rate": 0.15},
}
"""The household of ``examples/household.toml`` (without its harvesting table), as data."""

DEMO_POLICIES: tuple[str, ...] = (
    "cash_flow",
    "calendar:annual",
    "calendar:quarterly",
    "threshold:abs=0.05",
    "5/25",
    "volatility:abs=0.05",
)
"""The rules the demo compares (``poise.policy.policy_from_spec`` specs)."""

DEMO_CONTRIBUTION = ScheduledFlow(1_000.0, "month", "brokerage")
"""The demo saves 1,000 a month into the brokerage account."""


def demo_household() -> Household:
    """The demo household (a taxable brokerage account, an IRA and a Roth IRA)."""
    return household_from_dict(DEMO_HOUSEHOLD, source="<demo household>")


@app.command()
def demo(
    out: Path = typer.Option(
        Path("poise-demo.html"), "--out", help="Where to write the HTML report."
    ),
    start: str | None = typer.Option(None, "--start", help="First day (default 1990-01-02)."),
    end: str | None = typer.Option(None, "--end", help="Last day (default 2022-12-28)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Compare six rebalancing rules for an example household on real S&P 500 prices
    (1990-2022, bundled), with monthly savings, costs and taxes; write an HTML report."""
    first, last, initial = run_options(start, end, 100_000.0)
    hh = demo_household()
    prices = read_prices("sp500")
    results: dict[str, BacktestResult] = {}
    from poise.cli._backtest import show_progress

    for spec in DEMO_POLICIES:
        rule = policy_from_spec(spec)
        results[rule.describe()] = run_backtest(
            hh,
            prices,
            start=first,
            end=last,
            initial=initial,
            flows=[DEMO_CONTRIBUTION],
            policy=rule,
            progress=show_progress(),
        )
    any_result = next(iter(results.values()))
    subtitle = describe_run(any_result, [DEMO_CONTRIBUTION]).replace(f" · {any_result.policy}", "")
    written = write_report(out, results, f"{hh.name}: six rebalancing rules", subtitle)
    if json_out:
        print_json(
            {
                "household": hh.name,
                "report": str(written),
                "policies": [
                    {"spec": spec, **r.to_dict()}
                    for spec, r in zip(DEMO_POLICIES, results.values(), strict=True)
                ],
            }
        )
        return
    console.print(subtitle)
    console.print(
        "Six rules for the same household and savings, after 5 bp spread, whole shares and "
        "US taxes (35% short-term, 15% long-term, paid each year from the brokerage account):"
    )
    console.print(metrics_table(results, "Rebalancing rules compared"))
    console.print(f"Report written to {escape(str(written))}")
    console.print(
        "Try your own: poise backtest HOUSEHOLD.toml --prices sp500 (see examples/household.toml)"
    )
