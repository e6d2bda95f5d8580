"""Read holdings (one row per tax lot, cash as ``CASH`` rows) from CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from poise._errors import InputError
from poise._numbers import parse_number as _parse_number
from poise.data import bundled_note
from poise.io._text import check_header_delimiter, read_text_file
from poise.model import CASH, Holdings, Household, Lot

__all__ = [
    "HOLDINGS_COLUMNS",
    "check_acquired_by",
    "csv_rows",
    "holdings_from_text",
    "read_holdings",
    "text_lines",
]

HOLDINGS_COLUMNS = ("account", "symbol", "quantity", "cost_basis", "acquired")


def read_csv_rows(path: str | Path, columns: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with exactly ``columns`` in its header (in any order and any letter
    case), with their line numbers. A missing file, a folder, a spreadsheet, NUL characters
    or non-UTF-8 text are refused with the fix (``poise.io._text``)."""
    src = str(path)
    return csv_rows(io.StringIO(read_text_file(path), newline=""), columns, src)


def csv_rows(
    handle: Iterable[str], columns: Iterable[str], src: str
) -> list[tuple[int, dict[str, str]]]:
    """Rows of CSV text (an open file or lines) with exactly ``columns`` in its header, with
    their line numbers; ``src`` names the input in errors."""
    expected = list(columns)
    try:
        return _csv_rows(csv.reader(handle), expected, src)
    except csv.Error as exc:
        raise InputError(f"not a well-formed CSV ({exc})", source=src) from None


def _csv_rows(
    reader: Iterator[list[str]], expected: list[str], src: str
) -> list[tuple[int, dict[str, str]]]:
    header = next(reader, None)
    if header is None:
        raise InputError(f"the file is empty; expected the header {','.join(expected)}", source=src)
    check_header_delimiter(header, src, ",".join(expected))
    header = [h.strip().lstrip("\ufeff").lower() for h in header]
    if sorted(header) != sorted(expected) or len(header) != len(expected):
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(repr(e) for e in extra)}")
        raise InputError(
            f"header must be {','.join(expected)} ({'; '.join(detail) or 'duplicated'})",
            source=src,
            field="line 1",
        )
    rows = []
    strip = str.strip
    for line_no, values in enumerate(reader, start=2):
        if not values or not "".join(values).strip():  # a blank line, or only blank cells
            continue
        if len(values) != len(header):
            raise InputError(
                f"has {len(values)} fields, the header has {len(header)}"
                + (
                    ' (a number with a decimal comma? write 1.5, or quote it: "1,500")'
                    if len(values) > len(header)
                    else ""
                ),
                source=src,
                field=f"line {line_no}",
            )
        rows.append((line_no, dict(zip(header, map(strip, values), strict=True))))
    return rows


def text_lines(text: str, src: str) -> list[str]:
    """CSV text split into lines for :func:`csv_rows`; NUL characters are refused."""
    if "\x00" in text:
        raise InputError("contains a NUL character; send plain CSV text", source=src)
    return io.StringIO(text, newline="").readlines()


def parse_number(text: str, src: str, where: str, what: str) -> float:
    """A number from the cell ``what`` on ``where`` (see ``poise._numbers.parse_number``)."""
    if not text:
        raise InputError(f"{what} must be a number, got an empty cell", source=src, field=where)
    try:
        return _parse_number(text)
    except InputError as exc:
        raise InputError(
            f"{what} must be a number: {exc.message}", source=src, field=where
        ) from None


def symbol_case_hint(symbol: str, known: Iterable[str]) -> str | None:
    """A note when ``symbol`` differs from one of ``known`` only by letter case."""
    for other in known:
        if other != symbol and other.upper() == symbol.upper():
            return (
                f"symbol {symbol!r} differs from {other!r} only by letter case; symbols are "
                f"case-sensitive: write {other}"
            )
    return None


def parse_date(text: str, src: str, where: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{what} {text!r} is not an ISO date; write it as YYYY-MM-DD", source=src, field=where
        ) from None


