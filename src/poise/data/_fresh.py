"""Refuse stale prices: a plan or an order must not rest on a price days older than its day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from poise._errors import DataError

__all__ = ["DEFAULT_MAX_PRICE_AGE_DAYS", "carry_recent_prices", "latest_prices"]

DEFAULT_MAX_PRICE_AGE_DAYS = 5
"""Calendar days a price may be older than the day it is used on (``--max-price-age``)."""


def latest_prices(
    prices: pd.DataFrame,
    as_of: date,
    symbols: Iterable[str],
    *,
    max_age_days: int = DEFAULT_MAX_PRICE_AGE_DAYS,
    source: str = "prices",
) -> dict[str, float]:
    """Each symbol's last price on or before ``as_of``.

    Raises
    ------
    DataError
        A symbol has no price by ``as_of``, or its last one is more than ``max_age_days``
        calendar days old on ``as_of`` (the message names the symbol and its last date).
    """
    cut = prices.loc[: pd.Timestamp(as_of)]
    out = {}
    for symbol in symbols:
        if symbol not in cut.columns:
            raise DataError(f"{source}: no prices for {symbol}; add its column")
        column = cut[symbol].dropna()
        if column.empty:
            raise DataError(f"{source}: {symbol} has no price on or before {as_of}")
        last = column.index[-1].date()
        age = (as_of - last).days
        if age > max_age_days:
            raise DataError(
                f"{source}: the last price of {symbol} is from {last}, {age} days before "
                f"{as_of} (more than --max-price-age {max_age_days}); refresh the prices"
            )
        out[symbol] = float(column.iloc[-1])
    return out


def carry_recent_prices(
    prices: pd.DataFrame,
    as_of: date | None,
    symbols: Iterable[str],
    *,
    max_age_days: int = DEFAULT_MAX_PRICE_AGE_DAYS,
    source: str = "prices",
) -> pd.DataFrame:
    """Prices in which each of ``symbols`` has a price on the decision day: its own, or its
    last one carried forward when that is at most ``max_age_days`` calendar days older.

    The decision day is ``as_of``, or the last day of ``prices`` when it is None. The table
    comes back unchanged (the same object) when no price needs carrying, when the day is not
    in the table, or for a symbol without a column or without any price by then (the caller
    refuses those with its own message).

    Raises
    ------
    InputError
        A symbol's last price on or before the decision day is more than ``max_age_days``
        days old: the message names the symbol, its last date and the age (``field`` is the
        symbol, ``source`` the prices).
    """
    from poise._errors import InputError

    if max_age_days < 0:
        raise InputError(f"must be 0 or more days, got {max_age_days}", field="max_price_age")
    if prices.empty:
        return prices
    day = pd.Timestamp(prices.index[-1] if as_of is None else as_of)
    if day not in prices.index:
        return prices
    cut = prices.loc[:day]
    carry: dict[str, pd.Timestamp] = {}
    for symbol in dict.fromkeys(symbols):
        if symbol not in prices.columns:
            continue
        found = cut[symbol].last_valid_index()
        if found is None:
            continue
        last = pd.Timestamp(found)  # type: ignore[arg-type]
        if last == day:
            continue
        age = (day - last).days
        if age > max_age_days:
            raise InputError(
                f"the last price of {symbol} is from {last.date()}, {age} days before "
                f"{day.date()} (more than `max_price_age` {max_age_days} days); refresh the "
                "prices, or pick an earlier `as_of`",
                source=source,
                field=symbol,
            )
        carry[symbol] = last
    if not carry:
        return prices
    out = prices.copy()
    for symbol, last in carry.items():
        out.loc[last:day, symbol] = out.loc[last:day, symbol].ffill()
    return out
