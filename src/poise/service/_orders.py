"""Sending an approved plan to broker connections (``POST /plans/{id}/orders``) and reading
its orders and fills back (``GET /plans/{id}/orders``).

The plan's trades become one order per trade, sells before buys, each with the DESIGN
``client_order_id`` (``poise-`` + the first 12 hex digits of the sha256 of the plan's id +
``-`` + the leg). Each account's orders go to the broker connection the account is linked to
(``PUT /households/{id}/accounts/{account}``); the request body's ``connection`` takes the
orders of every account not linked (and names the plan's book). The routes are frozen when
sending is first asked for. The intents are committed and the plan queued before anything is
sent; whichever ``poise serve`` process holds the sender lease sends them with the
:class:`~poise.execute.OrderSender` and polls the venues (see :mod:`poise.service._sending`),
and the request waits for it, so the answer is the same whichever process received it. The
plan moves ``approved`` → ``sent`` (audited with the connection) → ``filled``,
``partially_filled`` or ``rejected`` by what filled; each new fill is audited in the
transaction that records it. Sending a plan again sends nothing twice: the venue refuses a
repeated id and the sender looks every possibly sent order up first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from poise._errors import BrokerError
from poise.app import NotFoundError
from poise.execute import Intent, OrderSender, orders_for_trades, plan_digest
from poise.model import Holdings, Trade
from poise.service._deps import Advisor, Principal, ServiceState, State, Viewer
from poise.service._http import Conflict, ObjectId, documented
from poise.service._plans import (
    IdempotencyKey,
    check_plan_current,
    remember_response,
    replay_response,
    set_status,
)
from poise.service._sending import (
    SEND_TIMEOUT,
    group_key,
    plan_keys,
    plan_trades,
    split_orders,
    venue_for,
)
from poise.store import (
    AccountRow,
    BrokerConnection,
    FirmScope,
    PlanRow,
    SendRequestRow,
    SqlLedgerStore,
    SqlOrderStore,
    read_session,
)
from poise.store._orders import OrderPlanRow

__all__ = ["orders_of_plan", "router", "send_plan"]

router = APIRouter(tags=["orders"])

_SENDABLE = frozenset({"approved", "sent", "partially_filled", "filled"})


class SendRequest(BaseModel):
    """Which broker connection the plan's orders go to."""

    model_config = ConfigDict(extra="forbid")
    connection: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="Connection id")]


class FillOut(BaseModel):
    execution_id: str
    quantity: float
    price: float
    filled_at: str


class OrderOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    client_order_id: str
    leg: int
    account: str
    symbol: str
    side: str
    quantity: float
    state: str
    filled_quantity: float
    fills: list[FillOut]


class PlanOrdersOut(BaseModel):
    """A plan's status and its orders, each with its fills."""

    plan_id: str
    status: str
    connection: str | None
    orders: list[OrderOut]


def _book(plan_id: str, connection_id: str) -> str:
    # the book names the default connection too: a plan is sent through one request only
    return f"plan:{plan_id}@{connection_id}"


def _orders_body(
    store: SqlOrderStore, plan: PlanRow, connection: str | None, status: str
) -> dict[str, Any]:
    from poise.report import intent_to_dict

    with read_session(store.engine) as session:
        keys = plan_keys(session, plan.id)
    fills: dict[str, list[dict[str, Any]]] = {}
    intents: list[Intent] = []
    for key in keys:
        for f in store.fills(key):
            fills.setdefault(f.client_order_id, []).append(
                {
                    "execution_id": f.execution_id,
                    "quantity": f.quantity,
                    "price": f.price,
                    "filled_at": f.filled_at.isoformat(),
                }
            )
        intents.extend(store.intents(key))
    intents.sort(key=lambda i: i.order.leg)
    orders = [
        {
            **intent_to_dict(i),
            "connection": i.plan.partition("@")[2] or connection,
            "fills": fills.get(i.client_order_id, []),
        }
        for i in intents
    ]
    return {"plan_id": plan.id, "status": status, "connection": connection, "orders": orders}


def _sent_connection(store: SqlOrderStore, plan_id: str) -> str | None:
    """The default connection the plan was sent through (None: not sent)."""
    with read_session(store.engine) as session:
        request = session.get(SendRequestRow, plan_id)
        if request is not None:
            return request.connection
        book = session.scalar(  # sent before the send queue existed
            select(OrderPlanRow.book).where(OrderPlanRow.plan == plan_digest({"id": plan_id}))
        )
    return None if book is None else str(book).rpartition("@")[2]


def _routes(
    scope: FirmScope, plan: PlanRow, trades: Sequence[Trade], default: str
) -> dict[str, str]:
    """Each of the plan's accounts linked to a connection other than ``default``, with it."""
    accounts = {t.account for t in trades}
    rows = scope.session.scalars(
        select(AccountRow).where(
            AccountRow.household_id == plan.household_id,
            AccountRow.broker_connection_id.is_not(None),
        )
    )
    return {
        a.name: str(a.broker_connection_id)
        for a in rows
        if a.name in accounts and a.broker_connection_id != default
    }


