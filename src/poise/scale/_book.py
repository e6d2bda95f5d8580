"""The store's book: plan every household of a firm (or the ones named) and save each plan as
proposed, exactly as the service's ``POST /households/{id}/plans`` does (plan row, trades,
``plan.create`` audit event: :func:`poise.store.save_plan`).

Which prices: the request's ``prices``, else the household's own, else the firm's (the
service's rule, through the same :func:`poise.store.resolve_prices`, so a plan saved here
carries the digest that approving it checks). Each table's day is shipped to the workers once.

Households are read here chunk by chunk and travel by value; workers plan (never send). Plans
are saved here, chunk by chunk in household order, one transaction a chunk and a savepoint a
plan: a household that fails (no holdings, bad prices, a planning error, a plan that cannot be
saved) is an error record and leaves nothing in the store, not even an audit event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from poise._errors import InputError, PoiseError
from poise.scale._batch import (
    BatchSummary,
    DayPrices,
    Progress,
    StoredHousehold,
    _dumps,
    _Job,
    _OrderedWriter,
    _Record,
    _run_chunks,
    _Totals,
    day_prices,
)
from poise.scale._runners import ExecutorRunner, Runner

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["BookOutcome", "BookRequest", "BookResult", "firm_id", "plan_book"]

ACTOR = "batch-cli"
"""Who the audit trail says made plans saved from the command line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BookRequest:
    """Plan a firm's book from the store.

    Parameters
    ----------
    firm_id : int
        The firm (see :func:`firm_id` for its name).
    prices : str, optional
        A stored price set or bundled data set for every household; by default each
        household's own, else the firm's.
    as_of : date, optional
        Decision day; each price table's last day when omitted.
    only_triggered : bool
        Save (and write) only plans whose policy triggers; the others are not saved.
    household_ids : sequence of str, optional
        Only these households (in this order); every household of the firm, oldest first,
        when omitted.
    actor : str
        Who the audit trail names.
    created_by : int, optional
        The user asking (None from the command line).
    chunk_size, retries : int
        As for :class:`poise.scale.BatchRequest`.
    """

    firm_id: int
    prices: str | None = None
    as_of: date | None = None
    only_triggered: bool = False
    household_ids: Sequence[str] | None = None
    actor: str = ACTOR
    created_by: int | None = None
    chunk_size: int = 100
    retries: int = 3


@dataclass(frozen=True, slots=True)
class BookOutcome:
    """One household's outcome: the saved plan's id, or why there is none (``plan_id`` and
    ``error`` both None: not triggered, with ``only_triggered``)."""

    household: str
    plan_id: str | None
    triggered: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class BookResult:
    summary: BatchSummary
    outcomes: tuple[BookOutcome, ...]

    @property
    def plan_ids(self) -> list[str]:
        return [o.plan_id for o in self.outcomes if o.plan_id is not None]


def firm_id(engine: Engine, name: str) -> int:
    """The id of the firm called ``name``.

    Raises
    ------
    InputError
        No firm of that name (``field`` ``firm``).
    """
    from sqlalchemy import select

    from poise.store import Firm, read_session

    with read_session(engine) as session:
        found = session.scalar(select(Firm.id).where(Firm.name == name.strip()))
    if found is None:
        raise InputError(
            f"no firm named {name!r}; create it with poise admin create-firm", field="firm"
        )
    return int(found)


@dataclass
class _Book:
    """What the driver keeps about the households it ships: price tables and snapshots."""

    ids: list[str]
    prices_of: dict[str, str]  # household -> price table name
    days: dict[str, DayPrices] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # price name -> why not
    made_from: dict[int, tuple[int, int]] = field(default_factory=dict)  # index -> snap, version


