"""Yahoo Finance's daily closes through yfinance (``poise[yahoo]``; Yahoo's terms apply)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import pandas as pd

from poise._errors import InputError

__all__ = ["YahooBars"]


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
