"""Tenancy in one place: every read and write of a firm's objects goes through a
:class:`FirmScope`, which adds ``firm_id = caller's firm`` to each query and answers
:class:`~poise.app.NotFoundError` (never "forbidden") for another firm's object, so an id
says nothing about whether it exists elsewhere. The store's implementations of the
:mod:`poise.app` protocols (:class:`SqlHouseholdStore`, :class:`SqlLedgerStore`) sit on it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from poise.app import HoldingsRecord, HouseholdRecord, NotFoundError
from poise.io import household_from_dict
from poise.model import CASH, Holdings, Household, Lot, Side
from poise.store._audit import append_event
from poise.store._models import (
    AuditEvent,
    BrokerConnection,
    CashBalance,
    Firm,
    HoldingsSnapshot,
    HouseholdRow,
    IdempotencyRecord,
    LedgerTransaction,
    LotRow,
    PlanRow,
    PriceSet,
)
from poise.tax import Transaction

__all__ = [
    "BookRecord",
    "FirmScope",
    "SqlHouseholdStore",
    "SqlLedgerStore",
    "is_parsed",
    "parse_household",
    "positions_of",
    "read_book",
]

FirmOwned = TypeVar("FirmOwned", HouseholdRow, PlanRow, PriceSet, BrokerConnection, AuditEvent)

_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[str, int], Household] = OrderedDict()
_cache_lock = threading.Lock()


def is_parsed(household_id: str, version: int) -> bool:
    """Whether :func:`parse_household` holds this version already (its document need not
    be read)."""
    with _cache_lock:
        return (household_id, version) in _cache


def parse_household(household_id: str, version: int, document: Mapping[str, Any]) -> Household:
    """The household model of a stored document, parsed once per (id, version)."""
    key = (household_id, version)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    household = household_from_dict(document, source="household")
    with _cache_lock:
        _cache[key] = household
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return household


def positions_of(holdings: Holdings) -> dict[str, Any]:
    """Quantities summed per account and symbol, and cash per account (JSON-ready)."""
    quantities: dict[str, dict[str, float]] = {}
    for (account, symbol), quantity in holdings.quantities().items():
        quantities.setdefault(account, {})[symbol] = quantity
    return {"quantities": quantities, "cash": dict(holdings.cash)}


class FirmScope:
    """One firm's view of the store, inside one session (one transaction).

    Parameters
    ----------
    session : Session
        The open session; the caller commits or rolls back.
    firm_id : int
        The caller's firm: the only one whose rows this scope reads or writes.
    actor : str
        Who acts (an e-mail address, or ``admin-cli``), for the audit trail.
    """

    def __init__(self, session: Session, firm_id: int, actor: str) -> None:
        self.session = session
        self.firm_id = firm_id
        self.actor = actor
        self._households: set[str] = set()

    def check_household(self, household_id: str) -> str:
        """``household_id`` if it is this firm's household (checked once per scope);
        :class:`NotFoundError` otherwise."""
        if household_id not in self._households:
            found = self.session.scalar(
                select(HouseholdRow.id).where(
                    HouseholdRow.firm_id == self.firm_id, HouseholdRow.id == household_id
                )
            )
            if found is None:
                raise NotFoundError(f"no household {household_id}")
            self._households.add(household_id)
        return household_id

    def select(self, model: type[FirmOwned]) -> Select[FirmOwned]:
        """``SELECT model WHERE firm_id = <this firm>``."""
        return select(model).where(model.firm_id == self.firm_id)

    def get(self, model: type[FirmOwned], object_id: str) -> FirmOwned:
        """The firm's object with ``object_id``; :class:`NotFoundError` for an unknown id and
        for another firm's."""
        key = getattr(model, "id")  # noqa: B009  (audit events have none: never fetched by id)
        found = self.session.scalar(self.select(model).where(key == object_id))
        if found is None:
            raise NotFoundError(
                f"no {model.__tablename__.rstrip('s').replace('_', ' ')} {object_id}"
            )
        return found

    def page(
        self, query: Select[FirmOwned], *, limit: int, offset: int
    ) -> tuple[list[FirmOwned], int]:
        """One page of ``query``'s rows and the total count."""
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(self.session.scalars(query.limit(limit).offset(offset)))
        return rows, int(total)

    def add(self, obj: FirmOwned) -> FirmOwned:
        """Add a new object to this firm."""
        obj.firm_id = self.firm_id
        self.session.add(obj)
        self.session.flush()
        return obj

    def firm(self) -> Firm:
        firm = self.session.get(Firm, self.firm_id)
        if firm is None:  # a token of a deleted firm
            raise NotFoundError("no such firm")
        return firm

    def audit(self, action: str, obj: str, detail: Mapping[str, Any] | None = None) -> None:
        """Append an audit event in this transaction (ids, counts and digests only)."""
        append_event(
            self.session,
            actor=self.actor,
            action=action,
            obj=obj,
            detail=detail or {},
            firm_id=self.firm_id,
        )

    def delete_household(self, household_id: str) -> None:
        """Remove a household and everything held about it (snapshots, lots, cash,
        transactions, accounts, plans and their trades, stored responses)."""
        row = self.get(HouseholdRow, household_id)
        snapshots = select(HoldingsSnapshot.id).where(HoldingsSnapshot.household_id == row.id)
        self.session.execute(delete(LotRow).where(LotRow.snapshot_id.in_(snapshots)))
        self.session.execute(delete(CashBalance).where(CashBalance.snapshot_id.in_(snapshots)))
        # stored first responses (Idempotency-Key) hold plans of this household
        self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.path.like(f"/households/{row.id}/%"))
        )
        self.session.delete(row)
        self.session.flush()


