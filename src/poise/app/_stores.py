"""Where use cases find households, holdings and transactions: two small protocols, with an
in-memory implementation for fast tests (the store's SQLAlchemy implementation is
:class:`poise.store.SqlHouseholdStore` / :class:`poise.store.SqlLedgerStore`).

A store is already scoped to one firm: it sees that firm's households and nothing else, and
answers :class:`NotFoundError` for any other id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from poise._errors import PoiseError
from poise.model import Holdings, Household
from poise.tax import Transaction

__all__ = [
    "HoldingsRecord",
    "HouseholdRecord",
    "HouseholdStore",
    "InMemoryHouseholdStore",
    "InMemoryLedgerStore",
    "LedgerStore",
    "NotFoundError",
    "StoredRequest",
    "stored_request",
]


class NotFoundError(PoiseError, LookupError):
    """No such object for this caller (it does not exist, or belongs to another firm)."""


@dataclass(frozen=True, slots=True)
class HouseholdRecord:
    """A stored household: its id, parsed model, the document it was parsed from (the TOML's
    tables as JSON), its own prices source if any, and a version bumped on every change."""

    id: str
    household: Household
    document: Mapping[str, Any]
    prices: str | None
    version: int


@dataclass(frozen=True, slots=True)
class HoldingsRecord:
    """One holdings snapshot: ``snapshot`` identifies it (a new import makes a new one)."""

    snapshot: int
    version: int
    holdings: Holdings


@runtime_checkable
class HouseholdStore(Protocol):
    """The households of one firm."""

    def get(self, household_id: str) -> HouseholdRecord:
        """The household; raises :class:`NotFoundError` for an unknown id."""
        ...

    def ids(self) -> Sequence[str]:
        """Every household id, oldest first."""
        ...


@runtime_checkable
class LedgerStore(Protocol):
    """Holdings snapshots and transactions of one firm's households."""

    def holdings(self, household_id: str) -> HoldingsRecord | None:
        """The latest snapshot, or None when none was imported."""
        ...

    def save_holdings(self, household_id: str, holdings: Holdings) -> HoldingsRecord:
        """Store a new snapshot (the previous ones are kept)."""
        ...

    def transactions(self, household_id: str) -> tuple[Transaction, ...]:
        """Every recorded transaction, in date order."""
        ...

    def add_transactions(self, household_id: str, transactions: Iterable[Transaction]) -> int:
        """Record transactions; returns how many."""
        ...


@dataclass
class InMemoryHouseholdStore:
    """A :class:`HouseholdStore` in a dict (tests)."""

    records: dict[str, HouseholdRecord] = field(default_factory=dict)

    def add(
        self,
        household: Household,
        document: Mapping[str, Any] | None = None,
        prices: str | None = None,
    ) -> HouseholdRecord:
        record = HouseholdRecord(uuid.uuid4().hex, household, dict(document or {}), prices, 1)
        self.records[record.id] = record
        return record

    def get(self, household_id: str) -> HouseholdRecord:
        try:
            return self.records[household_id]
        except KeyError:
            raise NotFoundError(f"no household {household_id!r}") from None

    def ids(self) -> Sequence[str]:
        return list(self.records)


@dataclass
class InMemoryLedgerStore:
    """A :class:`LedgerStore` in dicts (tests)."""

    snapshots: dict[str, list[HoldingsRecord]] = field(default_factory=dict)
    ledger: dict[str, list[Transaction]] = field(default_factory=dict)
    _next: int = 1

    def holdings(self, household_id: str) -> HoldingsRecord | None:
        found = self.snapshots.get(household_id)
        return found[-1] if found else None

    def save_holdings(self, household_id: str, holdings: Holdings) -> HoldingsRecord:
        history = self.snapshots.setdefault(household_id, [])
        record = HoldingsRecord(self._next, len(history) + 1, holdings)
        self._next += 1
        history.append(record)
        return record

    def transactions(self, household_id: str) -> tuple[Transaction, ...]:
        return tuple(sorted(self.ledger.get(household_id, ()), key=lambda t: t.date))

    def add_transactions(self, household_id: str, transactions: Iterable[Transaction]) -> int:
        added = list(transactions)
        self.ledger.setdefault(household_id, []).extend(added)
        return len(added)


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A rebalance request built from stored state, with the records it came from (a door
    keeps ``household.version`` and ``holdings.snapshot`` to tell later whether they
    changed)."""

    request: Any  # RebalanceRequest (imported lazily: the stores do not need the planner)
    household: HouseholdRecord
    holdings: HoldingsRecord


def stored_request(
    households: HouseholdStore,
    ledger: LedgerStore,
    household_id: str,
    prices: Any,
    *,
    prices_source: str = "prices",
    as_of: Any = None,
    flows: Sequence[Any] = (),
    force: bool = False,
) -> StoredRequest:
    """The :class:`~poise.app.RebalanceRequest` for a stored household: its latest holdings
    snapshot and its recorded transactions (for the wash-sale rule).

    Raises
    ------
    NotFoundError
        No such household in the store.
    InputError
        No holdings were imported for it (``field`` ``holdings``).
    """
    from poise._errors import InputError
    from poise.app._rebalance import RebalanceRequest

    record = households.get(household_id)
    held = ledger.holdings(household_id)
    if held is None:
        raise InputError("no holdings imported for this household yet", field="holdings")
    txs = ledger.transactions(household_id)
    request = RebalanceRequest(
        household=record.household,
        holdings=held.holdings,
        prices=prices,
        as_of=as_of,
        flows=tuple(flows),
        force=force,
        transactions=txs or None,
        prices_source=prices_source,
        holdings_source="holdings",
    )
    return StoredRequest(request, record, held)
