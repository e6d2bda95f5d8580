"""The book's data in a handful of queries, whatever the number of households: households,
their latest holdings (lots and cash), recent transactions and plans, each query filtered by
the caller's firm through the service's :class:`~poise.store.FirmScope`.

Valuations are kept in a small cache keyed by everything they depend on (household version,
holdings snapshot, price set digest, day), so a second look at the book only re-reads ids.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import String, cast, func, select

from poise._errors import PoiseError
from poise.model import Holdings, Lot
from poise.service._prices import PriceTable, resolve_prices
from poise.service.web._context import BookEntry, day_prices, screen_book
from poise.service.web._views import BookRow
from poise.store import (
    CashBalance,
    FirmScope,
    HoldingsSnapshot,
    HouseholdRow,
    LotRow,
    PlanRow,
    parse_household,
)

__all__ = ["BookData", "load_book", "prices_for"]

DONE = ("sent", "filled", "partially_filled")
"""Plan statuses that mean the household was rebalanced (orders went out)."""

_CACHE_SIZE = 20_000
_cache: OrderedDict[tuple[object, ...], BookRow] = OrderedDict()
_CHUNK = 500
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class BookData:
    """The firm's book: one row per household, worst first, and the day it was valued."""

    rows: list[BookRow]
    as_of: date | None


def prices_for(scope: FirmScope, own: str | None, firm_prices: str) -> tuple[str, PriceTable]:
    """The price set a household is valued with: its own (``own``), else the firm's."""
    name = own or firm_prices
    return name, resolve_prices(scope, name, field="household.prices" if own else "firm.prices")


def _documents(scope: FirmScope, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), _CHUNK):
        rows = scope.session.execute(
            select(HouseholdRow.id, HouseholdRow.document).where(
                HouseholdRow.firm_id == scope.firm_id, HouseholdRow.id.in_(ids[i : i + _CHUNK])
            )
        )
        out.update({household_id: document for household_id, document in rows})
    return out


def _latest_snapshots(scope: FirmScope) -> dict[str, int]:
    latest = (
        select(HoldingsSnapshot.household_id, func.max(HoldingsSnapshot.version).label("v"))
        .join(HouseholdRow, HouseholdRow.id == HoldingsSnapshot.household_id)
        .where(HouseholdRow.firm_id == scope.firm_id)
        .group_by(HoldingsSnapshot.household_id)
        .subquery()
    )
    rows = scope.session.execute(
        select(HoldingsSnapshot.household_id, HoldingsSnapshot.id).join(
            latest,
            (latest.c.household_id == HoldingsSnapshot.household_id)
            & (latest.c.v == HoldingsSnapshot.version),
        )
    )
    return {household_id: snapshot_id for household_id, snapshot_id in rows}


@lru_cache(maxsize=65536)
def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _holdings(scope: FirmScope, snapshot_ids: Collection[int]) -> dict[int, Holdings]:
    """The lots and cash of the given snapshots (of this firm's households only), read in
    chunks (dates as text, parsed once per distinct day: the driver's date conversion is the
    slow part of reading many lots)."""
    mine = (
        select(HoldingsSnapshot.id)
        .join(HouseholdRow, HouseholdRow.id == HoldingsSnapshot.household_id)
        .where(HouseholdRow.firm_id == scope.firm_id)
    )
    wanted = sorted(snapshot_ids)
    lots: dict[int, list[Lot]] = {}
    cash: dict[int, dict[str, float]] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        for sid, account, symbol, quantity, basis, acquired in scope.session.execute(
            select(
                LotRow.snapshot_id,
                LotRow.account,
                LotRow.symbol,
                LotRow.quantity,
                LotRow.cost_basis,
                cast(LotRow.acquired, String),
            )
            .where(LotRow.snapshot_id.in_(chunk), LotRow.snapshot_id.in_(mine))
            .order_by(LotRow.id)
        ):
            lots.setdefault(sid, []).append(Lot(account, symbol, quantity, basis, _day(acquired)))
        for sid, account, amount in scope.session.execute(
            select(CashBalance.snapshot_id, CashBalance.account, CashBalance.amount).where(
                CashBalance.snapshot_id.in_(chunk), CashBalance.snapshot_id.in_(mine)
            )
        ):
            cash.setdefault(sid, {})[account] = amount
    return {sid: Holdings.of(lots.get(sid, ()), cash.get(sid, {})) for sid in wanted}