class SqlHouseholdStore:
    """:class:`poise.app.HouseholdStore` over a :class:`FirmScope`."""

    def __init__(self, scope: FirmScope) -> None:
        self.scope = scope

    def row(self, household_id: str) -> HouseholdRow:
        row = self.scope.get(HouseholdRow, household_id)
        self.scope._households.add(row.id)
        return row

    def get(self, household_id: str) -> HouseholdRecord:
        row = self.row(household_id)
        household = parse_household(row.id, row.version, row.document)
        return HouseholdRecord(row.id, household, row.document, row.prices, row.version)

    def ids(self) -> Sequence[str]:
        query = self.scope.select(HouseholdRow).order_by(HouseholdRow.created_at, HouseholdRow.id)
        return [row.id for row in self.scope.session.scalars(query)]


class SqlLedgerStore:
    """:class:`poise.app.LedgerStore` over a :class:`FirmScope`: holdings snapshots (every
    import kept) and transactions."""

    def __init__(self, scope: FirmScope, user_id: int | None = None) -> None:
        self.scope = scope
        self.user_id = user_id

    def _household(self, household_id: str) -> str:
        return self.scope.check_household(household_id)

    def latest_snapshot(self, household_id: str) -> HoldingsSnapshot | None:
        hid = self._household(household_id)
        return self.scope.session.scalar(
            select(HoldingsSnapshot)
            .where(HoldingsSnapshot.household_id == hid)
            .order_by(HoldingsSnapshot.version.desc())
            .limit(1)
        )

    def holdings(self, household_id: str) -> HoldingsRecord | None:
        snap = self.latest_snapshot(household_id)
        if snap is None:
            return None
        session = self.scope.session
        rows = session.execute(  # columns, not ORM objects: a snapshot holds many lots
            select(
                LotRow.account, LotRow.symbol, LotRow.quantity, LotRow.cost_basis, LotRow.acquired
            )
            .where(LotRow.snapshot_id == snap.id)
            .order_by(LotRow.id)
        )
        lots = tuple(Lot(*row) for row in rows)
        cash = {
            account: amount
            for account, amount in session.execute(
                select(CashBalance.account, CashBalance.amount)
                .where(CashBalance.snapshot_id == snap.id)
                .order_by(CashBalance.id)
            )
        }
        return HoldingsRecord(snap.id, snap.version, Holdings(lots, cash))

    def save_holdings(self, household_id: str, holdings: Holdings) -> HoldingsRecord:
        hid = self._household(household_id)
        session = self.scope.session
        last = session.scalar(
            select(func.max(HoldingsSnapshot.version)).where(HoldingsSnapshot.household_id == hid)
        )
        snap = HoldingsSnapshot(
            household_id=hid,
            version=(last or 0) + 1,
            positions=positions_of(holdings),
            created_by=self.user_id,
        )
        session.add(snap)
        session.flush()
        session.add_all(
            LotRow(
                snapshot_id=snap.id,
                account=lot.account,
                symbol=lot.symbol,
                quantity=lot.quantity,
                cost_basis=lot.cost_basis,
                acquired=lot.acquired,
            )
            for lot in holdings.lots
        )
        session.add_all(
            CashBalance(snapshot_id=snap.id, account=account, amount=amount)
            for account, amount in holdings.cash.items()
        )
        session.flush()
        return HoldingsRecord(snap.id, snap.version, holdings)

    def transactions(self, household_id: str) -> tuple[Transaction, ...]:
        hid = self._household(household_id)
        rows = self.scope.session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.household_id == hid)
            .order_by(LedgerTransaction.date, LedgerTransaction.id)
        )
        return tuple(
            Transaction(
                r.date, r.account, r.symbol, Side(r.side), r.quantity, r.price, r.cost_basis
            )
            for r in rows
        )

    def add_transactions(
        self, household_id: str, transactions: Iterable[Transaction], source: str = "import"
    ) -> int:
        hid = self._household(household_id)
        added = [
            LedgerTransaction(
                household_id=hid,
                date=t.date,
                account=t.account,
                symbol=t.symbol,
                side=t.side.value,
                quantity=t.quantity,
                price=t.price,
                cost_basis=t.cost_basis,
                source=source,
            )
            for t in transactions
            if t.symbol != CASH
        ]
        self.scope.session.add_all(added)
        self.scope.session.flush()
        return len(added)


