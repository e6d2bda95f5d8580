"""The order sender: plan → intents → venue → fills → book, crash-safe and never twice.

The rules, in the order they are applied:

1. Intents are committed (state ``new``) before anything is sent; each carries its plan's
   deterministic ``client_order_id``.
2. On every start, every intent that may have reached the venue (``submitting``, ``submitted``,
   ``partially_filled``, ``unknown``) is looked up by its id first, and what the venue says is
   adopted.
3. An intent moves to ``submitting`` (committed) before its send. A send that fails without an
   answer is followed by a look-up by id; only when the venue says it has no such order is it
   sent again, under the same id (a venue refuses a repeated id, so it can never be doubled).
   A "duplicate" answer means the first send got there: it is looked up and adopted. When the
   venue cannot say, the intent is ``unknown`` and is never sent again; a person decides.
4. Sells go first; buys are sent once every sell has ended, sized to the cash the book then
   has (see :mod:`poise.execute._checks`).
   Before anything of a plan is sent, a venue that quotes prices (:class:`QuoteSource`) is
   asked once for the plan's symbols: a quote newer than the plan's day becomes the reference
   price of that symbol's unsent orders (slippage is measured, and buys sized, against it);
   without one (or when the venue cannot say) the plan's price stays.
5. Fills are read by polling the venue. New fills, the book's lots and cash and the intent's
   state are written in one transaction, keyed by the venue's execution id.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

from poise._errors import BrokerError, DataError
from poise.execute._checks import PreTradeRules, refusal, size_buys
from poise.execute._failpoint import failpoint
from poise.execute._orders import Intent, IntentEnded, Order, OrderState
from poise.execute._store import OrderStore, PlanRecord
from poise.execute._venue import (
    DuplicateOrderError,
    OrderRefusedError,
    Venue,
    VenueOrder,
    VenueUnavailableError,
)
from poise.model import Fill, Holdings, Side

__all__ = ["OrderSender", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class OrderSender:
    """Send plans' orders to one venue through one store.

    Parameters
    ----------
    store : OrderStore
        Where intents, fills and books live.
    venue : Venue
        Where orders go.
    rules : PreTradeRules
        Checks and buy sizing.
    poll_interval : float
        Seconds between look-ups while orders are open.
    timeout : float
        Seconds to wait for a plan's orders to end before giving back control (they stay
        open; ``recover`` picks them up).
    send_attempts : int
        Sends of one order (same id) while the venue answers nothing and then has no order.
    clock, sleep : callables
        Injected for tests.
    guard : callable, optional
        Called before every send and every look-up round; it raises to stop the sender (the
        service's sender raises when this process no longer holds the sender lease). What
        was committed stays; whoever sends next recovers by id first.
    """

    def __init__(
        self,
        store: OrderStore,
        venue: Venue,
        rules: PreTradeRules | None = None,
        *,
        poll_interval: float = 0.05,
        timeout: float = 60.0,
        send_attempts: int = 3,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.venue = venue
        self.rules = rules or PreTradeRules()
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.send_attempts = send_attempts
        self.clock = clock
        self.sleep = sleep
        self.guard = guard or (lambda: None)
        self._books: dict[str, str] = {}
        self._records: dict[str, PlanRecord] = {}

    # -- plans -----------------------------------------------------------------------------

    def add_plan(
        self, plan: str, book: str, as_of: date, orders: Sequence[Order], holdings: Holdings
    ) -> bool:
        """Commit the plan's intents (state ``new``) unless the store already has the plan."""
        now = self.clock()
        record = PlanRecord(plan, book, self.venue.name, as_of, now)
        intents = [Intent(plan, o, self.venue.name, decided_at=now) for o in orders]
        return self.store.add_plan(record, intents, holdings)

    def run(self, plan: str) -> list[Intent]:
        """Recover, then send the plan's sells, wait for them, size and send its buys, wait.

        Returns the plan's intents as they stand at the end (ended unless the venue could not
        say or the timeout passed).
        """
        self.recover(plan)
        self._refresh_references(plan)
        intents = self.store.intents(plan)
        sells = [i for i in intents if i.order.side is Side.SELL]
        self._send_all(sells)
        self._await(plan, {i.client_order_id for i in sells})
        sells = [i for i in self.store.intents(plan) if i.order.side is Side.SELL]
        if all(i.state.ended for i in sells):
            self._size_buys(plan)
            buys = [i for i in self.store.intents(plan) if i.order.side is Side.BUY]
            self._send_all(buys)
            self._await(plan, {i.client_order_id for i in buys})
        return self.store.intents(plan)

    def recover(self, plan: str | None = None) -> list[Intent]:
        """Look up every intent (of ``plan``, or all) sent to this venue that may have reached
        it, and adopt what the venue says."""
        out = []
        for intent in self.store.intents(plan):
            if intent.venue == self.venue.name and intent.state.may_be_at_venue:
                out.append(self._look_up(intent))
        return out

    def cancel_all(self, plans: Collection[str] | None = None) -> int:
        """The kill switch: cancel every open order at the venue and every unsent intent (of
        ``plans`` only, when given: a firm's plans in the service).

        Unsent intents go first, so that a sender working at the same time (the service's,
        in any process) cannot send one of them once its sells are cancelled; then every
        order that may be at the venue, read again. Returns how many intents it stopped.
        """

        def mine() -> list[Intent]:
            return [
                i
                for i in self.store.intents()
                if i.venue == self.venue.name and (plans is None or i.plan in plans)
            ]

        stopped: set[str] = set()
        for intent in mine():
            if intent.state is OrderState.NEW:
                self.cancel(intent)
                stopped.add(intent.client_order_id)
        for intent in mine():
            if intent.state.may_be_at_venue:
                self.cancel(intent)
                stopped.add(intent.client_order_id)
        return len(stopped)

    def cancel(self, intent: Intent) -> Intent:
        """Cancel one intent: an unsent one (``new``) becomes ``cancelled`` here; one that may
        be at the venue is cancelled there and looked up (what already filled stays filled).

        An intent read as ``new`` is cancelled here only if it is still ``new`` in the store
        (a sender may have just taken it); otherwise it is cancelled at the venue.

        Returns the intent as it now stands (the same object when there was nothing to
        cancel: it had ended, or its send is still under way and the venue has not seen it).
        """
        if intent.state is OrderState.NEW:
            moved = intent.moved(OrderState.CANCELLED, reason="cancelled by user")
            try:
                self.store.save(moved, expect=OrderState.NEW)
                return moved
            except BrokerError:  # it moved on meanwhile: as it stands now
                intent = self._stored(intent)
        if intent.state.may_be_at_venue:
            self.venue.cancel(intent.client_order_id)
            return self._look_up(intent)
        return intent

    # -- steps -----------------------------------------------------------------------------

    def _send_all(self, intents: Sequence[Intent]) -> None:
        pending = [i for i in intents if i.state in (OrderState.NEW, OrderState.SUBMITTING)]
        if not pending:
            return
        closed = self.rules.require_open_market and not self.venue.market_open()
        today = self.clock().date()
        for intent in pending:
            if intent.state is OrderState.NEW:
                why = "the market is closed" if closed else None
                why = why or refusal(intent.order, self.rules, today=today)
                why = why or self._short_refusal(intent)
                try:
                    if why is not None:
                        self.store.save(intent.moved(OrderState.REJECTED, reason=why))
                        continue
                    intent = intent.moved(OrderState.SUBMITTING, sent_at=self.clock())
                    self.store.save(intent)
                except IntentEnded:  # cancelled meanwhile (the kill switch): never sent
                    continue
                failpoint("after_intent_commit")
            self._send(intent)

    def _send(self, intent: Intent) -> None:
        for attempt in range(self.send_attempts):
            self.guard()
            failpoint("before_send")
            try:
                answer = self.venue.submit(intent.order)
            except OrderRefusedError as exc:
                ack = self.clock()
                self.store.save(
                    intent.moved(OrderState.REJECTED, reason=exc.reason, acknowledged_at=ack)
                )
                return
            except DuplicateOrderError:
                self._look_up(intent, after_send=True)
                return
            except VenueUnavailableError as exc:
                try:
                    found = self.venue.lookup(intent.client_order_id)
                except VenueUnavailableError:
                    self.store.save(intent.moved(OrderState.UNKNOWN, reason=f"venue: {exc}"))
                    return
                if found is None:
                    self.sleep(self.poll_interval * (2**attempt))
                    continue
                answer = found
            failpoint("after_send")
            # cancelled and looked up meanwhile (IntentEnded): that look-up stands
            with contextlib.suppress(IntentEnded):
                self._adopt(intent, answer, acknowledged_at=self.clock())
            return
        self.store.save(replace(intent, reason="the venue did not take the order; run recover"))

    def _look_up(self, intent: Intent, *, after_send: bool = False) -> Intent:
        """Ask the venue about ``intent`` and adopt its answer; when the stored intent has
        ended meanwhile (the kill switch in another process looked it up after cancelling),
        the stored one stands: that later look-up holds every fill this answer could."""
        try:
            return self._look_up_once(intent, after_send=after_send)
        except IntentEnded:
            return self._stored(intent)

    def _stored(self, intent: Intent) -> Intent:
        for stored in self.store.intents(intent.plan):
            if stored.client_order_id == intent.client_order_id:
                return stored
        return intent

    def _look_up_once(self, intent: Intent, *, after_send: bool) -> Intent:
        try:
            found = self.venue.lookup(intent.client_order_id)
        except VenueUnavailableError as exc:
            if intent.state is OrderState.SUBMITTING and not after_send:
                return intent
            moved = intent.moved(OrderState.UNKNOWN, reason=f"venue: {exc}")
            self.store.save(moved)
            return moved
        if found is None:
            if intent.state is OrderState.SUBMITTING and not after_send:
                return intent  # never reached the venue: it is sent (same id) by run()
            moved = intent.moved(OrderState.UNKNOWN, reason="the venue has no such order")
            self.store.save(moved)
            return moved
        ack = self.clock() if after_send else None
        return self._adopt(intent, found, acknowledged_at=ack)

    def _adopt(
        self, intent: Intent, answer: VenueOrder, *, acknowledged_at: datetime | None
    ) -> Intent:
        order = intent.order
        fills = [
            Fill(
                order.account,
                order.symbol,
                order.side,
                f.quantity,
                f.price,
                f.filled_at,
                0.0,
                f.execution_id,
                order.client_order_id,
            )
            for f in answer.fills
        ]
        filled = sum(f.quantity for f in fills)
        state = answer.status
        if filled + 1e-9 < answer.filled_quantity and state.ended:
            state = OrderState.PARTIALLY_FILLED  # executions not all reported yet: poll again
        average = sum(f.value for f in fills) / filled if filled > 0 else None
        moved = intent.moved(
            state,
            acknowledged_at=intent.acknowledged_at or acknowledged_at,
            venue_order_id=answer.venue_order_id,
            filled_quantity=filled,
            average_price=average,
            first_fill_at=min((f.filled_at for f in fills), default=None),
            last_fill_at=max((f.filled_at for f in fills), default=None),
            reason=answer.reason or intent.reason,
        )
        if filled > intent.filled_quantity + 1e-12:
            failpoint("before_fill_commit")
            self.store.record_fills(moved, fills)
        else:
            self.store.save(moved)
        return moved

    def _await(self, plan: str, ids: set[str]) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            open_ = [
                i
                for i in self.store.intents(plan)
                if i.client_order_id in ids and i.state.may_be_at_venue
            ]
            if not open_ or time.monotonic() >= deadline:
                return
            self.sleep(self.poll_interval)
            self.guard()
            for intent in open_:
                self._look_up(intent)

    def _refresh_references(self, plan: str) -> None:
        """A quote newer than the plan's day becomes the reference price of unsent orders."""
        from poise.data import QuoteSource

        if not isinstance(self.venue, QuoteSource):
            return
        new = [i for i in self.store.intents(plan) if i.state is OrderState.NEW]
        if not new:
            return
        record = self._record(plan)
        if record is None:
            return
        try:
            quotes = self.venue.latest_quote(sorted({i.order.symbol for i in new}))
        except (BrokerError, DataError):  # no quote: the plan's price stays the reference
            return
        for intent in new:
            quote = quotes.get(intent.order.symbol)
            if quote is None or not quote.price > 0 or quote.at.date() <= record.as_of:
                continue
            if quote.price != intent.order.reference_price:
                order = replace(intent.order, reference_price=quote.price)
                self.store.save(replace(intent, order=order))

    def _record(self, plan: str) -> PlanRecord | None:
        if plan not in self._records:
            self._records.update((r.plan, r) for r in self.store.plans())
        return self._records.get(plan)

    def _book(self, plan: str) -> str:
        if plan not in self._books:
            self._books.update((r.plan, r.book) for r in self.store.plans())
        return self._books[plan]

    def _short_refusal(self, intent: Intent) -> str | None:
        """A sell of more shares than the book holds, net of sells already sent, is refused."""
        o = intent.order
        if o.side is not Side.SELL:
            return None
        book = self._book(intent.plan)
        held = self.store.holdings(book).quantities().get((o.account, o.symbol), 0.0)
        plans = [intent.plan] if book == intent.plan else None  # a plan file is its own book
        if plans is None:
            self._books.update((r.plan, r.book) for r in self.store.plans())
            plans = [p for p, b in self._books.items() if b == book]
        for plan in plans:
            for other in self.store.intents(plan):
                if (
                    other.order.side is Side.SELL
                    and other.state.may_be_at_venue
                    and (other.order.account, other.order.symbol) == (o.account, o.symbol)
                ):
                    held -= other.order.quantity - other.filled_quantity
        if o.quantity > held + 1e-9:
            return f"selling {o.quantity:g} {o.symbol} would go short: {max(held, 0.0):g} held"
        return None

    def _size_buys(self, plan: str) -> None:
        intents = self.store.intents(plan)
        cash = self.store.holdings(self._book(plan)).cash
        factor = 1.0 + self.rules.price_buffer_bps * 1e-4
        available = {a: c - self.rules.cash_reserve for a, c in cash.items()}
        for i in intents:
            if i.order.side is Side.BUY and i.state.may_be_at_venue:
                left = (i.order.quantity - i.filled_quantity) * i.order.reference_price * factor
                available[i.order.account] = available.get(i.order.account, 0.0) - left
        new = [i for i in intents if i.order.side is Side.BUY and i.state is OrderState.NEW]
        sized = size_buys([i.order for i in new], available, self.rules)
        for intent in new:
            quantity = sized[intent.client_order_id]
            if quantity != intent.order.quantity:
                order = replace(intent.order, quantity=quantity)
                note = f"resized from {intent.order.quantity:g} to {quantity:g} to fit the cash"
                try:
                    self.store.save(replace(intent, order=order, reason=note))
                except IntentEnded:  # cancelled meanwhile (the kill switch): it stays so
                    continue
