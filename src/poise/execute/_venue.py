"""The venue protocol: what poise asks of a broker (paper, Alpaca, an in-memory mock).

Errors a venue raises (all ``BrokerError``)::

    BrokerError
    ├── DuplicateOrderError     the venue already has this client_order_id: look it up, adopt it
    ├── VenueUnavailableError   the venue did not answer, or answered 5xx/429: nothing is known
    └── OrderRefusedError       the venue answered and refused the order (4xx other than a dup)

A send that raises ``VenueUnavailableError`` may or may not have reached the venue: the caller
looks the order up by its id before doing anything else, and never sends it under another id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from poise._errors import BrokerError
from poise.execute._orders import Order, OrderState
from poise.model import Side

__all__ = [
    "DuplicateOrderError",
    "OrderRefusedError",
    "Venue",
    "VenueFill",
    "VenueOrder",
    "VenueUnavailableError",
]


class DuplicateOrderError(BrokerError):
    """The venue already holds an order with this ``client_order_id``."""


class VenueUnavailableError(BrokerError):
    """The venue did not answer (timeout, connection error) or answered 5xx or 429."""


class OrderRefusedError(BrokerError):
    """The venue answered and refused the order; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution as the venue reports it; ``execution_id`` is unique at the venue."""

    execution_id: str
    quantity: float
    price: float
    filled_at: datetime


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the venue knows it: its status, what has filled and the executions."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: float
    status: OrderState
    filled_quantity: float
    fills: tuple[VenueFill, ...] = ()
    reason: str = ""


@runtime_checkable
class Venue(Protocol):
    """A broker account poise can send orders to.

    Every method may raise ``VenueUnavailableError``; ``submit`` may also raise
    ``DuplicateOrderError`` and ``OrderRefusedError``.
    """

    name: str

    def submit(self, order: Order) -> VenueOrder:
        """Send a market day order carrying ``order.client_order_id``."""
        ...

    def lookup(self, client_order_id: str) -> VenueOrder | None:
        """The order with this id, with its executions; None when the venue has none."""
        ...

    def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel the order (no error if it has already ended)."""
        ...

    def market_open(self) -> bool:
        """Whether the market is open now (the venue's clock)."""
        ...
