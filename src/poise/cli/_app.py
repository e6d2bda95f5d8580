"""The typer application and what every command shares."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from poise._errors import DataError, InputError

if TYPE_CHECKING:
    from poise.model import Trade

__all__ = [
    "REQUEST_FLAGS",
    "app",
    "console",
    "flag_errors",
    "parse_date_option",
    "print_json",
    "trades_table",
    "warn",
    "whole_numbers",
]

app = typer.Typer(
    name="poise",
    help="Portfolio rebalancing for households: when, what, and how it would have done.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: brackets in help texts ([allocation]) are text, not rich markup; paragraphs
    # are re-wrapped to the terminal's width; flags show no <bool>.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120, "help_option_names": ["--help", "-h"]},
)


REQUEST_FLAGS: dict[str, str] = {
    "account": "--account",
    "as_of": "--as-of",
    "benchmark": "--benchmark",
    "benchmark_column": "--benchmark-column",
    "block_months": "--block",
    "contribution": "--contribution",
    "contribution.amount": "--contribution",
    "deposit.amount": "--deposit",
    "max_price_age": "--max-price-age",
    "end": "--end",
    "every": "--every",
    "goal": "--goal",
    "initial": "--initial",
    "initial_value": "--initial",
    "last_rebalanced": "--last-rebalanced",
    "levels": "--level",
    "paths": "--paths",
    "points": "--points",
    "policies": "--policy",
    "policy": "--policy",
    "prices": "--prices",
    "risk_free": "--risk-free-rate",
    "shock": "--shock",
    "start": "--start",
    "symbols": "--symbols",
    "view": "--view",
    "window": "--window",
    "withdraw.amount": "--withdraw",
    "withdrawal.amount": "--withdraw",
    "years": "--years",
}
"""Engine and request parameters (``InputError.field``) and the flags that set them: wrap
engine calls in ``flag_errors(REQUEST_FLAGS)`` so that messages name what the user typed."""


def _print_version(value: bool) -> None:
    if value:
        from poise import __version__  # not importlib.metadata: that costs 0.08 s of start-up

        sys.stdout.write(f"poise {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print poise's version and exit.",
    ),
) -> None:
    """poise: portfolio rebalancing for households."""
    quiet_library_warnings()


def quiet_library_warnings() -> None:
    """Keep the numerical libraries' warnings (cvxpy, numpy, scipy, scikit-learn, skfolio,
    pandas) and numpy's RuntimeWarnings off stderr: poise reports what matters about the data
    and the plan itself (``warn``). ``python -W ...`` or ``PYTHONWARNINGS`` still wins."""
    if sys.warnoptions:
        return
    import warnings

    warnings.filterwarnings(
        "ignore", module=r"(cvxpy|numpy|scipy|sklearn|skfolio|pandas|clarabel)(\.|$)"
    )
    warnings.filterwarnings("ignore", category=RuntimeWarning)


console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False)


def trades_table(trades: Sequence[Trade], gain_label: str = "gain") -> Table:
    """The trade list as a table: account, side, symbol, quantity, price, value, cost, the
    realized gain of sells, and the reason (printed as it is, brackets included)."""
    table = Table(title="Trades", box=box.SIMPLE_HEAD, collapse_padding=True)
    for column in (
        "account",
        "side",
        "symbol",
        "quantity",
        "price",
        "value",
        "cost",
        gain_label,
        "reason",
    ):
        left = column in {"account", "side", "symbol", "reason"}
        table.add_column(
            column,
            justify="left" if left else "right",
            overflow="fold",
            min_width=12 if column == "reason" else None,
        )
    for t in trades:
        gain = t.realized_short_term + t.realized_long_term
        table.add_row(
            t.account,
            t.side.value,
            t.symbol,
            f"{t.quantity:,.4f}".rstrip("0").rstrip("."),
            f"{t.price:,.2f}",
            f"{t.value:,.2f}",
            f"{t.cost:,.2f}",
            f"{gain:,.2f}" if t.side.value == "sell" else "",
            escape(t.reason.removeprefix(f"{t.symbol} ")),  # the symbol has its own column
        )
    return whole_numbers(table)


def whole_numbers(table: Table) -> Table:
    """Keep every right-aligned (number) column at the width of its widest cell, so that on
    a narrow terminal the text columns wrap and no amount is ever cut short."""
    from rich.cells import cell_len
    from rich.text import Text

    for column in table.columns:
        if column.justify != "right":
            continue
        cells = [column.header, *column.cells]
        widest = max(
            (cell_len(c.plain if isinstance(c, Text) else str(c)) for c in cells), default=0
        )
        column.no_wrap = True
        column.min_width = widest
    return table


def warn(label: str, text: object) -> None:
    """Print a yellow ``label:`` and ``text`` as it is (brackets in it are not rich markup)."""
    console.print(f"[yellow]{escape(label)}:[/] {escape(str(text))}")


def print_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def parse_date_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not an ISO date; write YYYY-MM-DD", field=option) from None


@contextmanager
def flag_errors(flags: Mapping[str, str] | Callable[[str], str]) -> Iterator[None]:
    """Re-raise an engine ``InputError`` naming a request field (``withdraw.amount``) with the
    command-line flag that sets it (``--withdraw``): by a table, or by a function of the
    field."""
    try:
        yield
    except DataError as exc:
        if callable(flags):
            raise
        renamed_data = exc.renamed(dict(flags))
        if renamed_data is exc:
            raise
        raise renamed_data from None
    except InputError as exc:
        if callable(flags):
            if exc.field is None or exc.field.startswith("-"):
                raise
            flags = {exc.field: flags(exc.field)}
        renamed = exc.renamed(dict(flags))
        if renamed is exc:
            raise
        raise renamed from None