def plan_book(
    engine: Engine,
    request: BookRequest,
    runner: Runner | None = None,
    *,
    sink: TextIO | None = None,
    progress: Progress | None = None,
) -> BookResult:
    """Plan the households of ``request.firm_id`` and save every plan as proposed.

    Parameters
    ----------
    engine : Engine
        The store.
    request : BookRequest
    runner : Runner, optional
        Where chunks run; in this process when omitted.
    sink : text file, optional
        Receives one JSON line per household, in household order: ``{"household": ID,
        "ok": true, "plan_id": ID, "plan": {...}}`` or ``{"household": ID, "ok": false,
        "error": MESSAGE}``.
    progress : callable, optional
        ``progress(done, total)`` after each chunk.

    Returns
    -------
    BookResult
        The summary and each household's outcome, in household order.

    Raises
    ------
    InputError
        ``request.prices`` names no price table (``field`` ``prices``), or ``request.as_of``
        is not a day of a table the households use (``field`` ``as_of``). A bad household
        (its own prices unknown too) never raises.
    """
    started = time.perf_counter()
    runner = runner if runner is not None else ExecutorRunner()
    book = _open_book(engine, request)
    chunks = [
        list(enumerate(book.ids))[k : k + request.chunk_size]
        for k in range(0, len(book.ids), request.chunk_size)
    ]
    job = _Job(
        lambda chunk: _load(engine, request, book, chunk),
        request.only_triggered,
        request.retries,
        keep=True,
    )
    outcomes: list[BookOutcome] = []

    def finish(records: list[_Record]) -> list[_Record]:
        saved, plan_ids = _save(engine, request, book, records)
        outcomes.extend(_outcome(book.ids[r.index], r, plan_ids.get(r.index)) for r in saved)
        return saved

    totals = _Totals()
    writer = _OrderedWriter(_Discard() if sink is None else sink, len(chunks), totals, finish)
    done = 0
    for number, records in _run_chunks(runner, book.days, job, chunks):
        writer.add(number, records)
        done += len(records)
        if progress is not None:
            progress(done, len(book.ids))
    summary = BatchSummary(
        households=len(book.ids),
        planned=len(book.ids),
        resumed=0,
        written=totals.written,
        triggered=totals.triggered,
        errors=totals.errors,
        seconds=time.perf_counter() - started,
    )
    return BookResult(summary, tuple(outcomes))


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _open_book(engine: Engine, request: BookRequest) -> _Book:
    """The households to plan, the price table of each, and each table's day."""
    from sqlalchemy import select

    from poise.store import (
        FirmScope,
        HouseholdRow,
        SqlHouseholdStore,
        read_session,
        resolve_prices,
    )

    with read_session(engine) as session:
        scope = FirmScope(session, request.firm_id, request.actor)
        default = scope.firm().prices
        own: dict[str, str | None] = {
            hid: prices
            for hid, prices in session.execute(
                select(HouseholdRow.id, HouseholdRow.prices).where(
                    HouseholdRow.firm_id == request.firm_id
                )
            )
        }
        ids = (
            list(request.household_ids)
            if request.household_ids is not None
            else list(SqlHouseholdStore(scope).ids())
        )
        prices_of: dict[str, str] = {}
        fields: dict[str, str] = {request.prices: "prices"} if request.prices else {}
        for hid in ids:
            if request.prices:
                name, where = request.prices, "prices"
            elif own.get(hid):
                name, where = str(own[hid]), "household.prices"
            else:
                name, where = default, "firm.prices"
            prices_of[hid] = name
            fields.setdefault(name, where)
        book = _Book(ids, prices_of)
        for name, where in fields.items():
            source = f"prices {name}"
            try:
                table = resolve_prices(scope, name, field=where)
                book.days[name] = day_prices(table.frame, request.as_of, source)
                book.digests[name] = table.digest
            except InputError as exc:
                if request.prices or exc.field == "as_of":  # the run's own options are wrong
                    raise
                book.refused[name] = str(exc)
    return book


