"""The service's order sender: one per store, whichever ``poise serve`` process holds the lease.

Every service process runs an :class:`OrderDispatcher` with two threads:

- the **keeper** takes or renews the sender lease (:class:`poise.store.SenderLease`) every
  ``RENEW_SECONDS``; a lease lasts ``LEASE_SECONDS`` past its last renewal, so when the
  holder dies (killed, crashed, cut off) another process takes over within about
  ``LEASE_SECONDS + RENEW_SECONDS`` seconds;
- the **worker**, while this process holds the lease, first *recovers*: looks up, by
  ``client_order_id``, every order of every unfinished send request that may have reached a
  venue and adopts what the venue says; then it works the queue (``send_requests``, oldest
  first), sending each plan with the :class:`~poise.execute.OrderSender` through the broker
  connection of each account (frozen when sending was asked for). Each pass gives a request
  at most ``PASS_SECONDS`` of waiting for fills, then turns to the next (round robin). A
  request is ``done`` once every order of its plan has ended; one whose orders are still open
  (or ``unknown``) is followed up again after ``FOLLOW_SECONDS``, one that failed after
  ``RETRY_SECONDS``.

The worker checks the lease before every send and every look-up round (the sender's
``guard``), so a process that lost the lease stops within a round; and because each order
carries its deterministic id, which venues refuse to take twice, and fills are keyed by the
venue's execution id, even two senders overlapping could neither double an order nor a fill.

``POST /plans/{id}/orders`` commits the intents and the request, wakes the local worker and
waits (up to ``SEND_TIMEOUT``) for whichever process holds the lease to finish the plan.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from poise._errors import BrokerError
from poise.execute import (
    Intent,
    Order,
    OrderSender,
    PreTradeRules,
    Venue,
    apply_fills_with_basis,
    orders_for_trades,
    plan_digest,
)
from poise.model import Fill, Side, Trade
from poise.service._deps import Principal
from poise.service._http import Conflict
from poise.store import (
    BrokerConnection,
    FirmScope,
    PlanRow,
    PlanTrade,
    SenderLease,
    SendRequestRow,
    SqlLedgerStore,
    SqlOrderStore,
    read_session,
    write_session,
)
from poise.store._orders import OrderPlanRow

if TYPE_CHECKING:
    from poise.service._deps import ServiceState

__all__ = [
    "LEASE_SECONDS",
    "RENEW_SECONDS",
    "SEND_TIMEOUT",
    "OrderDispatcher",
    "group_key",
    "move_holdings",
    "order_keys",
    "plan_keys",
    "plan_trades",
    "split_orders",
    "status_after",
    "venue_for",
]

log = logging.getLogger("poise.service.sending")

LEASE_SECONDS = 5.0
"""How long the sender lease lasts after its last renewal."""
RENEW_SECONDS = 1.5
"""How often the keeper takes or renews the lease."""
RETRY_SECONDS = 5.0
"""Pause before a request that failed (a venue or the store refused) is worked again."""
PASS_SECONDS = 1.0
"""How long one pass over a request waits for its orders to end before the worker turns to
the next request (round robin: a slow plan never holds the others up)."""
FOLLOW_SECONDS = 0.2
"""Pause before a request whose orders are still open is worked again."""
STALL_SECONDS = 30.0
"""Seconds past its timeout a request waits for a sender that has not worked it at all."""
POLL_INTERVAL = 0.05
"""Seconds between look-ups at the venue while orders are open."""
SEND_TIMEOUT = 20.0
"""Seconds the sender (and a request waiting for it) waits for a plan's orders to end."""


class _LeaseLost(RuntimeError):
    """This process no longer holds the sender lease (or is shutting down)."""


def group_key(digest: str, connection: str, default: str) -> str:
    """The order store's plan key of one connection's share of a plan: the digest for the
    request's default connection, ``digest@connection`` for any other."""
    return digest if connection == default else f"{digest}@{connection}"


def split_orders(
    orders: Sequence[Order], routes: Mapping[str, str], default: str
) -> dict[str, list[Order]]:
    """The plan's orders by the connection they go to: an account's route, else ``default``
    (connections in first-leg order; each keeps the plan's legs and ids)."""
    out: dict[str, list[Order]] = {}
    for order in orders:
        out.setdefault(routes.get(order.account, default), []).append(order)
    return out


