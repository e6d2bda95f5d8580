"""Sending an approved plan to a broker connection (``POST /plans/{id}/orders``) and reading
its orders and fills back (``GET /plans/{id}/orders``).

The service does what ``poise orders submit`` does, synchronously: the plan's trades become
one order per trade, sells before buys, each with the DESIGN ``client_order_id`` (``poise-`` +
the first 12 hex digits of the sha256 of the plan's id + ``-`` + the leg); the intents are
committed before anything is sent; the :class:`~poise.execute.OrderSender` sends them through
the connection's venue and polls it until every order ended or a short bound passed. The plan
moves ``approved`` → ``sent`` (audited with the connection) → ``filled``, ``partially_filled``
or ``rejected`` by what filled; each new fill is audited in the transaction that records it.
Sending a plan again sends nothing twice: the venue refuses a repeated id and the sender looks
every possibly sent order up first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from poise._errors import BrokerError
from poise.execute import Intent, OrderSender, PreTradeRules, Venue, orders_for_trades, plan_digest
from poise.model import Fill, Holdings, Side, Trade
from poise.service._deps import Advisor, Principal, ServiceState, State, Viewer
from poise.service._http import Conflict, ObjectId, documented
from poise.service._plans import (
    IdempotencyKey,
    check_plan_current,
    remember_response,
    replay_response,
    set_status,
)
from poise.store import (
    BrokerConnection,
    FirmScope,
    PlanRow,
    PlanTrade,
    SqlLedgerStore,
    SqlOrderStore,
)
from poise.store._orders import OrderPlanRow

__all__ = ["orders_of_plan", "router", "send_plan"]

router = APIRouter(tags=["orders"])

POLL_INTERVAL = 0.05
"""Seconds between look-ups at the venue while orders are open."""
SEND_TIMEOUT = 20.0
"""Seconds a request waits for the orders to end; open ones are finished by sending again."""

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
    # the book names the connection too: a plan is sent through one connection only
    return f"plan:{plan_id}@{connection_id}"


def _venue(state: ServiceState, connection: BrokerConnection, prices: dict[str, float]) -> Venue:
    if connection.kind == "paper":
        from poise.broker import PaperVenue, paper_url

        home = state.settings.home
        home.mkdir(parents=True, exist_ok=True)
        return PaperVenue(paper_url(home), prices)
    from poise.broker import AlpacaVenue
    from poise.store._secrets import decrypt_secret

    if connection.secret is None:
        raise Conflict("this alpaca connection has no keys; add them again")
    keys = decrypt_secret(state.keyring(), connection.secret)  # type: ignore[arg-type]
    return AlpacaVenue(keys["api_key"], keys["api_secret"])


def _audit_fills(firm_id: int, actor: str, plan_id: str) -> Any:
    def audit(session: Session, intent: Intent, fills: Sequence[Fill]) -> None:
        scope = FirmScope(session, firm_id, actor)
        for f in fills:
            scope.audit(
                "order.fill",
                f"plan:{plan_id}",
                {
                    "client_order_id": intent.client_order_id,
                    "execution_id": f.execution_id,
                    "side": f.side.value,
                    "symbol": f.symbol,
                    "quantity": f.quantity,
                    "price": f.price,
                },
            )

    return audit


def _status_after(intents: Sequence[Intent]) -> str | None:
    """The plan's status by what filled (None: orders still open and nothing filled)."""
    filled = [i for i in intents if i.filled_quantity > 0]
    if all(i.state.value == "filled" for i in intents):
        return "filled"
    if not all(i.state.ended for i in intents):
        return "partially_filled" if filled else None
    return "partially_filled" if filled else "rejected"


def _orders_body(
    store: SqlOrderStore, plan: PlanRow, connection: str | None, status: str
) -> dict[str, Any]:
    from poise.report import intent_to_dict

    digest = plan_digest({"id": plan.id})
    fills: dict[str, list[dict[str, Any]]] = {}
    for f in store.fills(digest):
        fills.setdefault(f.client_order_id, []).append(
            {
                "execution_id": f.execution_id,
                "quantity": f.quantity,
                "price": f.price,
                "filled_at": f.filled_at.isoformat(),
            }
        )
    orders = [
        {**intent_to_dict(i), "fills": fills.get(i.client_order_id, [])}
        for i in store.intents(digest)
    ]
    return {"plan_id": plan.id, "status": status, "connection": connection, "orders": orders}


def _sent_connection(store: SqlOrderStore, plan_id: str) -> str | None:
    with store.engine.connect() as conn:
        book = conn.scalar(
            select(OrderPlanRow.book).where(OrderPlanRow.plan == plan_digest({"id": plan_id}))
        )
    return None if book is None else str(book).rpartition("@")[2]


def send_plan(
    state: ServiceState, caller: Principal, plan_id: str, connection_id: str
) -> tuple[int, dict[str, Any]]:
    """Send plan ``plan_id`` through broker connection ``connection_id``, wait for its orders
    and record their fills; returns the HTTP status (201 when this call sent it first, else
    200) and the :class:`PlanOrdersOut` body.

    Raises ``NotFoundError`` (404) for a plan or connection of another firm, :class:`Conflict`
    (409) for a plan that is not approved (or sent), whose household, holdings or prices
    changed, or that was sent through another connection.
    """
    store = SqlOrderStore(state.engine, _audit_fills(caller.firm_id, caller.email, plan_id))
    digest = plan_digest({"id": plan_id})
    with state.write(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        connection = scope.get(BrokerConnection, connection_id)
        kind = connection.kind
        if plan.status not in _SENDABLE:
            raise Conflict(f"the plan is {plan.status}; only an approved plan can be sent")
        sent_through = _sent_connection(store, plan_id)
        if sent_through is not None and sent_through != connection_id:
            raise Conflict("the plan was sent through another broker connection")
        first = plan.status == "approved"
        if first:
            check_plan_current(scope, plan)
        rows = scope.session.scalars(
            select(PlanTrade).where(PlanTrade.plan_id == plan.id).order_by(PlanTrade.leg)
        ).all()
        trades = [
            Trade(r.account, r.symbol, Side(r.side), r.quantity, r.price, 0.0, "") for r in rows
        ]
        record = SqlLedgerStore(scope).holdings(plan.household_id)
        holdings = record.holdings if record is not None else Holdings((), {})
        as_of = plan.as_of
        if plan.status == "filled":
            return 200, _orders_body(store, plan, connection_id, plan.status)
        if first:
            set_status(scope, plan, "sent", caller)
            scope.audit(
                "plan.send",
                f"plan:{plan.id}",
                {"broker_connection": connection_id, "kind": kind, "orders": len(trades)},
            )
        venue = _venue(state, connection, {t.symbol: t.price for t in trades})
    slip = getattr(venue, "slippage_bps", None)
    rules = PreTradeRules(
        min_notional=1.0,
        require_open_market=True,
        price_buffer_bps=float(slip) if slip is not None else 50.0,
    )
    sender = OrderSender(store, venue, rules, poll_interval=POLL_INTERVAL, timeout=SEND_TIMEOUT)
    sender.add_plan(
        digest, _book(plan_id, connection_id), as_of, orders_for_trades(trades, digest), holdings
    )
    intents = sender.run(digest)
    status = _status_after(intents)
    with state.write(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        if status is not None and status != plan.status:
            set_status(scope, plan, status, caller)
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