def _load(
    engine: Engine, request: BookRequest, book: _Book, chunk: Sequence[tuple[int, Any]]
) -> list[StoredHousehold | Any]:
    """Read a chunk's households, latest holdings and transactions (one read transaction,
    a few queries for the whole chunk)."""
    from poise.store import FirmScope, read_book, read_session

    out: list[StoredHousehold | Any] = []
    with read_session(engine) as session:
        scope = FirmScope(session, request.firm_id, request.actor)
        records = read_book(scope, [hid for _, hid in chunk])
    for index, hid in chunk:
        name = book.prices_of[hid]
        found = records.get(hid)
        if name in book.refused:
            error: str | None = book.refused[name]
        elif found is None:
            error = f"no household {hid}"
        elif found.holdings is None:
            error = str(InputError("no holdings imported for this household yet", field="holdings"))
        else:
            error = None
        if error is not None or found is None or found.holdings is None:
            out.append(StoredHousehold(index, hid, error=error))
            continue
        book.made_from[index] = (found.holdings.snapshot, found.household.version)
        out.append(
            StoredHousehold(
                index,
                hid,
                found.household.household,
                found.holdings.holdings,
                found.transactions or None,
                name,
            )
        )
    return out


def _save(
    engine: Engine, request: BookRequest, book: _Book, records: list[_Record]
) -> tuple[list[_Record], dict[int, str]]:
    """Save a chunk's plans (one transaction, a savepoint each); each saved record's line
    gains the plan's id, each that cannot be saved becomes an error record. Returns the
    records and the saved plans' ids by household index."""
    from poise.store import FirmScope, PlanLeg, ProposedPlan, save_plan, write_session

    plan_ids: dict[int, str] = {}
    if not any(r.plan is not None for r in records):
        return records, plan_ids
    out: list[_Record] = []
    with write_session(engine) as session:
        scope = FirmScope(session, request.firm_id, request.actor)
        for record in records:
            if record.plan is None or record.line is None:
                out.append(record)
                continue
            hid = book.ids[record.index]
            name = book.prices_of[hid]
            snapshot, version = book.made_from[record.index]
            proposed = ProposedPlan(
                household_id=hid,
                snapshot_id=snapshot,
                household_version=version,
                prices_name=name,
                prices_digest=book.digests[name],
                as_of=date.fromisoformat(record.plan["as_of"]),
                body=record.plan,
                legs=tuple(PlanLeg(*leg) for leg in record.legs),
            )
            try:
                with session.begin_nested():
                    plan_id = save_plan(scope, proposed, created_by=request.created_by).id
            except Exception as exc:  # nothing of this plan is kept (savepoint rolled back)
                reason = str(exc) if isinstance(exc, PoiseError) else type(exc).__name__
                message = f"the plan could not be saved: {reason}"
                line = _dumps({"household": hid, "ok": False, "error": message})
                out.append(_Record(record.index, line, False, False))
                continue
            plan_ids[record.index] = plan_id
            line = _with_plan_id(record.line, hid, plan_id)
            out.append(_Record(record.index, line, record.triggered, True))
    return out, plan_ids


def _with_plan_id(line: str, household: str, plan_id: str) -> str:
    """The worker's line ``{"household", "ok", "plan"}`` with ``"plan_id"`` before ``"plan"``
    (the plan's JSON is not written a second time)."""
    head = _dumps({"household": household, "ok": True, "plan": 0})[:-2]  # up to "plan": 0
    if not line.startswith(head):  # not the worker's layout: write the record anew
        record = json.loads(line)
        return _dumps({"household": household, "ok": True, "plan_id": plan_id, **record})
    with_id = _dumps({"household": household, "ok": True, "plan_id": plan_id, "plan": 0})
    return with_id[:-2] + line[len(head) :]


def _outcome(household: str, record: _Record, plan_id: str | None) -> BookOutcome:
    if record.line is None:
        return BookOutcome(household, None, False, None)
    if not record.ok:
        return BookOutcome(household, None, False, str(json.loads(record.line)["error"]))
    return BookOutcome(household, plan_id, record.triggered, None)