def _plans(scope: FirmScope) -> tuple[dict[str, str], dict[str, date]]:
    """Each household's latest plan status and the day of its last plan sent to a broker."""
    latest: dict[str, str] = {}
    done: dict[str, date] = {}
    rows = scope.session.execute(
        select(PlanRow.household_id, PlanRow.status, PlanRow.as_of)
        .where(PlanRow.firm_id == scope.firm_id)
        .order_by(PlanRow.created_at, PlanRow.id)
    )
    for household_id, status, as_of in rows:
        latest[household_id] = status
        if status in DONE and (household_id not in done or as_of > done[household_id]):
            done[household_id] = as_of
    return latest, done


def _unvalued(household_id: str, name: str, message: str) -> BookRow:
    return BookRow(
        id=household_id,
        name=name,
        total_value=float("nan"),
        worst_symbol=None,
        worst_drift=0.0,
        half_band=None,
        triggered=False,
        reasons=(),
        error=message,
    )


def load_book(
    scope: FirmScope,
    as_of: date | None = None,
    *,
    prices: str | None = None,
    strict: bool = False,
) -> BookData:
    """Value every household of the scope's firm and order them worst first.

    ``prices`` (a price set, bundled name or feed) values every household instead of its own
    or the firm's; ``as_of`` is the day (default: each price table's last).

    A household that cannot be valued (no holdings, a symbol without a price) is listed last
    with the reason, never dropped and never the cause of an error page. With ``strict``, a
    price source that cannot be read, or ``as_of`` missing from it, raises the ``InputError``
    instead (``GET /api/v1/drift`` answers it with 422).
    """
    from poise.service.web._views import sort_book

    households = list(
        scope.session.execute(
            select(HouseholdRow.id, HouseholdRow.name, HouseholdRow.prices, HouseholdRow.version)
            .where(HouseholdRow.firm_id == scope.firm_id)
            .order_by(HouseholdRow.created_at, HouseholdRow.id)
        )
    )
    snapshots = _latest_snapshots(scope)
    statuses, rebalanced = _plans(scope)
    firm_prices = scope.firm().prices
    tables: dict[str, tuple[PriceTable, date]] = {}
    lines: dict[str, BookRow] = {}
    todo: list[tuple[Any, str, tuple[object, ...]]] = []
    day: date | None = None
    for row in households:  # what the cache knows; the rest is screened below
        try:
            name = prices or row.prices or firm_prices
            if name not in tables:
                if prices:
                    table = resolve_prices(scope, prices, field="prices")
                else:
                    _, table = prices_for(scope, row.prices, firm_prices)
                on, _ = day_prices(table.frame, as_of, source=f"prices {name}")
                tables[name] = (table, on)
            table, on = tables[name]
            day = day or on
            if row.id not in snapshots:
                lines[row.id] = _unvalued(row.id, row.name, "no holdings imported")
                continue
            key: tuple[object, ...] = (
                row.id,
                row.version,
                snapshots[row.id],
                name,
                table.digest,
                on,
                statuses.get(row.id),
                rebalanced.get(row.id),
            )
            with _lock:
                cached = _cache.get(key)
            if cached is not None:
                lines[row.id] = cached
                continue
            todo.append((row, name, key))
        except PoiseError as exc:
            if strict:
                raise
            lines[row.id] = _unvalued(row.id, row.name, str(exc))
    documents = _documents(scope, [row.id for row, *_ in todo])
    holdings = _holdings(scope, [snapshots[row.id] for row, *_ in todo])
    groups: dict[str, list[tuple[BookEntry, tuple[object, ...]]]] = {}
    for row, name, key in todo:
        try:
            household = parse_household(row.id, row.version, documents[row.id])
        except PoiseError as exc:
            lines[row.id] = _unvalued(row.id, row.name, str(exc))
            continue
        entry = BookEntry(
            row.id,
            household,
            holdings[snapshots[row.id]],
            plan_status=statuses.get(row.id),
            last_rebalanced=rebalanced.get(row.id),
        )
        groups.setdefault(name, []).append((entry, key))
    for name, group in groups.items():
        table, on = tables[name]
        entries = [entry for entry, _ in group]
        screened = screen_book(entries, table.frame, on, source=f"prices {name}")
        for (entry, key), line in zip(group, screened, strict=True):
            if line.error is None:
                line = replace(line, prices=name)
            lines[entry.id] = line
            with _lock:
                _cache[key] = line
                while len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
    rows = [lines[row.id] for row in households]
    return BookData(sort_book(rows), day)


def household_ids(scope: FirmScope) -> Sequence[str]:
    return [row.id for row in scope.session.scalars(scope.select(HouseholdRow))]
