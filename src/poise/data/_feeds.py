"""Prices from the market: ``alpaca:SYM,SYM,...`` and ``yahoo:SYM,SYM,...``, cached.

A feed gives daily adjusted closes; :func:`load_feed` keeps them in a :class:`BarCache` (the
store's ``price_bars`` table from the command line) and downloads only the days after the last
cached one (topped up incrementally), up to the requested last day. Alpaca's bars come from its
market-data API through alpaca-py (``poise[alpaca]``; keys ``APCA_API_KEY_ID`` and
``APCA_API_SECRET_KEY``; origin ``POISE_ALPACA_DATA_URL``), with alpaca-py's own retries off and
a timeout; Yahoo's through yfinance (``poise[yahoo]``). Nothing here is imported by the engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from poise._errors import DataError, InputError
from poise.data._loader import installed_feed_loader, set_feed_loader
from poise.data._quotes import Quote, quote_price

__all__ = [
    "AlpacaBars",
    "BarCache",
    "MemoryBarCache",
    "PriceFeed",
    "YahooBars",
    "feed_prices",
    "is_feed",
    "load_feed",
    "parse_feed",
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
    feed = feed if feed is not None else _default_feed(source)
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


def _default_feed(source: str) -> PriceFeed:
    if source == "alpaca":
        from poise.data._alpaca_http import alpaca_keys

        key, secret = alpaca_keys()
        return AlpacaBars(key, secret)
    return YahooBars()


class AlpacaBars:
    """Alpaca's daily bars, adjusted for splits and dividends (``adjustment=all``)."""

    source = "alpaca"

    def __init__(
        self, key_id: str, secret: str, *, url: str | None = None, timeout: float = 10.0
    ) -> None:
        try:
            from alpaca.data.historical.stock import StockHistoricalDataClient
        except ImportError:
            raise InputError(
                "alpaca: prices need the alpaca extra: pip install 'poise[alpaca]'",
                field="--prices",
            ) from None
        from poise.data._alpaca_http import make_safe

        origin = url or os.environ.get("POISE_ALPACA_DATA_URL") or None
        self.client = make_safe(
            StockHistoricalDataClient(key_id, secret, raw_data=True, url_override=origin),
            timeout,
        )

    def daily_closes(self, symbols: Sequence[str], start: date, end: date) -> pd.DataFrame:
        from alpaca.data.enums import Adjustment
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame
        from requests import RequestException

        request = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=TimeFrame.Day,
            start=datetime(start.year, start.month, start.day, tzinfo=UTC),
            end=datetime(end.year, end.month, end.day, 23, 59, tzinfo=UTC),
            adjustment=Adjustment.ALL,
        )
        try:
            raw: Any = self.client.get_stock_bars(request)
        except RequestException as exc:
            raise DataError(f"Alpaca's data API did not answer ({type(exc).__name__})") from None
        except Exception as exc:  # alpaca-py's APIError: the status and message
            raise DataError(f"Alpaca's data API refused the request: {exc}") from None
        columns = {}
        for symbol, bars in (raw or {}).items():
            days = [pd.Timestamp(str(b["t"])[:10]) for b in bars]
            columns[symbol] = pd.Series([float(b["c"]) for b in bars], index=days)
        return pd.DataFrame(columns).sort_index()

    def latest_quote(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """The latest quote of each symbol (``GET /v2/stocks/quotes/latest`` through
        alpaca-py's ``StockLatestQuoteRequest``, with this client's timeout): the bid/ask
        midpoint, or the one side quoted; symbols without a usable quote are left out.

        Raises ``DataError`` when the data API does not answer or refuses.
        """
        from alpaca.data.requests import StockLatestQuoteRequest
        from requests import RequestException

        if not symbols:
            return {}
        request = StockLatestQuoteRequest(symbol_or_symbols=list(symbols))
        try:
            raw: Any = self.client.get_stock_latest_quote(request)
        except RequestException as exc:
            raise DataError(f"Alpaca's data API did not answer ({type(exc).__name__})") from None
        except Exception as exc:  # alpaca-py's APIError: the status and message
            raise DataError(f"Alpaca's data API refused the request: {exc}") from None
        out = {}
        for symbol, q in (raw or {}).items():
            price = quote_price(float(q.get("bp") or 0.0), float(q.get("ap") or 0.0))
            if price is None:
                continue
            stamp = pd.Timestamp(str(q["t"])).floor("us")  # Alpaca sends nanoseconds
            stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
            out[str(symbol)] = Quote(str(symbol), price, stamp.to_pydatetime())
        return out


class YahooBars:
    """Yahoo Finance daily closes, adjusted, through yfinance (an injected ``download`` for
    tests)."""

    source = "yahoo"

    def __init__(self, download: Callable[..., pd.DataFrame] | None = None) -> None:
        if download is None:
            try:
                import yfinance
            except ImportError:
                raise InputError(
                    "yahoo: prices need the yahoo extra: pip install 'poise[yahoo]'",
                    field="--prices",
                ) from None
            download = yfinance.download
        self.download = download

    def daily_closes(self, symbols: Sequence[str], start: date, end: date) -> pd.DataFrame:
        frame = self.download(
            list(symbols),
            start=start.isoformat(),
            end=(end + timedelta(days=1)).isoformat(),
            auto_adjust=True,
            progress=False,
            group_by="column",
        )
        if frame is None or frame.empty:
            return pd.DataFrame()
        if isinstance(frame.columns, pd.MultiIndex):
            closes = pd.DataFrame(frame["Close"])
        else:
            closes = pd.DataFrame({symbols[0]: frame["Close"]})
        closes.index = pd.DatetimeIndex(closes.index).tz_localize(None).normalize()
        return closes.astype(float)


def feed_prices(text: str) -> pd.DataFrame:
    """Prices for ``text`` through the installed loader, else uncached from the feed."""
    loader = installed_feed_loader()
    return loader(text) if loader is not None else load_feed(text)
