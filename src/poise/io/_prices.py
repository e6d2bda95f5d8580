"""Read wide price tables (``date,SYM1,SYM2,...``) from CSV or a bundled data set."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from poise._errors import InputError
from poise._numbers import MAX_MAGNITUDE, MIN_MAGNITUDE, parse_number
from poise.data import DATASETS, bundled_note, feed_prices, is_dataset, is_feed, load_dataset
from poise.io._text import check_header_delimiter, read_text_file

__all__ = ["case_note", "history_matrix", "prices_from_text", "prices_on", "read_prices"]


def read_prices(source: str | Path) -> pd.DataFrame:
    """Prices from a CSV file or a bundled data set name (``sp500``, ``sp500_index``,
    ``factors``): a float frame indexed by ascending dates, one column per symbol.

    Empty cells are missing prices (e.g. before a listing). Everything else malformed raises
    ``InputError`` naming the file, the line or column, and the fix.
    """
    text = str(source)
    if is_dataset(text) and not Path(text).exists():
        return load_dataset(text)
    if is_feed(text) and not Path(text).exists():  # alpaca:SYM,... or yahoo:SYM,...
        return feed_prices(text)
    src = text
    path = Path(source)
    if not path.exists():
        raise InputError(
            f"file not found; give a CSV path or a bundled data set ({', '.join(DATASETS)})",
            source=src,
        )
    return prices_from_text(read_text_file(path, "CSV"), source=src)


def prices_from_text(text: str, source: str = "prices") -> pd.DataFrame:
    """Prices from CSV text (``date,SYM1,SYM2,...``; see :func:`read_prices`), e.g. an HTTP
    request body; ``source`` names it in errors."""
    src = source
    if "\x00" in text:
        raise InputError("contains a NUL character; send plain CSV text", source=src)
    text = text.removeprefix("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as exc:
        raise InputError(f"not a well-formed CSV ({exc})", source=src) from None
    if not header:
        raise InputError("the file is empty; expected a header date,SYM1,SYM2,...", source=src)
    check_header_delimiter(header, src, "date,SYM1,SYM2,...")
    header = [h.strip() for h in header]
    if header[0].lower() != "date":
        raise InputError(
            f"the first column must be 'date', got {header[0]!r}", source=src, field="line 1"
        )
    header[0] = "date"
    symbols = header[1:]
    seen: set[str] = set()
    for sym in symbols:
        if not sym:
            raise InputError("a column has an empty name", source=src, field="line 1")
        if sym in seen:
            raise InputError(f"column {sym!r} appears twice; keep one", source=src, field="line 1")
        seen.add(sym)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"not a well-formed CSV ({exc})", source=src) from None
    if frame.empty:
        raise InputError("has a header but no rows of prices", source=src)
    frame.columns = header
    dates = pd.to_datetime(frame["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"date {frame['date'].iloc[i]!r} is not an ISO date; write YYYY-MM-DD",
            source=src,
            field=f"line {i + 2}",
        )
    numeric = _price_cells(frame[symbols], symbols, src)
    index = pd.DatetimeIndex(dates, name="date")
    steps = np.diff(index.asi8)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        problem = "repeats" if steps[i - 1] == 0 else "comes before the previous date"
        raise InputError(
            f"date {index[i].date()} {problem}; dates must be strictly ascending",
            source=src,
            field=f"line {i + 2}",
        )
    numeric.index = index
    return numeric.astype(float)


_PLAIN = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?"


def _price_cells(cells: pd.DataFrame, symbols: list[str], src: str) -> pd.DataFrame:
    """The price cells as floats (an empty cell is a missing price); the first bad cell, in
    file order, raises ``InputError`` naming its line and column (``poise._numbers`` says
    what a number may look like)."""
    if not symbols:  # a date column only: a cash-only household needs no prices
        return pd.DataFrame(index=cells.index, dtype=float)
    text = cells.apply(lambda col: col.str.strip().str.replace(r"^\$\s*", "", regex=True))
    grouped = text.apply(lambda col: col.str.fullmatch(_THOUSANDS))
    plain = text.apply(lambda col: col.str.fullmatch(_PLAIN))
    empty = (text == "").to_numpy()
    numeric = text.where(~grouped, text.apply(lambda col: col.str.replace(",", "")))
    numeric = numeric.apply(pd.to_numeric, errors="coerce").astype(float)
    values = numeric.to_numpy()
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
        wrong = ~empty & (
            ~(grouped.to_numpy() | plain.to_numpy())
            | ~np.isfinite(values)
            | (size > MAX_MAGNITUDE)
            | ((size < MIN_MAGNITUDE) & (values != 0))
        )
    if wrong.any():
        i, j = (int(x[0]) for x in np.nonzero(wrong))
        where = f"line {i + 2}, column {symbols[j]}"
        cell = str(cells.iat[i, j]).strip()
        if cell.lower() in {"nan", "na", "n/a", "null", "none", "-"}:
            raise InputError(
                f"price {cell!r} is not a number; leave the cell empty for a missing price",
                source=src,
                field=where,
            )
        parse_number(cell, source=src, field=where)  # raises with the precise reason
        raise InputError(f"price {cell!r} is not a number", source=src, field=where)
    nonpositive = values <= 0
    if nonpositive.any():
        i, j = (int(x[0]) for x in np.nonzero(nonpositive))
        raise InputError(
            f"price {values[i, j]:g} for {symbols[j]} must be positive (adjusted closes)",
            source=src,
            field=f"line {i + 2}",
        )
    return numeric


def case_note(symbol: str, columns: Iterable[object]) -> str:
    """`` (the prices have 'VTI': symbols are case-sensitive)`` when a column differs from
    ``symbol`` only by letter case, else an empty string."""
    for column in columns:
        if isinstance(column, str) and column != symbol and column.upper() == symbol.upper():
            return (
                f" (the prices have {column!r}: symbols are case-sensitive; write the symbol "
                "the same way in both files)"
            )
    return ""


def prices_on(
    prices: pd.DataFrame,
    as_of: date | None,
    symbols: Iterable[str],
    source: str = "prices",
) -> tuple[date, dict[str, float]]:
    """The close of each of ``symbols`` on ``as_of`` (default: the last date in ``prices``).

    ``as_of`` must be a date in the table; every symbol must have a price that day.
    """
    if as_of is None:
        stamp = prices.index[-1]
    else:
        stamp = pd.Timestamp(as_of)
        if stamp not in prices.index:
            first, last = prices.index[0].date(), prices.index[-1].date()
            earlier = prices.index[prices.index <= stamp]
            hint = (
                f"the nearest earlier trading day is {earlier[-1].date()}"
                if len(earlier)
                else f"prices start on {first}"
            )
            raise InputError(
                f"no prices on {as_of} (the file covers {first} to {last}; {hint}); "
                "pick a trading day in the file"
                + (bundled_note(source) if stamp > prices.index[-1] else ""),
                source=source,
                field="as_of",
            )
    row = prices.loc[stamp]
    out: dict[str, float] = {}
    for sym in symbols:
        if sym not in prices.columns:
            raise InputError(
                f"has no column for {sym!r}; add its prices or remove it from the "
                "holdings and targets" + case_note(sym, prices.columns),
                source=source,
                field=sym,
            )
        value = float(row[sym])
        if not np.isfinite(value):
            raise InputError(
                f"has no price for {sym!r} on {stamp.date()}; fill it in or choose another `as_of`",
                source=source,
                field=sym,
            )
        out[sym] = value
    return stamp.date(), out


def history_matrix(prices: pd.DataFrame, symbols: Iterable[str], as_of: date) -> np.ndarray:
    """Prices of ``symbols`` up to and including ``as_of``, plus a last column of ones for
    cash: the ``history`` a ``PolicyContext`` takes (nothing after ``as_of``)."""
    frame = prices.loc[: pd.Timestamp(as_of)].reindex(columns=list(symbols))
    return np.column_stack([frame.to_numpy(dtype=float), np.ones(len(frame))])
