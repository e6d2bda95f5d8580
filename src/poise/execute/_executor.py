"""Executors turn orders into fills: at the close (backtests, previews) or at a venue.

``CloseFill`` is the timing convention of every backtest and preview: a decision on day *t*
fills at the close of *t*, in full, with the modelled cost (commission plus spread). The
``MockBroker`` is an in-memory :class:`~poise.execute.Venue` for tests: it fills at its price plus
slippage, in slices, and can refuse, reject, time out after accepting or fail before accepting.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from poise.execute._orders import Order, OrderState
from poise.execute._venue import (
    DuplicateOrderError,
    OrderRefusedError,
    VenueFill,
    VenueOrder,
    VenueUnavailableError,
)
from poise.model import Fill, Side

__all__ = ["CloseFill", "Executor", "MockBroker", "slipped_price"]


class Executor(Protocol):
    """Turns orders into fills."""

    def execute(self, orders: Sequence[Order], at: datetime) -> list[Fill]:
        """The fills of ``orders`` sent at ``at``."""
        ...


class CloseFill:
    """Fill every order in full at the close, with the modelled cost.

    Parameters
    ----------
    prices : mapping of str to float
        The day's closes per symbol.
    cost : callable, optional
        Trade value (currency) → commission plus spread (currency), e.g.
        ``TradingRules.cost``; no cost by default.
    """

    def __init__(
        self, prices: Mapping[str, float], cost: Callable[[float], float] | None = None
    ) -> None:
        self.prices = dict(prices)
        self.cost = cost or (lambda value: 0.0)

    def execute(self, orders: Sequence[Order], at: datetime) -> list[Fill]:
        out = []
        for order in orders:
            price = self.prices[order.symbol]
            value = order.quantity * price
            out.append(
                Fill(
                    order.account,
                    order.symbol,
                    order.side,
                    order.quantity,
                    price,
                    at,
                    self.cost(value),
                    f"close-{order.client_order_id}",
                    order.client_order_id,
                )
            )
        return out


def slipped_price(price: float, side: Side, slippage_bps: float) -> float:
    """A market order's fill price: ``price`` moved against the order by ``slippage_bps``."""
    sign = 1.0 if side is Side.BUY else -1.0
    return price * (1.0 + sign * slippage_bps * 1e-4)


@dataclass(slots=True)
class _MockOrder:
    order: Order
    venue_order_id: str
    price: float
    status: OrderState
    fills: list[VenueFill] = field(default_factory=list)
    reason: str = ""


class MockBroker:
    """An in-memory venue for tests (same interface and errors as the real adapters).

    Parameters
    ----------
    prices : mapping of str to float
        The price each symbol fills at before slippage.
    slippage_bps : float
        Fill prices move against the order by this much.
    slices : int
        An order fills in this many equal executions: one on acceptance, one per look-up.
    reject : set of str
        Symbols whose orders the venue rejects after accepting them.
    clock : callable
        The venue's clock (fill times).

    ``faults`` is a list consumed by successive ``submit`` calls: ``None`` (behave),
    ``"timeout_after_accept"``, ``"unavailable_before_accept"`` or ``"refuse"``.
    ``submitted`` lists every id ``submit`` was called with, accepted or not.
    """

    name = "mock"

    def __init__(
        self,
        prices: Mapping[str, float],
        *,
        slippage_bps: float = 0.0,
        slices: int = 1,
        reject: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from poise.execute._sender import utc_now

        self.prices = dict(prices)
        self.slippage_bps = slippage_bps
        self.slices = slices
        self.reject = reject
        self.clock = clock or utc_now
        self.open = True
        self.faults: list[str | None] = []
        self.submitted: list[str] = []
        self.orders: dict[str, _MockOrder] = {}
        self._ids = itertools.count(1)

    def submit(self, order: Order) -> VenueOrder:
        self.submitted.append(order.client_order_id)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "unavailable_before_accept":
            raise VenueUnavailableError("503 service unavailable")
        if fault == "refuse":
            raise OrderRefusedError("insufficient buying power")
        if order.client_order_id in self.orders:
            raise DuplicateOrderError("client_order_id must be unique")
        price = slipped_price(self.prices[order.symbol], order.side, self.slippage_bps)
        status = OrderState.SUBMITTED
        reason = ""
        if order.symbol in self.reject:
            status, reason = OrderState.REJECTED, f"{order.symbol} is not tradable"
        mock = _MockOrder(order, f"mock-{next(self._ids)}", price, status, reason=reason)
        self.orders[order.client_order_id] = mock
        self._fill_slice(mock)
        if fault == "timeout_after_accept":
            raise VenueUnavailableError("504 gateway timeout")
        return self._view(mock)

    def lookup(self, client_order_id: str) -> VenueOrder | None:
        mock = self.orders.get(client_order_id)
        if mock is None:
            return None
        self._fill_slice(mock)
        return self._view(mock)

    def cancel(self, client_order_id: str) -> None:
        mock = self.orders.get(client_order_id)
        if mock is not None and not mock.status.ended:
            mock.status = OrderState.CANCELLED

    def market_open(self) -> bool:
        return self.open

    def _fill_slice(self, mock: _MockOrder) -> None:
        if mock.status.ended:
            return
        done = sum(f.quantity for f in mock.fills)
        quantity = mock.order.quantity / self.slices
        if len(mock.fills) == self.slices - 1:
            quantity = mock.order.quantity - done
        execution = f"{mock.venue_order_id}-x{len(mock.fills) + 1}"
        mock.fills.append(VenueFill(execution, quantity, mock.price, self.clock()))
        full = len(mock.fills) == self.slices
        mock.status = OrderState.FILLED if full else OrderState.PARTIALLY_FILLED

    def _view(self, mock: _MockOrder) -> VenueOrder:
        return VenueOrder(
            mock.order.client_order_id,
            mock.venue_order_id,
            mock.order.symbol,
            mock.order.side,
            mock.order.quantity,
            mock.status,
            sum(f.quantity for f in mock.fills),
            tuple(mock.fills),
            mock.reason,
        )
