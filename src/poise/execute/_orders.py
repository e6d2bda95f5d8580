"""Orders and their intents: the deterministic ``client_order_id`` and the intent state machine.

An approved plan becomes one market day order per trade, sells before buys. Each order's
``client_order_id`` is ``poise-`` + the first 12 lowercase hex digits of the sha256 of the plan's
id (or, for a plan file without an id, of its canonical JSON: keys sorted, no spaces, UTF-8) +
``-`` + the leg number (3 digits, from 001 in sending order). The same plan always yields the
same ids, so a venue that refuses a repeated id can never receive an order twice.

Intent states::

    new ─► submitting ─► submitted ─► partially_filled ─► filled
     │          │             │               │
     │          └─► unknown ◄─┴───────────────┘   (the venue could not say: a human decides)
     └─► rejected (a pre-trade check refused it)   cancelled | rejected | expired (the venue)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from poise._errors import BrokerError
from poise.model import Side, Trade

__all__ = [
    "Intent",
    "IntentEnded",
    "Order",
    "OrderState",
    "check_transition",
    "client_order_id",
    "orders_for_trades",
    "plan_digest",
]


class OrderState(StrEnum):
    """Where an order intent stands; see the module docstring for the transitions."""

    NEW = "new"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def ended(self) -> bool:
        """Filled, cancelled, rejected or expired: nothing more will happen to it."""
        return self in _ENDED

    @property
    def may_be_at_venue(self) -> bool:
        """The order may have reached the venue: look it up by id before anything else."""
        return self in _MAYBE_SENT


_ENDED = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.EXPIRED}
)
_MAYBE_SENT = frozenset(
    {
        OrderState.SUBMITTING,
        OrderState.SUBMITTED,
        OrderState.PARTIALLY_FILLED,
        OrderState.UNKNOWN,
    }
)
_AT_VENUE = frozenset(
    {
        OrderState.SUBMITTED,
        OrderState.PARTIALLY_FILLED,
        OrderState.FILLED,
        OrderState.CANCELLED,
        OrderState.REJECTED,
        OrderState.EXPIRED,
        OrderState.UNKNOWN,
    }
)
_TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    OrderState.NEW: frozenset({OrderState.SUBMITTING, OrderState.REJECTED, OrderState.CANCELLED}),
    OrderState.SUBMITTING: _AT_VENUE,
    OrderState.SUBMITTED: _AT_VENUE,
    OrderState.PARTIALLY_FILLED: _AT_VENUE - {OrderState.SUBMITTED},
    OrderState.UNKNOWN: _AT_VENUE,
}


class IntentEnded(BrokerError):
    """The stored intent has already ended (cancelled by the kill switch, say, from another
    process) while this one worked from an older copy: nothing more may happen to it."""


def check_transition(old: OrderState, new: OrderState) -> None:
    """Raise ``BrokerError`` unless an intent may move from ``old`` to ``new``.

    Staying in the same state is allowed (a repeated look-up); an ended state never changes
    (:class:`IntentEnded`, a ``BrokerError``).
    """
    if old == new:
        return
    if old.ended:
        raise IntentEnded(f"the order intent has ended ({old}); it cannot move to {new}")
    if new not in _TRANSITIONS.get(old, frozenset()):
        raise BrokerError(f"an order intent cannot move from {old} to {new}")


def plan_digest(plan: Mapping[str, Any]) -> str:
    """The first 12 lowercase hex digits of the sha256 of the plan's ``id``, or of its
    canonical JSON (keys sorted, separators ``,`` and ``:``, UTF-8) when it has none."""
    plan_id = plan.get("id")
    if plan_id is not None and str(plan_id) != "":
        text = str(plan_id)
    else:
        text = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def client_order_id(digest: str, leg: int) -> str:
    """``poise-<digest>-<leg>``: the deterministic id of leg ``leg`` (1-based) of a plan."""
    if not 1 <= leg <= 999:
        raise BrokerError(f"a plan has at most 999 orders; leg {leg} is out of range")
    return f"poise-{digest}-{leg:03d}"


@dataclass(frozen=True, slots=True)
class Order:
    """One market day order, as poise sends it.

    ``quantity`` is in shares (whole shares unless ``fractional``); ``reference_price`` is the
    price the decision was made at (the plan's price), the benchmark of its slippage.
    """

    client_order_id: str
    leg: int
    account: str
    symbol: str
    side: Side
    quantity: float
    reference_price: float
    fractional: bool = True

    @property
    def reference_value(self) -> float:
        return self.quantity * self.reference_price


def orders_for_trades(
    trades: Sequence[Trade], digest: str, *, fractional: bool | None = None
) -> list[Order]:
    """One order per trade, sells before buys (each side in plan order), legs from 1.

    ``fractional``: whether quantities may be fractional; by default, an order is fractional
    when its quantity is not a whole number.
    """
    ordered = [t for t in trades if t.side is Side.SELL] + [t for t in trades if t.side is Side.BUY]
    out = []
    for leg, trade in enumerate(ordered, start=1):
        frac = fractional if fractional is not None else not float(trade.quantity).is_integer()
        out.append(
            Order(
                client_order_id(digest, leg),
                leg,
                trade.account,
                trade.symbol,
                trade.side,
                float(trade.quantity),
                float(trade.price),
                frac,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Intent:
    """An order poise means to send, with everything known about it so far.

    Times are UTC. ``decided_at`` when the intent was made; ``sent_at`` just before the send;
    ``acknowledged_at`` when the venue answered; ``first_fill_at`` and ``last_fill_at`` the
    venue's fill times. ``filled_quantity`` and ``average_price`` sum the recorded fills.
    """

    plan: str
    order: Order
    venue: str
    state: OrderState = OrderState.NEW
    decided_at: datetime | None = None
    sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    first_fill_at: datetime | None = None
    last_fill_at: datetime | None = None
    venue_order_id: str | None = None
    filled_quantity: float = 0.0
    average_price: float | None = None
    reason: str = ""

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id

    def moved(self, state: OrderState, **changes: Any) -> Intent:
        """A copy in ``state`` with ``changes``; raises ``BrokerError`` on a bad transition."""
        check_transition(self.state, state)
        return replace(self, state=state, **changes)