@dataclass(frozen=True, slots=True)
class BookRecord:
    """One household as a batch reads it: the household, its latest holdings snapshot (None
    when none was imported) and its recorded transactions in date order."""

    household: HouseholdRecord
    holdings: HoldingsRecord | None
    transactions: tuple[Transaction, ...]


def read_book(scope: FirmScope, household_ids: Sequence[str]) -> dict[str, BookRecord]:
    """Many households of the scope's firm at once, five queries in all (what
    :class:`SqlHouseholdStore` and :class:`SqlLedgerStore` give one household at a time, the
    same records), in the order asked; ids of no household of this firm are left out."""
    session = scope.session
    ids = list(dict.fromkeys(household_ids))
    rows = session.execute(
        select(HouseholdRow.id, HouseholdRow.version, HouseholdRow.document, HouseholdRow.prices)
        .where(HouseholdRow.firm_id == scope.firm_id)
        .where(HouseholdRow.id.in_(ids))
    ).all()
    found = [r[0] for r in rows]
    scope._households.update(found)
    latest: dict[str, tuple[int, int]] = {}  # household -> (snapshot id, version)
    for snap_id, hid, version in session.execute(
        select(HoldingsSnapshot.id, HoldingsSnapshot.household_id, HoldingsSnapshot.version)
        .where(HoldingsSnapshot.household_id.in_(found))
        .order_by(HoldingsSnapshot.household_id, HoldingsSnapshot.version.desc())
    ):
        latest.setdefault(hid, (snap_id, version))
    snaps = [snap for snap, _ in latest.values()]
    lots: dict[int, list[Lot]] = {}
    for snap_id, account, symbol, quantity, cost_basis, acquired in session.execute(
        select(
            LotRow.snapshot_id,
            LotRow.account,
            LotRow.symbol,
            LotRow.quantity,
            LotRow.cost_basis,
            LotRow.acquired,
        )
        .where(LotRow.snapshot_id.in_(snaps))
        .order_by(LotRow.id)
    ):
        lots.setdefault(snap_id, []).append(Lot(account, symbol, quantity, cost_basis, acquired))
    cash: dict[int, dict[str, float]] = {}
    for snap_id, account, amount in session.execute(
        select(CashBalance.snapshot_id, CashBalance.account, CashBalance.amount)
        .where(CashBalance.snapshot_id.in_(snaps))
        .order_by(CashBalance.id)
    ):
        cash.setdefault(snap_id, {})[account] = amount
    txs: dict[str, list[Transaction]] = {}
    for r in session.execute(
        select(
            LedgerTransaction.household_id,
            LedgerTransaction.date,
            LedgerTransaction.account,
            LedgerTransaction.symbol,
            LedgerTransaction.side,
            LedgerTransaction.quantity,
            LedgerTransaction.price,
            LedgerTransaction.cost_basis,
        )
        .where(LedgerTransaction.household_id.in_(found))
        .order_by(LedgerTransaction.date, LedgerTransaction.id)
    ):
        txs.setdefault(r[0], []).append(Transaction(r[1], r[2], r[3], Side(r[4]), r[5], r[6], r[7]))
    out: dict[str, BookRecord] = {}
    by_id = {r[0]: r for r in rows}
    for hid, version, document, prices in (by_id[h] for h in ids if h in by_id):
        household = parse_household(hid, version, document)
        record = HouseholdRecord(hid, household, document, prices, version)
        held = None
        if hid in latest:
            snap_id, snap_version = latest[hid]
            held = HoldingsRecord(
                snap_id, snap_version, Holdings(tuple(lots.get(snap_id, ())), cash.get(snap_id, {}))
            )
        out[hid] = BookRecord(record, held, tuple(txs.get(hid, ())))
    return out
