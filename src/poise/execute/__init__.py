"""Orders → fills → ledger: the execution seam.

Planning stops at orders. An :class:`Executor` turns orders into fills (:class:`CloseFill` at
the day's close for backtests and previews); a :class:`Venue` is a broker account
(:class:`MockBroker` in memory for tests; the paper venue and Alpaca in ``poise.broker``); the
:class:`OrderSender` sends a plan's orders through an :class:`OrderStore` so that no order is
sent twice and no fill is lost; :func:`apply_fills` moves holdings by what filled.
"""

from poise.execute._apply import apply_fills, apply_fills_with_basis
from poise.execute._checks import PreTradeRules, refusal, size_buys
from poise.execute._executor import CloseFill, Executor, MockBroker, slipped_price
from poise.execute._failpoint import FAILPOINTS, failpoint
from poise.execute._orders import (
    Intent,
    IntentEnded,
    Order,
    OrderState,
    check_transition,
    client_order_id,
    orders_for_trades,
    plan_digest,
)
from poise.execute._report import LatencySummary, OrderFigures, order_figures, summarize
from poise.execute._sender import OrderSender, utc_now
from poise.execute._store import MemoryOrderStore, OrderStore, PlanRecord, as_transaction
from poise.execute._venue import (
    DuplicateOrderError,
    OrderRefusedError,
    Venue,
    VenueFill,
    VenueOrder,
    VenueUnavailableError,
)

__all__ = [
    "FAILPOINTS",
    "CloseFill",
    "DuplicateOrderError",
    "Executor",
    "Intent",
    "IntentEnded",
    "LatencySummary",
    "MemoryOrderStore",
    "MockBroker",
    "Order",
    "OrderFigures",
    "OrderRefusedError",
    "OrderSender",
    "OrderState",
    "OrderStore",
    "PlanRecord",
    "PreTradeRules",
    "Venue",
    "VenueFill",
    "VenueOrder",
    "VenueUnavailableError",
    "apply_fills",
    "apply_fills_with_basis",
    "as_transaction",
    "check_transition",
    "client_order_id",
    "failpoint",
    "order_figures",
    "orders_for_trades",
    "plan_digest",
    "refusal",
    "size_buys",
    "slipped_price",
    "summarize",
    "utc_now",
]
