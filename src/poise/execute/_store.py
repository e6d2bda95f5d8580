"""Where order intents, fills and the book they move are kept: a protocol and an in-memory store.

The SQL implementation (``poise.store``) keeps the same promises durably:

- ``add_plan`` is idempotent: a plan's intents are written once, in one transaction, before any
  of them is sent;
- ``save`` commits an intent's new state (checked against the stored one) before it returns;
- ``record_fills`` writes the fills the store has not seen (keyed by execution id), moves the
  book's lots and cash and saves the intent, all in one transaction: a fill is recorded once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from poise._errors import BrokerError
from poise.execute._apply import apply_fills_with_basis
from poise.execute._orders import Intent, OrderState, check_transition
from poise.model import Fill, Holdings
from poise.tax import Transaction

__all__ = ["MemoryOrderStore", "OrderStore", "PlanRecord", "as_transaction"]


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A plan being executed.

    ``plan`` is its digest (the middle of its orders' ids); ``book`` names the holdings its
    fills move (a household, or the plan itself for a plan file); ``venue`` where it is sent.
    """

    plan: str
    book: str
    venue: str
    as_of: date
    created_at: datetime


class OrderStore(Protocol):
    """Durable order intents, fills and books (see the module docstring for the promises)."""

    def add_plan(self, record: PlanRecord, intents: Sequence[Intent], book: Holdings) -> bool:
        """Store the plan and its intents (state new) unless it is there; ``book`` seeds the
        book's holdings if the store has none. True when the plan was new."""
        ...

    def plans(self) -> list[PlanRecord]:
        """Every plan, oldest first."""
        ...

    def intents(self, plan: str | None = None) -> list[Intent]:
        """The intents of one plan (or all), in plan then leg order."""
        ...

    def save(self, intent: Intent, *, expect: OrderState | None = None) -> None:
        """Commit the intent's new state and fields; ``BrokerError`` on a bad transition, or
        when ``expect`` is given and the stored state is another (compare and set)."""
        ...

    def record_fills(self, intent: Intent, fills: Sequence[Fill]) -> int:
        """In one transaction: add the fills not yet recorded, apply them to the book, save the
        intent. Returns how many fills were new."""
        ...

    def fills(self, plan: str | None = None) -> list[Fill]:
        """Recorded fills, in the order they were recorded."""
        ...

    def holdings(self, book: str) -> Holdings:
        """The book's lots and cash after every recorded fill."""
        ...

    def transactions(self, plan: str | None = None) -> list[Transaction]:
        """Recorded fills as transactions (a sell with the basis it disposed of)."""
        ...


class MemoryOrderStore:
    """An :class:`OrderStore` in memory: for tests and previews (nothing survives the process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, PlanRecord] = {}
        self._intents: dict[str, Intent] = {}
        self._fills: list[Fill] = []
        self._bases: list[float | None] = []
        self._seen: set[str] = set()
        self._books: dict[str, Holdings] = {}

    def add_plan(self, record: PlanRecord, intents: Sequence[Intent], book: Holdings) -> bool:
        with self._lock:
            if record.plan in self._plans:
                return False
            self._plans[record.plan] = record
            for intent in intents:
                self._intents[intent.client_order_id] = intent
            self._books.setdefault(record.book, book)
            return True

    def plans(self) -> list[PlanRecord]:
        with self._lock:
            return list(self._plans.values())

    def intents(self, plan: str | None = None) -> list[Intent]:
        with self._lock:
            out = [i for i in self._intents.values() if plan is None or i.plan == plan]
        return sorted(out, key=lambda i: (i.plan, i.order.leg))

    def _check(self, intent: Intent, expect: OrderState | None = None) -> None:
        stored = self._intents.get(intent.client_order_id)
        if stored is None:
            raise BrokerError(f"no order intent {intent.client_order_id}")
        if expect is not None and stored.state is not expect:
            raise BrokerError(f"order {intent.client_order_id} is {stored.state}, not {expect}")
        check_transition(stored.state, intent.state)

    def save(self, intent: Intent, *, expect: OrderState | None = None) -> None:
        with self._lock:
            self._check(intent, expect)
            self._intents[intent.client_order_id] = intent

    def record_fills(self, intent: Intent, fills: Sequence[Fill]) -> int:
        with self._lock:
            self._check(intent)
            new = [f for f in fills if f.execution_id not in self._seen]
            book = self._plans[intent.plan].book
            self._books[book], bases = apply_fills_with_basis(self._books[book], new)
            self._fills.extend(new)
            self._bases.extend(bases)
            self._seen.update(f.execution_id for f in new)
            self._intents[intent.client_order_id] = intent
            return len(new)

    def fills(self, plan: str | None = None) -> list[Fill]:
        with self._lock:
            if plan is None:
                return list(self._fills)
            ids = {i.client_order_id for i in self._intents.values() if i.plan == plan}
            return [f for f in self._fills if f.client_order_id in ids]

    def holdings(self, book: str) -> Holdings:
        with self._lock:
            return self._books.get(book, Holdings())

    def transactions(self, plan: str | None = None) -> list[Transaction]:
        mine = set(map(id, self.fills(plan)))
        with self._lock:
            pairs = list(zip(self._fills, self._bases, strict=True))
        return [as_transaction(f, b) for f, b in pairs if id(f) in mine]


def as_transaction(fill: Fill, basis: float | None) -> Transaction:
    """A fill as a row of the transactions CSV: the venue's fill date and price."""
    day = fill.filled_at.date()
    return Transaction(day, fill.account, fill.symbol, fill.side, fill.quantity, fill.price, basis)