def check_acquired_by(
    holdings: Holdings, as_of: date, source: str = "holdings", prices_source: str = ""
) -> None:
    """Refuse holdings with a lot acquired after ``as_of`` (a plan cannot sell the future).
    When ``prices_source`` is a bundled data set, the message says how to bring one's own
    prices (the bundled ones end in 2022)."""
    late = [lot for lot in holdings.lots if lot.acquired > as_of]
    if late:
        raise InputError(
            f"lot of {late[0].symbol} in {late[0].account} was acquired on {late[0].acquired}, "
            f"after the as-of day {as_of}; fix the date or pass a later `as_of`"
            + bundled_note(prices_source),
            source=source,
        )


def read_holdings(path: str | Path, household: Household | None = None) -> Holdings:
    """Read a holdings CSV (header ``account,symbol,quantity,cost_basis,acquired``).

    Each row is one tax lot; ``cost_basis`` is the lot's total cost. A ``CASH`` row holds an
    account's cash in ``quantity`` (several are added up). With ``household``, every account
    must be one of its accounts.
    """
    return _holdings_from_rows(read_csv_rows(path, HOLDINGS_COLUMNS), str(path), household)


def holdings_from_text(
    text: str, household: Household | None = None, source: str = "holdings"
) -> Holdings:
    """Holdings from CSV text in the holdings format (see :func:`read_holdings`), e.g. an
    HTTP request body; ``source`` names it in errors."""
    rows = csv_rows(text_lines(text, source), HOLDINGS_COLUMNS, source)
    return _holdings_from_rows(rows, source, household)


def _known_symbols(household: Household | None) -> set[str]:
    """The symbols a household names (targets, substitutes, identical groups), plus CASH."""
    if household is None:
        return set()
    known = {CASH, *household.targets}
    for primary, alternates in household.harvest.substitutes.items():
        known.update((primary, *alternates))
    for group in household.identical_groups:
        known.update(group)
    return known


def _holdings_from_rows(
    rows: list[tuple[int, dict[str, str]]], src: str, household: Household | None
) -> Holdings:
    lots: list[Lot] = []
    cash: dict[str, float] = {}
    accounts: frozenset[str] = frozenset()
    if household is not None:
        cash = dict.fromkeys(household.account_ids, 0.0)
        accounts = frozenset(household.account_ids)
    known = _known_symbols(household)
    for line_no, row in rows:
        where = f"line {line_no}"
        account = row["account"]
        if not account:
            raise InputError("account is empty", source=src, field=where)
        if household is not None and account not in accounts:
            raise InputError(
                f"unknown account {account!r}; the household has "
                f"{', '.join(household.account_ids)} (fix the account or add it to the household)",
                source=src,
                field=where,
            )
        symbol = row["symbol"]
        if not symbol:
            raise InputError("symbol is empty", source=src, field=where)
        if household is not None and symbol not in known:
            hint = symbol_case_hint(symbol, known)
            if hint:
                raise InputError(hint, source=src, field=where)
        quantity = parse_number(row["quantity"], src, where, "quantity")
        if symbol.upper() == CASH:
            if row["cost_basis"] or row["acquired"]:
                raise InputError(
                    "a CASH row leaves cost_basis and acquired empty", source=src, field=where
                )
            cash[account] = cash.get(account, 0.0) + quantity
            if cash[account] < 0:
                raise InputError(
                    f"cash in {account!r} is negative ({cash[account]:g}); margin is not "
                    "supported, enter a zero or positive balance",
                    source=src,
                    field=where,
                )
            continue
        if quantity < 0:
            raise InputError(
                f"quantity is negative ({quantity:g}); short positions are not supported",
                source=src,
                field=where,
            )
        cost_basis = parse_number(row["cost_basis"], src, where, "cost_basis")
        if cost_basis < 0:
            raise InputError(
                f"cost_basis is negative ({cost_basis:g}); it is the lot's total cost",
                source=src,
                field=where,
            )
        acquired = parse_date(row["acquired"], src, where, "acquired")
        if quantity > 0:
            lots.append(Lot(account, symbol, quantity, cost_basis, acquired))
    return Holdings(tuple(lots), cash)
