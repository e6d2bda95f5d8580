"""Plain-data views of orders, fills and execution quality (``poise orders ... --json``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from poise.execute import Intent, LatencySummary, OrderFigures, VenueOrder

__all__ = ["intent_to_dict", "order_report_to_dict", "venue_order_to_dict"]


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _r(value: float | None, digits: int = 10) -> float | None:
    return None if value is None else round(float(value), digits) + 0.0


def intent_to_dict(intent: Intent) -> dict[str, Any]:
    """One order intent: ids, what and how much, its state, fills summed and its times."""
    o = intent.order
    return {
        "client_order_id": o.client_order_id,
        "plan": intent.plan,
        "leg": o.leg,
        "venue": intent.venue,
        "venue_order_id": intent.venue_order_id,
        "account": o.account,
        "symbol": o.symbol,
        "side": o.side.value,
        "quantity": _r(o.quantity),
        "reference_price": _r(o.reference_price),
        "state": intent.state.value,
        "filled_quantity": _r(intent.filled_quantity),
        "average_price": _r(intent.average_price),
        "reason": intent.reason,
        "decided_at": _time(intent.decided_at),
        "sent_at": _time(intent.sent_at),
        "acknowledged_at": _time(intent.acknowledged_at),
        "first_fill_at": _time(intent.first_fill_at),
        "last_fill_at": _time(intent.last_fill_at),
    }


def order_report_to_dict(
    figures: Sequence[OrderFigures], summaries: Sequence[LatencySummary]
) -> dict[str, Any]:
    """``poise orders report --json``: per order, and p50/p95 per venue."""
    return {
        "orders": [
            {
                **intent_to_dict(f.intent),
                "fill_price": _r(f.fill_price),
                "slippage_bps": _r(f.slippage_bps, 6),
                "implementation_shortfall": _r(f.shortfall, 6),
                "sent_to_acknowledged_ms": _r(f.sent_to_ack_ms, 3),
                "acknowledged_to_filled_ms": _r(f.ack_to_fill_ms, 3),
                "sent_to_filled_ms": _r(f.sent_to_fill_ms, 3),
            }
            for f in figures
        ],
        "venues": [
            {
                "venue": s.venue,
                "orders": s.orders,
                "filled": s.filled,
                "p50": {k: _r(v, 6) for k, v in s.p50.items()},
                "p95": {k: _r(v, 6) for k, v in s.p95.items()},
            }
            for s in summaries
        ],
    }


def venue_order_to_dict(order: VenueOrder) -> dict[str, Any]:
    """An order as a venue knows it (``poise paper orders --json``): its id, symbol, side,
    quantity, filled quantity and status."""
    return {
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "quantity": order.quantity,
        "filled_quantity": order.filled_quantity,
        "status": order.status.value,
    }
