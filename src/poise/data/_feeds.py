"""Prices from the market: ``alpaca:SYM,SYM,...`` and ``yahoo:SYM,SYM,...``, cached.

A feed gives daily adjusted closes; :func:`load_feed` keeps them in a :class:`BarCache` (the
store's ``price_bars`` table from the command line) and downloads only the days after the last
cached one (topped up incrementally), up to the requested last day.

This module declares what a feed is (:class:`PriceFeed`, :class:`BarCache`, with the in-memory
:class:`MemoryBarCache`) and how a ``--prices`` text names one; the feeds themselves (Alpaca
through alpaca-py, Yahoo through yfinance) are adapters in ``poise.feeds``, which a door
registers (``poise.feeds.install_feeds``; the command line does it at start).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import pandas as pd

from poise._errors import DataError, InputError
from poise.data._loader import feed_for, installed_feed_loader, register_feed, set_feed_loader

__all__ = [
    "BarCache",
    "MemoryBarCache",
    "PriceFeed",
    "feed_for",
    "feed_prices",
    "is_feed",
    "load_feed",
    "parse_feed",
    "register_feed",
    "set_feed_loader",
]

HISTORY_DAYS = 400
"""Calendar days downloaded for a symbol the cache does not have yet (a year of trading)."""

_SOURCES = ("alpaca", "yahoo")


def is_feed(text: str) -> bool:
    """Whether ``text`` names a feed (``alpaca:...`` or ``yahoo:...``)."""
    return text.split(":", 1)[0] in _SOURCES and ":" in text


def parse_feed(text: str) -> tuple[str, list[str]]:
    """``alpaca:SPY,AGG`` → ``("alpaca", ["SPY", "AGG"])``."""
    source, _, rest = text.partition(":")
    symbols = [s.strip().upper() for s in rest.split(",") if s.strip()]
    if source not in _SOURCES or not symbols:
        raise InputError(
            f"{text!r}: write alpaca:SYM,SYM,... or yahoo:SYM,SYM,...", field="--prices"
        )
    return source, list(dict.fromkeys(symbols))


class PriceFeed(Protocol):
    """Daily adjusted closes from a market-data service."""

    source: str

    def daily_closes(self, symbols: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Wide frame: a row per trading day from ``start`` to ``end``, a column per symbol."""
        ...


class BarCache(Protocol):
    """Downloaded closes, kept between runs."""

    def last_day(self, source: str, symbol: str) -> date | None: ...

    def put(self, source: str, closes: pd.DataFrame) -> None: ...

    def get(self, source: str, symbols: Sequence[str], end: date) -> pd.DataFrame: ...


class MemoryBarCache:
    """A :class:`BarCache` in memory (tests, one-off runs)."""

    def __init__(self) -> None:
        self.frames: dict[str, pd.DataFrame] = {}

    def last_day(self, source: str, symbol: str) -> date | None:
        frame = self.frames.get(source)
        if frame is None or symbol not in frame.columns:
            return None
        column = frame[symbol].dropna()
        return None if column.empty else column.index[-1].date()

    def put(self, source: str, closes: pd.DataFrame) -> None:
        old = self.frames.get(source)
        merged = closes if old is None else closes.combine_first(old)
        self.frames[source] = merged.sort_index()

    def get(self, source: str, symbols: Sequence[str], end: date) -> pd.DataFrame:
        frame = self.frames.get(source, pd.DataFrame())
        return frame.reindex(columns=list(symbols)).loc[: pd.Timestamp(end)].dropna(how="all")


def load_feed(
    text: str,
    *,
    end: date | None = None,
    cache: BarCache | None = None,
    feed: PriceFeed | None = None,
    max_age_days: int = 5,
) -> pd.DataFrame:
    """Prices for a feed spec, from the cache topped up by the feed up to ``end`` (today).

    Raises
    ------
    DataError
        The feed has no price for a symbol, or a symbol's last close is more than
        ``max_age_days`` calendar days before ``end`` (naming the symbol and its last date).
    """
    source, symbols = parse_feed(text)
    last = end or datetime.now(UTC).date()
    cache = cache if cache is not None else MemoryBarCache()
    feed = feed if feed is not None else feed_for(source)
    starts = []
    for symbol in symbols:
        seen = cache.last_day(source, symbol)
        starts.append(seen + timedelta(days=1) if seen else last - timedelta(days=HISTORY_DAYS))
    start = min(starts)
    if start <= last:
        fresh = feed.daily_closes(symbols, start, last)
        if not fresh.empty:
            cache.put(source, fresh)
    table = cache.get(source, symbols, last)
    missing = [s for s in symbols if s not in table.columns or table[s].dropna().empty]
    if missing:
        raise DataError(f"{text}: no prices for {', '.join(missing)} from {source}")
    for symbol in symbols:
        day = table[symbol].dropna().index[-1].date()
        if (last - day).days > max_age_days:
            raise DataError(
                f"{text}: the last price of {symbol} is from {day}, {(last - day).days} days "
                f"before {last} (more than {max_age_days}); the feed has nothing newer"
            )
    table.index.name = "date"
    return table.astype(float)


def feed_prices(text: str) -> pd.DataFrame:
    """Prices for ``text`` through the installed loader, else uncached from the feed."""
    loader = installed_feed_loader()
    return loader(text) if loader is not None else load_feed(text)