def plan_keys(session: Session, plan_id: str) -> list[str]:
    """Every order-store plan key of service plan ``plan_id`` (one per connection)."""
    digest = plan_digest({"id": plan_id})
    return list(
        session.scalars(
            select(OrderPlanRow.plan)
            .where(or_(OrderPlanRow.plan == digest, OrderPlanRow.plan.like(f"{digest}@%")))
            .order_by(OrderPlanRow.plan)
        )
    )


def order_keys(session: Session, plan_ids: Sequence[str]) -> dict[str, str]:
    """Every order-store plan key of the service plans ``plan_ids`` → the plan's id: its
    digest, and ``digest@connection`` for each connection its send request routes accounts
    to (from the frozen routes; no scan of the order store)."""
    out = {plan_digest({"id": p}): p for p in plan_ids}
    ids = list(plan_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(SendRequestRow.plan_id, SendRequestRow.routes).where(
                SendRequestRow.plan_id.in_(ids[start : start + 500])
            )
        )
        for plan_id, routes in rows:
            digest = plan_digest({"id": plan_id})
            for connection in sorted(set((routes or {}).values())):
                out[f"{digest}@{connection}"] = plan_id
    return out


def status_after(intents: Sequence[Intent]) -> str | None:
    """The plan's status by what filled (None: orders still open and nothing filled)."""
    filled = [i for i in intents if i.filled_quantity > 0]
    if intents and all(i.state.value == "filled" for i in intents):
        return "filled"
    if not intents or not all(i.state.ended for i in intents):
        return "partially_filled" if filled else None
    return "partially_filled" if filled else "rejected"


def venue_for(state: ServiceState, connection: BrokerConnection, prices: dict[str, float]) -> Venue:
    """The venue of a broker connection: the paper venue (``$POISE_HOME/paper.db`` or
    ``POISE_PAPER_URL``, filling at ``prices``) or Alpaca with the connection's keys.
    :class:`Conflict` (409) for an Alpaca connection without keys; ``SecretKeyError`` (503)
    when the key ring to decrypt them is missing."""
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


def rules_for(venue: Venue) -> PreTradeRules:
    """The service's pre-trade rules for a venue (the price buffer is its slippage, if known)."""
    slip = getattr(venue, "slippage_bps", None)
    return PreTradeRules(
        min_notional=1.0,
        require_open_market=True,
        price_buffer_bps=float(slip) if slip is not None else 50.0,
    )


def move_holdings(scope: FirmScope, plan_id: str, fills: Sequence[Fill]) -> int:
    """Apply new ``fills`` of plan ``plan_id`` to its household's latest holdings snapshot and
    store the result as the next snapshot version (audited ``holdings.fill``); returns the new
    version. Lots and cash move by :func:`poise.execute.apply_fills_with_basis` (a buy opens a
    lot acquired on the fill date with basis quantity × price + cost; a sell takes the oldest
    lots and adds proceeds less cost). Runs in the fill's own transaction, so each fill (unique
    by execution id) moves the holdings exactly once.

    Raises ``BrokerError`` (the transaction, fills included, rolls back) when the household has
    no holdings, or when the fills would take an account's cash below zero or sell shares it
    does not hold: a fill is never booked by inventing money or shares.
    """
    plan = scope.get(PlanRow, plan_id)
    ledger = SqlLedgerStore(scope)
    record = ledger.holdings(plan.household_id)
    if record is None:
        raise BrokerError(f"plan {plan_id} filled but its household has no holdings to move")
    before = record.holdings
    held = before.quantities()
    for f in fills:
        key = (f.account, f.symbol)
        have = held.get(key, 0.0)
        if f.side is Side.SELL and f.quantity > have + 1e-9:
            raise BrokerError(
                f"fill {f.execution_id} sells {f.quantity:g} {f.symbol} in {f.account}, "
                f"which holds {have:g}; the household's holdings were not moved"
            )
        held[key] = have + (f.quantity if f.side is Side.BUY else -f.quantity)
    after, _bases = apply_fills_with_basis(before, fills)
    short = {a: v for a, v in after.cash.items() if v < 0}
    if short:
        raise BrokerError(
            f"fills {[f.execution_id for f in fills]} of plan {plan_id} would take cash below "
            f"zero ({short}); the household's holdings were not moved"
        )
    saved = ledger.save_holdings(plan.household_id, after)
    scope.audit(
        "holdings.fill",
        f"household:{plan.household_id}",
        {
            "plan": plan_id,
            "execution_ids": [f.execution_id for f in fills],
            "version": saved.version,
            "from_version": record.version,
        },
    )
    return saved.version


