"""Latest quotes: what a venue or a feed says a symbol trades at now.

The order sender asks a venue that quotes (the paper venue, Alpaca) for the latest price of a
plan's symbols before sending; a quote newer than the plan's day becomes the orders' reference
price (see :mod:`poise.execute._sender`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["Quote", "QuoteSource", "quote_price"]


@dataclass(frozen=True, slots=True)
class Quote:
    """A symbol's latest price: ``price`` in currency per share (the bid/ask midpoint where
    both sides are quoted), ``at`` when it was quoted (UTC)."""

    symbol: str
    price: float
    at: datetime


@runtime_checkable
class QuoteSource(Protocol):
    """A venue or feed that quotes the latest prices."""

    def latest_quote(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """The latest quote of each of ``symbols`` the source knows (others are left out).

        Raises ``DataError`` (a feed) or ``VenueUnavailableError`` (a venue) when the source
        does not answer.
        """
        ...


def quote_price(bid: float, ask: float) -> float | None:
    """The price of a quote: the midpoint when both sides are positive, else the one side
    quoted, else None."""
    if bid > 0 and ask > 0:
        return (bid + ask) / 2.0
    if ask > 0:
        return ask
    if bid > 0:
        return bid
    return None
