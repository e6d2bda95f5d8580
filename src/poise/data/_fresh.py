"""Refuse stale prices: a plan or an order must not rest on a price days older than its day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from poise._errors import DataError

__all__ = ["DEFAULT_MAX_PRICE_AGE_DAYS", "latest_prices"]

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
