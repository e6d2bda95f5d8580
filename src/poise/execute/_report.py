"""Slippage and latency of sent orders (``poise orders report``).

Per order: ``slippage_bps`` = side sign × (fill price / reference price − 1) × 10,000, the
side sign being +1 for a buy and −1 for a sell (positive = worse than the decision price);
implementation shortfall = side sign × (fill − reference) × filled quantity, in currency.
Latencies in milliseconds: sent → acknowledged (the venue's answer reached poise),
acknowledged → filled (the venue's last fill time) and sent → filled. Percentiles are numpy's
default (linear interpolation) over the orders that have the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from poise.execute._orders import Intent
from poise.model import Side

__all__ = ["LatencySummary", "OrderFigures", "order_figures", "summarize"]


@dataclass(frozen=True, slots=True)
class OrderFigures:
    """One order's execution quality; None where the order has not got that far."""

    intent: Intent
    fill_price: float | None
    slippage_bps: float | None
    shortfall: float | None
    sent_to_ack_ms: float | None
    ack_to_fill_ms: float | None
    sent_to_fill_ms: float | None


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """p50 and p95 of each latency and of slippage, over one venue's orders.

    Keys: ``slippage_bps``, ``sent_to_acknowledged_ms``, ``acknowledged_to_filled_ms``,
    ``sent_to_filled_ms``; None where no order has the figure.
    """

    venue: str
    orders: int
    filled: int
    p50: dict[str, float | None]
    p95: dict[str, float | None]


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000.0


def order_figures(intent: Intent) -> OrderFigures:
    """Slippage, shortfall and latencies of one intent (see the module docstring)."""
    sign = 1.0 if intent.order.side is Side.BUY else -1.0
    ref = intent.order.reference_price
    fill = intent.average_price
    slippage = shortfall = None
    if fill is not None and ref > 0:
        slippage = sign * (fill / ref - 1.0) * 10_000.0
        shortfall = sign * (fill - ref) * intent.filled_quantity
    return OrderFigures(
        intent,
        fill,
        slippage,
        shortfall,
        _ms(intent.sent_at, intent.acknowledged_at),
        _ms(intent.acknowledged_at, intent.last_fill_at),
        _ms(intent.sent_at, intent.last_fill_at),
    )


_FIGURES = {
    "slippage_bps": "slippage_bps",
    "sent_to_acknowledged_ms": "sent_to_ack_ms",
    "acknowledged_to_filled_ms": "ack_to_fill_ms",
    "sent_to_filled_ms": "sent_to_fill_ms",
}


def summarize(figures: Sequence[OrderFigures]) -> list[LatencySummary]:
    """p50/p95 of slippage and latencies per venue, venues in first-seen order."""
    venues = list(dict.fromkeys(f.intent.venue for f in figures))
    out = []
    for venue in venues:
        mine = [f for f in figures if f.intent.venue == venue]
        p50: dict[str, float | None] = {}
        p95: dict[str, float | None] = {}
        for name, attribute in _FIGURES.items():
            values = [v for f in mine if (v := getattr(f, attribute)) is not None]
            p50[name] = float(np.percentile(values, 50)) if values else None
            p95[name] = float(np.percentile(values, 95)) if values else None
        filled = sum(1 for f in mine if f.fill_price is not None)
        out.append(LatencySummary(venue, len(mine), filled, p50, p95))
    return out