def audit_fills(firm_id: int, actor: str, plan_id: str) -> Any:
    """The order store's ``on_fills`` hook, in the fill's transaction: each new fill audited
    and the household's holdings moved by them (:func:`move_holdings`)."""

    def audit(session: Session, intent: Intent, fills: Sequence[Fill]) -> None:
        scope = FirmScope(session, firm_id, actor)
        move_holdings(scope, plan_id, fills)
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


def plan_trades(scope: FirmScope, plan: PlanRow) -> list[Trade]:
    """The plan's trades, in leg order."""
    rows = scope.session.scalars(
        select(PlanTrade).where(PlanTrade.plan_id == plan.id).order_by(PlanTrade.leg)
    ).all()
    return [Trade(r.account, r.symbol, Side(r.side), r.quantity, r.price, 0.0, "") for r in rows]


class OrderDispatcher:
    """This process's candidate order sender (see the module docstring).

    Parameters
    ----------
    state : ServiceState
        The service (engine, settings, key ring).
    lease_seconds, renew_seconds : float
        The lease's length and how often it is renewed.
    """

    def __init__(
        self,
        state: ServiceState,
        *,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.state = state
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = SenderLease(
            state.engine, self.holder, ttl=lease_seconds, margin=min(1.0, lease_seconds / 4)
        )
        self.renew_seconds = renew_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._term = 0  # how many times this process took the lease
        self._recovered_term = -1
        self._retry_at: dict[str, float] = {}
        self._senders_of: dict[str, list[tuple[OrderSender, str]]] = {}
        self._finished = threading.Condition()

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the keeper and the worker (once; later calls do nothing)."""
        with self._start_lock:
            if self._threads or self._stop.is_set():
                return
            for name, target in (("keeper", self._keep), ("worker", self._work)):
                thread = threading.Thread(target=target, name=f"poise-sender-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Stop both threads and give the lease up, so another process takes over at once."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=SEND_TIMEOUT + 10)
        for plan_id in list(self._senders_of):
            self._forget(plan_id)
        if self._threads:
            try:
                self.lease.release()
            except Exception:  # the store is gone: the lease runs out by itself
                log.warning("could not release the order-sender lease", exc_info=True)

    @property
    def leader(self) -> bool:
        """Whether this process holds the sender lease now."""
        return self.lease.held

    def wake(self) -> None:
        """Work the queue now (a request was added)."""
        self._wake.set()

    def wait(self, plan_id: str, timeout: float) -> SendRequestRow | None:
        """Wait until plan ``plan_id``'s request is done or failed, or ``timeout`` seconds
        passed and the sender has finished a pass over it since it was queued (so the answer
        shows at least one round of sending, as a synchronous send would); at most
        ``timeout + STALL_SECONDS`` when no sender works it. Returns the request as it then
        stands."""
        started = time.monotonic()
        while True:
            row = self._request(plan_id)
            if row is None or row.state == "done" or row.error:
                return row
            waited = time.monotonic() - started
            worked = row.finished_at is not None or waited >= timeout + STALL_SECONDS
            if waited >= timeout and worked:
                return row
            with self._finished:
                self._finished.wait(0.05)

    # -- threads ---------------------------------------------------------------------------

    def _keep(self) -> None:
        held = False
        while not self._stop.is_set():
            try:
                got = self.lease.acquire()
            except Exception:
                log.warning("could not renew the order-sender lease", exc_info=True)
                got = False
            if got and not held:
                self._term += 1
                log.info("this process (%s) now sends orders", self.holder)
                self._wake.set()
            elif held and not got:
                log.warning("this process (%s) lost the order-sender lease", self.holder)
            held = got
            self._stop.wait(self.renew_seconds)

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._stop.is_set() or not self.lease.held:
                continue
            try:
                term = self._term
                if self._recovered_term != term:
                    self._recover_all()
                    self._recovered_term = term
                self._drain()
            except _LeaseLost:
                log.warning("stopped sending: the order-sender lease was lost")
            except Exception:
                log.exception("the order sender failed; it tries again")
                self._stop.wait(1.0)

    def _guard(self) -> None:
        if self._stop.is_set() or not self.lease.held:
            raise _LeaseLost()

    # -- the queue -------------------------------------------------------------------------

    def _request(self, plan_id: str) -> SendRequestRow | None:
        with read_session(self.state.engine) as session:
            return session.get(SendRequestRow, plan_id)

    def _pending(self) -> list[SendRequestRow]:
        with read_session(self.state.engine) as session:
            return list(
                session.scalars(
                    select(SendRequestRow)
                    .where(SendRequestRow.state == "pending")
                    .order_by(SendRequestRow.requested_at)
                )
            )

    def _recover_all(self) -> None:
        """Look up every order of every unfinished request that may have reached a venue."""
        for request in self._pending():
            self._guard()
            try:
                for sender, key in self._senders(request):
                    sender.recover(key)
            except _LeaseLost:
                raise
            except Exception as exc:
                log.warning("recovering plan %s failed: %s", request.plan_id, exc)

    def _drain(self) -> None:
        for request in self._pending():
            self._guard()
            if self._retry_at.get(request.plan_id, 0.0) > time.monotonic():
                continue
            try:
                self._send(request)
            except _LeaseLost:
                raise
            except Exception as exc:
                log.warning("sending plan %s failed: %s", request.plan_id, exc)
                self._retry_at[request.plan_id] = time.monotonic() + RETRY_SECONDS
                self._forget(request.plan_id)
                self._finish(request.plan_id, done=False, error=str(exc) or type(exc).__name__)

    def _principal(self, request: SendRequestRow) -> Principal:
        return Principal(request.user_id, request.firm_id, request.actor, "advisor", None)

    def _senders(self, request: SendRequestRow) -> list[tuple[OrderSender, str]]:
        """One sender per connection the plan's orders go to, with its plan key (made once per
        request and kept until it is done)."""
        made = self._senders_of.get(request.plan_id)
        if made is None:
            made = self._senders_of[request.plan_id] = self._make_senders(request)
        return made

    def _forget(self, plan_id: str) -> None:
        for sender, _key in self._senders_of.pop(plan_id, []):
            engine = getattr(sender.venue, "engine", None)  # the paper venue's own database
            if engine is not None:
                engine.dispose()

    def _make_senders(self, request: SendRequestRow) -> list[tuple[OrderSender, str]]:
        digest = plan_digest({"id": request.plan_id})
        store = SqlOrderStore(
            self.state.engine, audit_fills(request.firm_id, request.actor, request.plan_id)
        )
        with self.state.read(self._principal(request)) as scope:
            plan = scope.get(PlanRow, request.plan_id)
            trades = plan_trades(scope, plan)
            prices = {t.symbol: t.price for t in trades}
            groups = split_orders(
                orders_for_trades(trades, digest), request.routes, request.connection
            )
            out = []
            for connection_id in groups:
                connection = scope.get(BrokerConnection, connection_id)
                venue = venue_for(self.state, connection, prices)
                sender = OrderSender(
                    store,
                    venue,
                    rules_for(venue),
                    poll_interval=POLL_INTERVAL,
                    timeout=PASS_SECONDS,
                    guard=self._guard,
                )
                out.append((sender, group_key(digest, connection_id, request.connection)))
        return out

    def _send(self, request: SendRequestRow) -> None:
        from poise.service._plans import TRANSITIONS, set_status

        intents: list[Intent] = []
        for sender, key in self._senders(request):
            intents.extend(sender.run(key))
        status = status_after(intents)
        principal = self._principal(request)
        with self.state.write(principal) as scope:
            plan = scope.get(PlanRow, request.plan_id)
            if status is not None and status in TRANSITIONS.get(plan.status, frozenset()):
                set_status(scope, plan, status, principal)
        done = bool(intents) and all(i.state.ended for i in intents)
        if done:
            self._forget(request.plan_id)
            self._retry_at.pop(request.plan_id, None)
        else:
            self._retry_at[request.plan_id] = time.monotonic() + FOLLOW_SECONDS
        self._finish(request.plan_id, done=done, error="")

    def _finish(self, plan_id: str, *, done: bool, error: str) -> None:
        values: dict[str, Any] = {"error": error[:500], "finished_at": datetime.now(UTC)}
        if done:
            values.update(state="done")
        with write_session(self.state.engine) as session:
            session.execute(
                update(SendRequestRow).where(SendRequestRow.plan_id == plan_id).values(**values)
            )
        with self._finished:
            self._finished.notify_all()
