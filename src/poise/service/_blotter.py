"""The firm's orders (the blotter) and the kill switch: ``GET /orders``,
``POST /orders/{client_order_id}/cancel`` and ``POST /orders/cancel-all``.

The blotter reads the same rows as ``GET /plans/{id}/orders`` (the order store's intents and
fills of the firm's plans) and adds each order's execution figures from
:func:`poise.execute.order_figures` with the per-venue p50/p95 of
:func:`poise.execute.summarize`, the figures ``poise orders report`` prints.

Cancelling goes through :meth:`poise.execute.OrderSender.cancel` and
:meth:`~poise.execute.OrderSender.cancel_all`, the machinery of ``poise orders cancel-all``,
with the venue of the broker connection each plan was sent through: an unsent order
(``new``) is cancelled here, an order that may be at the venue is cancelled there and looked
up (what filled before stays filled and is recorded, audited, like any fill). Once every
order of a plan has ended nothing of it is ever sent again (the sender sends only ``new``
orders), and the plan's status follows what filled. The request is audited before anything
is cancelled (``orders.cancel_all`` or ``orders.cancel``), and each order that becomes
``cancelled`` is audited (``order.cancel``) in the transaction that records it, through the
order store's ``on_save`` hook.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from poise._errors import BrokerError
from poise.app import NotFoundError
from poise.execute import (
    Intent,
    LatencySummary,
    OrderSender,
    OrderState,
    order_figures,
    summarize,
)
from poise.service._deps import Advisor, Principal, ServiceState, State, Viewer
from poise.service._http import Conflict, documented
from poise.service._orders import FillOut, OrderOut
from poise.service._plans import TRANSITIONS, set_status
from poise.service._sending import audit_fills, order_keys, status_after, venue_for
from poise.store import (
    BrokerConnection,
    FirmScope,
    HouseholdRow,
    PlanRow,
    SendRequestRow,
    SqlOrderStore,
)
from poise.store._orders import OrderFillRow, OrderIntentRow, OrderPlanRow, _intent, _utc

__all__ = ["Blotter", "cancel_orders", "firm_orders", "router"]

router = APIRouter(tags=["orders"])

ORDER_STATES = tuple(s.value for s in OrderState)
"""Every state an order can be in (new, submitting, ..., unknown)."""
_CHUNK = 500
CANCEL_ROUNDS = 5
"""Times a cancel looks again at orders that have not ended yet."""
CANCEL_PAUSE = 0.1
"""Seconds between those looks."""
_SENT = ("sent", "filled", "partially_filled", "rejected", "expired")
"""PlanRow statuses a plan with orders can have."""


@dataclass(frozen=True, slots=True)
class _FirmPlan:
    id: str
    household_id: str
    household_name: str
    status: str


@dataclass(frozen=True, slots=True)
class Blotter:
    """The firm's orders (newest plan first, legs in order) as ``GET /orders`` gives them, and
    p50/p95 of slippage and latencies per venue over those orders."""

    orders: list[dict[str, Any]]
    venues: list[LatencySummary]


def _round(value: float | None, places: int = 6) -> float | None:
    return None if value is None else round(value, places)


def _firm_plans(scope: FirmScope, household: str | None) -> dict[str, _FirmPlan]:
    """The firm's plans that may have orders, newest first, by their order-store keys (the
    digest, and ``digest@connection`` for accounts routed to another connection)."""
    names = dict(
        scope.session.execute(
            select(HouseholdRow.id, HouseholdRow.name).where(HouseholdRow.firm_id == scope.firm_id)
        ).all()
    )
    query = select(PlanRow.id, PlanRow.household_id, PlanRow.status).where(  # not the bodies
        PlanRow.firm_id == scope.firm_id, PlanRow.status.in_(_SENT)
    )
    if household:
        query = query.where(PlanRow.household_id == household)
    by_id = {}
    for plan_id, household_id, status in scope.session.execute(
        query.order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
    ):
        by_id[plan_id] = _FirmPlan(
            plan_id, household_id, names.get(household_id, household_id), status
        )
    keys = order_keys(scope.session, list(by_id))
    position = {plan_id: n for n, plan_id in enumerate(by_id)}
    return {key: by_id[keys[key]] for key in sorted(keys, key=lambda k: position[keys[k]])}


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _intents(scope: FirmScope, digests: Sequence[str]) -> list[Intent]:
    out: list[Intent] = []
    for chunk in _chunks(digests):
        rows = scope.session.scalars(
            select(OrderIntentRow)
            .where(OrderIntentRow.plan.in_(chunk))
            .order_by(OrderIntentRow.plan, OrderIntentRow.leg)
        )
        out.extend(_intent(r) for r in rows)
    return out


def _fills(scope: FirmScope, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        rows = scope.session.scalars(
            select(OrderFillRow)
            .where(OrderFillRow.client_order_id.in_(chunk))
            .order_by(OrderFillRow.id)
        )
        for f in rows:
            at = _utc(f.filled_at) or f.filled_at
            out.setdefault(f.client_order_id, []).append(
                FillOut(
                    execution_id=f.execution_id,
                    quantity=f.quantity,
                    price=f.price,
                    filled_at=at.isoformat(),
                ).model_dump()
            )
    return out


def _connections(scope: FirmScope, digests: Sequence[str]) -> dict[str, str]:
    """The broker connection each sent plan went through (digest → connection id)."""
    out: dict[str, str] = {}
    for chunk in _chunks(digests):
        for digest, book in scope.session.execute(
            select(OrderPlanRow.plan, OrderPlanRow.book).where(OrderPlanRow.plan.in_(chunk))
        ):
            out[digest] = digest.partition("@")[2] or str(book).rpartition("@")[2]
    return out


def _row(
    intent: Intent,
    plan: _FirmPlan,
    connection: str | None,
    fills: list[dict[str, Any]],
) -> dict[str, Any]:
    from poise.report import intent_to_dict

    f = order_figures(intent)
    return {
        **intent_to_dict(intent),
        "plan_id": plan.id,
        "plan_status": plan.status,
        "household_id": plan.household_id,
        "household_name": plan.household_name,
        "connection": connection,
        "fills": fills,
        "fill_price": _round(f.fill_price),
        "slippage_bps": _round(f.slippage_bps),
        "implementation_shortfall": _round(f.shortfall),
        "sent_to_acknowledged_ms": _round(f.sent_to_ack_ms, 3),
        "acknowledged_to_filled_ms": _round(f.ack_to_fill_ms, 3),
        "sent_to_filled_ms": _round(f.sent_to_fill_ms, 3),
    }


def firm_orders(
    state: ServiceState,
    caller: Principal,
    *,
    order_state: str | None = None,
    household: str | None = None,
    limit: int | None = None,
) -> Blotter:
    """Every order of the caller's firm, newest plan first and each plan's legs in order,
    optionally only those in ``order_state`` (an :class:`~poise.execute.OrderState` value) or
    of ``household`` (an id; another firm's id gives no rows); at most ``limit`` rows.

    Each row is the ``GET /plans/{id}/orders`` order (ids, quantities, state, its times in
    UTC ISO form, fills) plus plan and household, ``fill_price`` (average, currency),
    ``slippage_bps``, ``implementation_shortfall`` (currency) and the latencies in ms, all
    from :func:`poise.execute.order_figures`; ``venues`` summarises them per venue.
    """
    with state.read(caller) as scope:
        plans = _firm_plans(scope, household)
        digests = list(plans)
        intents = _intents(scope, digests)
        if order_state:
            intents = [i for i in intents if i.state.value == order_state]
        position = {p: n for n, p in enumerate(dict.fromkeys(p.id for p in plans.values()))}
        rank = {d: position[plans[d].id] for d in digests}
        intents.sort(key=lambda i: (rank[i.plan], i.order.leg))
        if limit is not None:
            intents = intents[:limit]
        fills = _fills(scope, [i.client_order_id for i in intents])
        connections = _connections(scope, sorted({i.plan for i in intents}))
    rows = [
        _row(i, plans[i.plan], connections.get(i.plan), fills.get(i.client_order_id, []))
        for i in intents
    ]
    return Blotter(rows, summarize([order_figures(i) for i in intents]))


def cancel_orders(
    state: ServiceState, caller: Principal, client_order_id: str | None = None
) -> list[dict[str, Any]]:
    """Cancel one order of the caller's firm (``client_order_id``) or, when None, every open
    order of the firm (the kill switch); returns the orders it stopped as blotter rows.

    Raises ``NotFoundError`` (404) for an order of another firm or an unknown id,
    :class:`Conflict` (409) for a single order that has already ended, ``BrokerError`` when a
    venue fails (what was cancelled before stays cancelled; cancel again).
    """
    with state.read(caller) as scope:
        plans = _firm_plans(scope, None)
        intents = [i for i in _intents(scope, list(plans)) if not i.state.ended]
        if client_order_id is not None:
            everything = _intents(
                scope,
                [d for d in plans if client_order_id.startswith(f"poise-{d.partition('@')[0]}-")],
            )
            mine = [i for i in everything if i.client_order_id == client_order_id]
            if not mine:
                raise NotFoundError("no such order")
            if mine[0].state.ended:
                raise Conflict(f"the order is {mine[0].state.value}; there is nothing to cancel")
            intents = mine
        connections = _connections(scope, sorted({i.plan for i in intents}))
        rows = {
            c.id: c
            for c in scope.session.scalars(
                scope.select(BrokerConnection).where(
                    BrokerConnection.id.in_(sorted(set(connections.values())))
                )
            )
        }
        by_plan: dict[str, list[Intent]] = {}
        for intent in intents:
            by_plan.setdefault(intent.plan, []).append(intent)
        venues = {
            digest: venue_for(state, rows[connections[digest]], {})
            for digest in by_plan
            if connections.get(digest) in rows
        }
    plan_ids = sorted({plans[i.plan].id for i in intents})
    with state.write(caller) as scope:
        scope.audit(
            "orders.cancel" if client_order_id else "orders.cancel_all",
            f"order:{client_order_id}" if client_order_id else "orders",
            {"orders": [i.client_order_id for i in intents], "plans": plan_ids},
        )
        if client_order_id is None and plan_ids:  # the service's sender starts no new pass
            scope.session.execute(
                update(SendRequestRow)
                .where(
                    SendRequestRow.firm_id == caller.firm_id,
                    SendRequestRow.plan_id.in_(plan_ids),
                    SendRequestRow.state == "pending",
                )
                .values(state="done", finished_at=datetime.now(UTC))
            )
    targets = {i.client_order_id for i in intents}
    stores = {
        key: SqlOrderStore(
            state.engine,
            audit_fills(caller.firm_id, caller.email, plans[key].id),
            _audit_cancel(caller.firm_id, caller.email, plans[key].id),
        )
        for key in by_plan
    }
    for attempt in range(CANCEL_ROUNDS):  # a sender working meanwhile may need a second look
        if attempt:
            time.sleep(CANCEL_PAUSE)
        left = 0
        for key, store in stores.items():
            now = [
                i for i in store.intents(key) if i.client_order_id in targets and not i.state.ended
            ]
            venue = venues.get(key)
            if venue is None:  # its connection is gone: stop what was never sent
                for intent in now:
                    if intent.state is OrderState.NEW:
                        _cancel_unsent(store, intent)
            elif client_order_id is None:
                OrderSender(store, venue).cancel_all({key})
            else:
                for intent in now:
                    OrderSender(store, venue).cancel(intent)
            left += sum(
                1 for i in store.intents(key) if i.client_order_id in targets and not i.state.ended
            )
        if not left:
            break
    for plan_id in dict.fromkeys(plans[d].id for d in by_plan):  # each plan once, all its keys
        keys = [k for k, p in plans.items() if p.id == plan_id]
        everything = [i for k in keys for i in SqlOrderStore(state.engine).intents(k)]
        _follow_plan(state, caller, plan_id, everything)
    blotter = firm_orders(state, caller)
    return [row for row in blotter.orders if row["client_order_id"] in targets]


def _audit_cancel(firm_id: int, actor: str, plan_id: str) -> Any:
    """The order store's ``on_save`` hook: an order becoming ``cancelled`` is audited in the
    transaction that records it."""

    def audit(session: Session, intent: Intent, before: OrderState) -> None:
        if intent.state is OrderState.CANCELLED and before is not OrderState.CANCELLED:
            FirmScope(session, firm_id, actor).audit(
                "order.cancel",
                f"plan:{plan_id}",
                {
                    "client_order_id": intent.client_order_id,
                    "from": before.value,
                    "filled_quantity": intent.filled_quantity,
                },
            )

    return audit


def _cancel_unsent(store: SqlOrderStore, intent: Intent) -> Intent:
    moved = intent.moved(OrderState.CANCELLED, reason="cancelled by user")
    try:
        store.save(moved, expect=OrderState.NEW)  # unless a sender has just taken it
    except BrokerError:
        return intent
    return moved


def _follow_plan(
    state: ServiceState, caller: Principal, plan_id: str, intents: Sequence[Intent]
) -> None:
    """Move the plan's status by what its orders did (as sending does)."""
    status = status_after(intents)
    with state.write(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        if status is not None and status in TRANSITIONS.get(plan.status, frozenset()):
            set_status(scope, plan, status, caller)


class BlotterOrderOut(OrderOut):
    """One order of the firm with its fills and execution figures."""

    plan_id: str
    household_id: str
    household_name: str
    fill_price: float | None
    slippage_bps: float | None
    implementation_shortfall: float | None
    sent_to_filled_ms: float | None


class VenueFiguresOut(BaseModel):
    venue: str
    orders: int
    filled: int
    p50: dict[str, float | None]
    p95: dict[str, float | None]


class BlotterOut(BaseModel):
    orders: list[BlotterOrderOut]
    venues: list[VenueFiguresOut]


class CancelOut(BaseModel):
    """The orders a cancel stopped, as they now stand (a partly filled order keeps its
    fills)."""

    cancelled: int
    orders: list[BlotterOrderOut]


OrderId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9-]{1,48}$",
        description="The order's client_order_id (poise-<12 hex digits>-<leg>)",
    ),
]
StateFilter = Annotated[
    str | None, Query(pattern="^(" + "|".join(ORDER_STATES) + ")$", description="Order state")
]
HouseholdFilter = Annotated[
    str | None, Query(pattern=r"^[A-Za-z0-9]{1,64}$", description="Household id")
]


