"""The book's data in a handful of queries, whatever the number of households: households,
their latest holdings (lots and cash), recent transactions and plans, each query filtered by
the caller's firm through the service's :class:`~poise.store.FirmScope`.

Valuations are kept in a small cache keyed by everything they depend on (household version,
holdings snapshot, price set digest, day), so a second look at the book only re-reads ids.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from poise._errors import PoiseError
from poise.model import Holdings, Household, Lot, Side
from poise.service._prices import PriceTable, resolve_prices
from poise.service.web._context import Valuation, book_row, day_prices, value_household
from poise.service.web._views import WASH_WINDOW_DAYS, BookRow
from poise.store import (
    CashBalance,
    FirmScope,
    HoldingsSnapshot,
    LedgerTransaction,
    LotRow,
    Plan,
    parse_household,
)
from poise.store import Household as HouseholdRow
from poise.tax import Transaction

__all__ = ["BookData", "load_book", "prices_for"]

DONE = ("sent", "filled", "partially_filled")
"""Plan statuses that mean the household was rebalanced (orders went out)."""

_CACHE_SIZE = 20_000
_cache: OrderedDict[tuple[object, ...], tuple[Valuation, BookRow]] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class BookData:
    """The firm's book: one row per household, worst first, and the day it was valued."""

    rows: list[BookRow]
    as_of: date | None


def prices_for(scope: FirmScope, row: HouseholdRow, firm_prices: str) -> tuple[str, PriceTable]:
    """The price set a household is valued with: its own, else the firm's default."""
    name = row.prices or firm_prices
    return name, resolve_prices(
        scope, name, field="household.prices" if row.prices else "firm.prices"
    )


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


def _holdings(scope: FirmScope, snapshots: dict[str, int]) -> dict[int, Holdings]:
    """The lots and cash of the given snapshots (of this firm's households only)."""
    mine = (
        select(HoldingsSnapshot.id)
        .join(HouseholdRow, HouseholdRow.id == HoldingsSnapshot.household_id)
        .where(HouseholdRow.firm_id == scope.firm_id)
    )
    wanted = set(snapshots.values())
    lots: dict[int, list[Lot]] = {}
    for sid, account, symbol, quantity, basis, acquired in scope.session.execute(
        select(
            LotRow.snapshot_id,
            LotRow.account,
            LotRow.symbol,
            LotRow.quantity,
            LotRow.cost_basis,
            LotRow.acquired,
        )
        .where(LotRow.snapshot_id.in_(mine))
        .order_by(LotRow.id)
    ):
        if sid in wanted:
            lots.setdefault(sid, []).append(Lot(account, symbol, quantity, basis, acquired))
    cash: dict[int, dict[str, float]] = {}
    for sid, account, amount in scope.session.execute(
        select(CashBalance.snapshot_id, CashBalance.account, CashBalance.amount).where(
            CashBalance.snapshot_id.in_(mine)
        )
    ):
        if sid in wanted:
            cash.setdefault(sid, {})[account] = amount
    return {sid: Holdings.of(lots.get(sid, ()), cash.get(sid, {})) for sid in wanted}


def _recent_transactions(scope: FirmScope, since: date) -> dict[str, list[Transaction]]:
    out: dict[str, list[Transaction]] = {}
    rows = scope.session.execute(
        select(LedgerTransaction)
        .join(HouseholdRow, HouseholdRow.id == LedgerTransaction.household_id)
        .where(HouseholdRow.firm_id == scope.firm_id, LedgerTransaction.date >= since)
    ).scalars()
    for r in rows:
        out.setdefault(r.household_id, []).append(
            Transaction(
                r.date, r.account, r.symbol, Side(r.side), r.quantity, r.price, r.cost_basis
            )
        )
    return out


def _plans(scope: FirmScope) -> tuple[dict[str, str], dict[str, date]]:
    """Each household's latest plan status and the day of its last plan sent to a broker."""
    latest: dict[str, str] = {}
    done: dict[str, date] = {}
    rows = scope.session.execute(
        select(Plan.household_id, Plan.status, Plan.as_of)
        .where(Plan.firm_id == scope.firm_id)
        .order_by(Plan.created_at, Plan.id)
    )
    for household_id, status, as_of in rows:
        latest[household_id] = status
        if status in DONE and (household_id not in done or as_of > done[household_id]):
            done[household_id] = as_of
    return latest, done


def _no_value(row: HouseholdRow, household: Household | None, message: str) -> BookRow:
    return BookRow(
        id=row.id,
        name=household.name if household else row.name,
        total_value=float("nan"),
        worst_symbol=None,
        worst_drift=0.0,
        half_band=None,
        triggered=False,
        reasons=(),
        error=message,
    )


def load_book(scope: FirmScope, as_of: date | None = None) -> BookData:
    """Value every household of the scope's firm and order them worst first.

    A household that cannot be valued (no holdings, a symbol without a price) is listed last
    with the reason, never dropped and never the cause of an error page.
    """
    from poise.service.web._views import sort_book

    households = list(scope.session.scalars(scope.select(HouseholdRow)))
    snapshots = _latest_snapshots(scope)
    holdings = _holdings(scope, snapshots)
    statuses, rebalanced = _plans(scope)
    firm_prices = scope.firm().prices
    tables: dict[str, tuple[PriceTable, date, dict[str, float]]] = {}
    transactions: dict[str, list[Transaction]] | None = None
    rows: list[BookRow] = []
    day: date | None = None
    for row in households:
        household = None
        try:
            household = parse_household(row.id, row.version, row.document)
            name = row.prices or firm_prices
            if name not in tables:
                _, table = prices_for(scope, row, firm_prices)
                on, closes = day_prices(table.frame, as_of, source=f"prices {name}")
                tables[name] = (table, on, closes)
            table, on, closes = tables[name]
            day = day or on
            sid = snapshots.get(row.id)
            if sid is None:
                rows.append(_no_value(row, household, "no holdings imported"))
                continue
            if transactions is None:
                transactions = _recent_transactions(scope, on - timedelta(days=WASH_WINDOW_DAYS))
            key = (
                row.id,
                row.version,
                sid,
                table.digest,
                on,
                statuses.get(row.id),
                rebalanced.get(row.id),
            )
            with _lock:
                cached = _cache.get(key)
            if cached is None:
                recent = transactions.get(row.id, [])
                valuation = value_household(
                    household,
                    holdings[sid],
                    table.frame,
                    on,
                    closes=closes,
                    source=f"prices {name}",
                )
                line = book_row(
                    row.id,
                    household,
                    holdings[sid],
                    valuation,
                    transactions=recent,
                    plan_status=statuses.get(row.id),
                    last_rebalanced=rebalanced.get(row.id),
                )
                cached = (valuation, line)
                if not recent:  # transactions change without a new key: cache only without
                    with _lock:
                        _cache[key] = cached
                        while len(_cache) > _CACHE_SIZE:
                            _cache.popitem(last=False)
            rows.append(cached[1])
        except PoiseError as exc:
            rows.append(_no_value(row, household, str(exc)))
    return BookData(sort_book(rows), day)


def household_ids(scope: FirmScope) -> Sequence[str]:
    return [row.id for row in scope.session.scalars(scope.select(HouseholdRow))]
