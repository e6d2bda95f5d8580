"""Options that several commands share, declared once so they read and behave alike."""

from __future__ import annotations

import typer

__all__ = [
    "ACCOUNT",
    "CONTRIBUTION",
    "DATABASE_URL",
    "END",
    "EVERY",
    "INITIAL",
    "PRICES",
    "START",
    "WITHDRAWAL",
]

PRICES = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500).")
START = typer.Option(None, "--start", help="First day (default: first date).")
END = typer.Option(None, "--end", help="Last day (default: last date).")
INITIAL = typer.Option(100_000.0, "--initial", help="Cash in the first account.")
CONTRIBUTION = typer.Option(
    None, "--contribution", help="Amount deposited every period (see --every)."
)
WITHDRAWAL = typer.Option(None, "--withdrawal", help="Amount withdrawn every period (see --every).")
EVERY = typer.Option("month", "--every", help="month | quarter | year.")
ACCOUNT = typer.Option(None, "--account", help="Account of the cash flows (default: the first).")
DATABASE_URL = typer.Option(
    None,
    "--database-url",
    help="Database URL (default: POISE_DATABASE_URL, else sqlite:///$POISE_HOME/poise.db).",
)