def send_plan(
    state: ServiceState, caller: Principal, plan_id: str, connection_id: str
) -> tuple[int, dict[str, Any]]:
    """Send plan ``plan_id``: each account's orders through the broker connection the account
    is linked to, the others through ``connection_id``; wait for its orders and return the HTTP
    status (201 when this call asked for the sending first, else 200) and the
    :class:`PlanOrdersOut` body.

    The intents are committed and the request queued here; the process holding the sender
    lease (this one or another, see :mod:`poise.service._sending`) sends them. The call waits
    up to ``SEND_TIMEOUT`` seconds for every order to end; open ones are followed up by the
    sender (and shown by ``GET``).

    Raises ``NotFoundError`` (404) for a plan or connection of another firm, :class:`Conflict`
    (409) for a plan that is not approved (or sent), whose household, holdings or prices
    changed, or that was sent through another connection; ``BrokerError`` (502) when the
    sender failed.
    """
    store = SqlOrderStore(state.engine)
    digest = plan_digest({"id": plan_id})
    with state.write(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        scope.get(BrokerConnection, connection_id)
        if plan.status not in _SENDABLE:
            raise Conflict(f"the plan is {plan.status}; only an approved plan can be sent")
        sent_through = _sent_connection(store, plan_id)
        if sent_through is not None and sent_through != connection_id:
            raise Conflict("the plan was sent through another broker connection")
        if plan.status == "approved":
            check_plan_current(scope, plan)
        if plan.status == "filled":
            return 200, _orders_body(store, plan, connection_id, plan.status)
        trades = plan_trades(scope, plan)
        request = scope.session.get(SendRequestRow, plan_id)
        if request is not None:
            routes = dict(request.routes)
        else:
            routes = _routes(scope, plan, trades, connection_id)
        prices = {t.symbol: t.price for t in trades}
        groups = split_orders(orders_for_trades(trades, digest), routes, connection_id)
        venues = {
            c: venue_for(state, scope.get(BrokerConnection, c), prices) for c in groups
        }  # 404/409/503 now rather than in the sender
        record = SqlLedgerStore(scope).holdings(plan.household_id)
        holdings = record.holdings if record is not None else Holdings((), {})
        as_of = plan.as_of
    for connection, orders in groups.items():
        OrderSender(store, venues[connection]).add_plan(
            group_key(digest, connection, connection_id),
            _book(plan_id, connection_id),
            as_of,
            orders,
            holdings,
        )
        engine = getattr(venues[connection], "engine", None)  # the sender makes its own
        if engine is not None:
            engine.dispose()
    with state.write(caller) as scope:
        # The plan's row lock serializes two requests racing to send the same plan (PostgreSQL
        # re-reads the row after the other commits; SQLite holds one writer at a time): the
        # first moves it to sent, audits the send and queues it; the second finds both done.
        locked = scope.session.scalar(
            scope.select(PlanRow)
            .where(PlanRow.id == plan_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if locked is None:
            raise NotFoundError(f"no plan {plan_id}")
        plan = locked
        first = plan.status == "approved"
        if first:
            set_status(scope, plan, "sent", caller)
            scope.audit(
                "plan.send",
                f"plan:{plan.id}",
                {
                    "broker_connection": connection_id,
                    "kind": scope.get(BrokerConnection, connection_id).kind,
                    "orders": len(trades),
                    "routes": routes,
                },
            )
        request = scope.session.get(SendRequestRow, plan_id)
        if request is None:
            scope.session.add(
                SendRequestRow(
                    plan_id=plan_id,
                    firm_id=caller.firm_id,
                    user_id=caller.user_id,
                    actor=caller.email,
                    connection=connection_id,
                    routes=routes,
                    state="pending",
                    error="",
                    requested_at=datetime.now(UTC),
                )
            )
        elif request.state != "done" or plan.status != "filled":
            request.state, request.error, request.finished_at = "pending", "", None
    dispatcher = state.dispatcher
    dispatcher.start()
    dispatcher.wake()
    done = dispatcher.wait(plan_id, SEND_TIMEOUT)
    if done is not None and done.error and done.state != "done":
        raise BrokerError(done.error)
    with state.read(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        return (201 if first else 200), _orders_body(store, plan, connection_id, plan.status)


def orders_of_plan(state: ServiceState, caller: Principal, plan_id: str) -> dict[str, Any]:
    """A plan's status, the connection it was sent through and its orders with their fills
    (no orders before it is sent); ``NotFoundError`` for another firm's plan."""
    store = SqlOrderStore(state.engine)
    with state.read(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        return _orders_body(store, plan, _sent_connection(store, plan_id), plan.status)


@router.post(
    "/plans/{plan_id}/orders",
    status_code=201,
    response_model=PlanOrdersOut,
    responses={
        200: {"model": PlanOrdersOut, "description": "Sent before: nothing new was sent"},
        **documented(401, 403, 404, 409, 413, 422, 502, 503),
    },
    summary="Send an approved plan's orders to a broker connection and wait for the fills",
)
def post_orders(
    plan_id: ObjectId,
    body: SendRequest,
    caller: Advisor,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """One market day order per trade, sells first, then the fills. Status 201 the first time;
    200 when the plan was sent before (nothing is sent twice; open orders are followed up).
    409 when the plan is not approved, or its household, holdings or prices changed."""
    path = f"/plans/{plan_id}/orders"
    replay = replay_response(state, caller, idempotency_key, path)
    if replay is not None:
        return replay
    try:
        status, out = send_plan(state, caller, plan_id, body.connection)
    except BrokerError as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from None
    if idempotency_key is not None:
        try:
            with state.write(caller) as scope:
                remember_response(scope, caller, idempotency_key, path, status, out)
        except IntegrityError:  # the same key raced in: answer as the first did
            again = replay_response(state, caller, idempotency_key, path)
            if again is not None:
                return again
            raise
    return JSONResponse(status_code=status, content=out)


@router.get(
    "/plans/{plan_id}/orders",
    response_model=PlanOrdersOut,
    responses=documented(401, 403, 404, 422),
    summary="A plan's orders and their fills",
)
def get_orders(plan_id: ObjectId, caller: Viewer, state: State) -> dict[str, Any]:
    return orders_of_plan(state, caller, plan_id)
