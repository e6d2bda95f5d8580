"""Alpaca's daily bars through alpaca-py (``poise[alpaca]``): keys ``APCA_API_KEY_ID`` and
``APCA_API_SECRET_KEY``, origin ``POISE_ALPACA_DATA_URL``; alpaca-py's own retries off and a
timeout on every request."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from poise._errors import DataError, InputError
from poise.data._quotes import Quote, quote_price
from poise.feeds._alpaca_http import alpaca_keys, make_safe

__all__ = ["AlpacaBars", "alpaca_from_env"]


def alpaca_from_env() -> AlpacaBars:
    """An :class:`AlpacaBars` with the keys from the environment."""
    key, secret = alpaca_keys()
    return AlpacaBars(key, secret)


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