def _venues_out(venues: Sequence[LatencySummary]) -> list[dict[str, Any]]:
    return [
        {
            "venue": s.venue,
            "orders": s.orders,
            "filled": s.filled,
            "p50": {k: _round(v) for k, v in s.p50.items()},
            "p95": {k: _round(v) for k, v in s.p95.items()},
        }
        for s in venues
    ]


@router.get(
    "/orders",
    response_model=BlotterOut,
    responses=documented(401, 403, 422),
    summary="The firm's orders with fills, slippage and latency; p50/p95 per venue",
)
def get_blotter(
    caller: Viewer,
    state: State,
    order_state: Annotated[StateFilter, Query(alias="state")] = None,
    household: HouseholdFilter = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    blotter = firm_orders(state, caller, order_state=order_state, household=household, limit=limit)
    return {"orders": blotter.orders, "venues": _venues_out(blotter.venues)}


def _cancel(state: ServiceState, caller: Principal, order_id: str | None) -> dict[str, Any]:
    try:
        rows = cancel_orders(state, caller, order_id)
    except BrokerError as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from None
    return {"cancelled": len(rows), "orders": rows}


@router.post(
    "/orders/cancel-all",
    response_model=CancelOut,
    responses=documented(401, 403, 422, 502, 503),
    summary="Kill switch: cancel every open order of the firm at its venue",
)
def post_cancel_all(caller: Advisor, state: State) -> dict[str, Any]:
    """Every order of the firm that has not ended is cancelled (unsent ones here, sent ones at
    the venue of their broker connection); their plans send nothing more."""
    return _cancel(state, caller, None)


@router.post(
    "/orders/{client_order_id}/cancel",
    response_model=CancelOut,
    responses=documented(401, 403, 404, 409, 422, 502, 503),
    summary="Cancel one open order",
)
def post_cancel(client_order_id: OrderId, caller: Advisor, state: State) -> dict[str, Any]:
    """409 when the order has already ended (filled, cancelled, rejected or expired)."""
    return _cancel(state, caller, client_order_id)
