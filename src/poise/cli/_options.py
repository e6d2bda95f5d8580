"""Options that several commands share, declared once so they read and behave alike.

One name per idea across commands: ``--withdraw`` (an amount taken out, once in ``rebalance``
or every period in ``backtest``), ``--risk-free-rate``. An old spelling stays accepted as a
hidden alias (``--withdrawal``, ``--risk-free``). Every number an option takes is read by
``number``: finite and of a plausible size (``poise._numbers``), else exit 2 naming the option.
"""

from __future__ import annotations

import typer

from poise._errors import InputError
from poise._numbers import number_problem

__all__ = [
    "ACCOUNT",
    "CONTRIBUTION",
    "DATABASE_URL",
    "END",
    "EVERY",
    "INITIAL",
    "PRICES",
    "RISK_FREE_ALIAS",
    "START",
    "WITHDRAWAL",
    "WITHDRAW_ALIAS",
    "either",
    "number",
]


def number(text: str) -> float:
    """Parse an option's number; refuse NaN, infinities, ``1e308`` and denormals."""
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number") from None
    problem = number_problem(value)
    if problem is not None:
        raise typer.BadParameter(f"{text!r} {problem}")
    return value


def either(value: float | None, old: float | None, name: str, old_name: str) -> float | None:
    """The value of an option given under its name or its old (hidden) name, not both."""
    if value is not None and old is not None:
        raise InputError(f"give it once ({old_name} is the old name of {name})", field=name)
    return value if value is not None else old


PRICES = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500).")
START = typer.Option(None, "--start", help="First day (default: first date).")
END = typer.Option(None, "--end", help="Last day (default: last date).")
INITIAL = typer.Option(100_000.0, "--initial", parser=number, help="Cash in the first account.")
CONTRIBUTION = typer.Option(
    None, "--contribution", parser=number, help="Amount deposited every period (see --every)."
)
WITHDRAWAL = typer.Option(
    None, "--withdraw", parser=number, help="Amount withdrawn every period (see --every)."
)
WITHDRAW_ALIAS = typer.Option(None, "--withdrawal", parser=number, hidden=True)
RISK_FREE_ALIAS = typer.Option(None, "--risk-free", parser=number, hidden=True)
EVERY = typer.Option("month", "--every", help="month | quarter | year.")
ACCOUNT = typer.Option(None, "--account", help="Account of the cash flows (default: the first).")
DATABASE_URL = typer.Option(
    None,
    "--database-url",
    help="Database URL (default: POISE_DATABASE_URL, else sqlite:///$POISE_HOME/poise.db).",
)
