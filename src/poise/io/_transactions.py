"""Read recent transactions (for the wash-sale rule) from CSV."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from poise._errors import InputError
from poise.io._holdings import (
    _known_symbols,
    csv_rows,
    parse_date,
    parse_number,
    read_csv_rows,
    symbol_case_hint,
    text_lines,
)
from poise.model import CASH, Household, Side
from poise.tax import Transaction

__all__ = [
    "TRANSACTIONS_COLUMNS",
    "check_transactions_by",
    "read_transactions",
    "transactions_from_text",
]

TRANSACTIONS_COLUMNS = ("date", "account", "symbol", "side", "quantity", "price", "cost_basis")


def read_transactions(
    path: str | Path, household: Household | None = None
) -> tuple[Transaction, ...]:
    """Read a transactions CSV (header ``date,account,symbol,side,quantity,price,cost_basis``).

    One row per past trade, so that the wash-sale rule sees recent loss sales and purchases
    (at least the last 31 days). ``side`` is ``buy`` or ``sell``; ``quantity`` > 0 shares;
    ``price`` the fill price; ``cost_basis`` the total basis of the shares a sell disposed of
    (required for sells, empty for buys). With ``household``, every account must be one of its
    accounts. Returns the transactions in date order.

    Raises
    ------
    InputError
        Naming the file, the line and the fix.
    """
    return _transactions_from_rows(read_csv_rows(path, TRANSACTIONS_COLUMNS), str(path), household)


def transactions_from_text(
    text: str, household: Household | None = None, source: str = "transactions"
) -> tuple[Transaction, ...]:
    """Transactions from CSV text in the transactions format (see :func:`read_transactions`),
    e.g. an HTTP request body; ``source`` names it in errors."""
    rows = csv_rows(text_lines(text, source), TRANSACTIONS_COLUMNS, source)
    return _transactions_from_rows(rows, source, household)


def _transactions_from_rows(
    rows: list[tuple[int, dict[str, str]]], src: str, household: Household | None
) -> tuple[Transaction, ...]:
    out: list[Transaction] = []
    known = _known_symbols(household)
    for line_no, row in rows:
        where = f"line {line_no}"
        day = parse_date(row["date"], src, where)
        account = row["account"]
        if not account:
            raise InputError("account is empty", source=src, field=where)
        if household is not None and account not in household.account_ids:
            raise InputError(
                f"unknown account {account!r}; the household has "
                f"{', '.join(household.account_ids)} (fix the account or add it to the household)",
                source=src,
                field=where,
            )
        symbol = row["symbol"]
        if not symbol or symbol.upper() == CASH:
            raise InputError(
                "symbol must name a security (cash movements are not transactions here)",
                source=src,
                field=where,
            )
        hint = symbol_case_hint(symbol, known) if symbol not in known else None
        if hint:
            raise InputError(hint, source=src, field=where)
        try:
            side = Side(row["side"].lower())
        except ValueError:
            raise InputError(
                f"side must be buy or sell, got {row['side']!r}", source=src, field=where
            ) from None
        quantity = parse_number(row["quantity"], src, where, "quantity")
        if quantity <= 0:
            raise InputError(
                f"quantity must be a positive number of shares, got {quantity:g}",
                source=src,
                field=where,
            )
        price = parse_number(row["price"], src, where, "price")
        if price < 0:
            raise InputError(f"price must not be negative, got {price:g}", source=src, field=where)
        basis: float | None = None
        if side is Side.SELL:
            if not row["cost_basis"]:
                raise InputError(
                    "a sell needs cost_basis (the total basis of the shares it disposed of), "
                    "so that a loss can be recognised",
                    source=src,
                    field=where,
                )
            basis = parse_number(row["cost_basis"], src, where, "cost_basis")
            if basis < 0:
                raise InputError(
                    f"cost_basis must not be negative, got {basis:g}", source=src, field=where
                )
        elif row["cost_basis"]:
            raise InputError(
                "a buy leaves cost_basis empty (its basis is quantity × price)",
                source=src,
                field=where,
            )
        out.append(Transaction(day, account, symbol, side, quantity, price, basis))
    out.sort(key=lambda t: t.date)
    return tuple(out)


def check_transactions_by(
    transactions: Sequence[Transaction], as_of: date, source: str = "transactions"
) -> None:
    """Refuse transactions dated after ``as_of``: a plan made on ``as_of`` cannot know them
    (``rebalance`` and ``harvest`` both refuse them rather than silently dropping them)."""
    late = [t for t in transactions if t.date > as_of]
    if late:
        first = late[0]
        raise InputError(
            f"{len(late)} transaction(s) are dated after the as-of day {as_of} (the first: "
            f"{first.side.value} {first.symbol} in {first.account} on {first.date}); remove "
            "them or pass a later --as-of",
            source=source,
        )
