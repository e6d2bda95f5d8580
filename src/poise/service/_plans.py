"""Plans: made from a stored household (``POST /households/{id}/plans``), approved or
rejected, read back. The plan is the ``poise rebalance --json`` object plus ``id`` and
``status``; it remembers the holdings snapshot, household version and price digest it was
made from, so approving (or sending) it after any of them changed answers 409.

Status machine::

    proposed ──► approved ──► sent ──► filled | partially_filled | rejected | expired
        │            │                     partially_filled ──► filled | expired
        └──► rejected | expired ◄──┘
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from poise._errors import InputError
from poise.app import cash_flows, rebalance, stored_request
from poise.data import DEFAULT_MAX_PRICE_AGE_DAYS
from poise.plan import CashFlow
from poise.service._deps import Advisor, Principal, ServiceState, State, Viewer
from poise.service._http import Conflict, Limit, ObjectId, Offset, documented
from poise.service._pages import Page
from poise.service._prices import prices_digest, resolve_prices
from poise.store import (
    FirmScope,
    HouseholdRow,
    IdempotencyRecord,
    PlanRow,
    SqlHouseholdStore,
    SqlLedgerStore,
    price_day,
    proposed_plan,
    save_plan,
    utcnow,
)

__all__ = [
    "TRANSITIONS",
    "IdempotencyKey",
    "check_plan_current",
    "plan_out",
    "remember_response",
    "replay_response",
    "router",
    "set_status",
]

router = APIRouter(tags=["plans"])

_SENT = ("sent", "partially_filled", "filled")
"""Statuses of a plan whose orders went out."""

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "rejected", "expired"}),
    "approved": frozenset({"sent", "rejected", "expired"}),
    "sent": frozenset({"filled", "partially_filled", "rejected", "expired"}),
    "partially_filled": frozenset({"filled", "expired"}),
    "filled": frozenset(),
    "rejected": frozenset(),
    "expired": frozenset(),
}

_Name = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a POST with the same key to get the first response back",
    ),
]


class FlowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Annotated[float, Field(allow_inf_nan=False)]
    account: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*$")] | None = (
        None
    )


class PlanRequest(BaseModel):
    """What to plan: prices (default: the household's, else the firm's), the decision day
    (default: the prices' last day), cash flows, ``force`` to rebalance regardless, and
    ``max_price_age``: calendar days a symbol's last price may be older than the decision day
    (within it the price is carried to that day; beyond it the request is refused, 422 naming
    the symbol and its last date; the command line's ``--max-price-age``)."""

    model_config = ConfigDict(extra="forbid")
    prices: _Name | None = None
    as_of: date | None = None
    deposit: FlowIn | None = None
    withdraw: FlowIn | None = None
    force: Annotated[bool, Field(strict=True)] = False  # "yes" or 1 is not a yes
    max_price_age: Annotated[int, Field(strict=True, ge=0, le=36_500)] = DEFAULT_MAX_PRICE_AGE_DAYS


class PlanOut(BaseModel):
    """The ``poise rebalance --json`` object plus ``id``, ``status`` and bookkeeping."""

    model_config = ConfigDict(extra="allow")
    id: str
    status: str
    household_id: str
    prices: str
    as_of: str
    triggered: bool
    trades: list[dict[str, Any]]


def plan_out(plan: PlanRow) -> dict[str, Any]:
    """A stored plan as the API returns it."""
    return {
        **plan.body,
        "id": plan.id,
        "status": plan.status,
        "household_id": plan.household_id,
        "prices": plan.prices_name,
        "created_at": plan.created_at.isoformat(),
        "decided_at": plan.decided_at.isoformat() if plan.decided_at else None,
    }


def check_plan_current(scope: FirmScope, plan: PlanRow) -> None:
    """Raise :class:`Conflict` (409) when the household, its holdings or the prices changed
    since the plan was made: re-plan first."""
    sent = scope.session.scalar(
        select(PlanRow.id).where(
            PlanRow.household_id == plan.household_id,
            PlanRow.snapshot_id == plan.snapshot_id,
            PlanRow.id != plan.id,
            PlanRow.status.in_(_SENT),
        )
    )
    if sent is not None:  # made before that plan's fills moved the holdings: trades would repeat
        raise Conflict(
            f"plan {sent} was already sent on these holdings (its fills move them); make a new "
            "plan on the holdings as they are now"
        )
    household = scope.get(HouseholdRow, plan.household_id)
    changed = []
    if household.version != plan.household_version:
        changed.append("the household")
    latest = SqlLedgerStore(scope).latest_snapshot(plan.household_id)
    if latest is None or latest.id != plan.snapshot_id:
        changed.append("its holdings")
    if prices_digest(scope, plan.prices_name) != plan.prices_digest:
        changed.append(f"the prices {plan.prices_name!r}")
    if changed:
        raise Conflict(f"{' and '.join(changed)} changed since this plan was made; make a new plan")


def set_status(scope: FirmScope, plan: PlanRow, status: str, principal: Principal) -> None:
    """Move ``plan`` to ``status`` along :data:`TRANSITIONS` (409 otherwise) and audit it."""
    if status not in TRANSITIONS.get(plan.status, frozenset()):
        raise Conflict(f"the plan is {plan.status}; it cannot become {status}")
    previous = plan.status
    plan.status = status
    if status in ("approved", "rejected"):
        plan.decided_by = principal.user_id
        plan.decided_at = utcnow()
    scope.session.flush()
    scope.audit(f"plan.{status}", f"plan:{plan.id}", {"from": previous})


def replay_response(
    state: ServiceState, principal: Principal, key: str | None, path: str
) -> JSONResponse | None:
    """The stored first response to this ``Idempotency-Key`` (None when it is new); 422 when
    the key was used for another request."""
    if key is None:
        return None
    with state.read(principal) as scope:
        found = scope.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == principal.user_id, IdempotencyRecord.key == key
            )
        )
    if found is None:
        return None
    if found.path != path or found.method != "POST":
        raise InputError(
            "this Idempotency-Key was used for another request", field="Idempotency-Key"
        )
    return JSONResponse(status_code=found.status_code, content=found.body)


def remember_response(
    scope: FirmScope, principal: Principal, key: str | None, path: str, status: int, body: Any
) -> None:
    """Store the response to an ``Idempotency-Key`` in the transaction that made it."""
    if key is None:
        return
    scope.session.add(
        IdempotencyRecord(
            user_id=principal.user_id,
            key=key,
            method="POST",
            path=path,
            status_code=status,
            body=body,
        )
    )
    scope.session.flush()


def _flows(body: PlanRequest, accounts: tuple[str, ...]) -> list[CashFlow]:
    flows: list[CashFlow] = []
    for name, flow in (("deposit", body.deposit), ("withdraw", body.withdraw)):
        if flow is None:
            continue
        try:
            flows += cash_flows(accounts, account=flow.account, **{name: flow.amount})
        except InputError as exc:
            field = f"{name}.account" if exc.field == "account" else exc.field
            raise exc.renamed({exc.field or "": field or ""}) from None
    return flows


@router.post(
    "/households/{household_id}/plans",
    status_code=201,
    response_model=PlanOut,
    responses=documented(401, 403, 404, 409, 413, 422),
    summary="Make a rebalance plan for a household",
)
def create_plan(
    household_id: ObjectId,
    body: PlanRequest,
    caller: Advisor,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Plans with the household's latest holdings and recorded transactions. Status 201 and
    the plan (``status`` ``proposed``)."""
    path = f"/households/{household_id}/plans"
    replay = replay_response(state, caller, idempotency_key, path)
    if replay is not None:
        return replay
    with state.read(caller) as scope:
        households, ledger = SqlHouseholdStore(scope), SqlLedgerStore(scope)
        record = households.get(household_id)
        if body.prices:
            prices_name, field = body.prices, "prices"
        elif record.prices:
            prices_name, field = record.prices, "household.prices"
        else:
            prices_name, field = scope.firm().prices, "firm.prices"
        table = resolve_prices(scope, prices_name, field=field)
        flows = _flows(body, record.household.account_ids)
        stored = stored_request(
            households,
            ledger,
            household_id,
            table.frame,
            prices_source=f"prices {prices_name}",
            as_of=body.as_of,
            flows=flows,
            force=body.force,
        )
    # the day's prices prepared once (closes, history, quality check) for every plan of it
    day = price_day(table, body.as_of)
    result = rebalance(replace(stored.request, prices=day, max_price_age_days=body.max_price_age))
    proposed = proposed_plan(stored, result, prices_name=prices_name, prices_digest=table.digest)
    try:
        with state.write(caller) as scope:
            plan = save_plan(scope, proposed, created_by=caller.user_id)
            response = plan_out(plan)
            remember_response(scope, caller, idempotency_key, path, 201, response)
    except IntegrityError:
        # the same Idempotency-Key raced in from another request: answer as it did
        again = replay_response(state, caller, idempotency_key, path)
        if again is None:
            raise
        return again
    return JSONResponse(status_code=201, content=response)


@router.get(
    "/plans",
    response_model=Page[PlanOut],
    responses=documented(401, 403, 422),
    summary="The firm's plans, newest first",
)
def list_plans(
    caller: Viewer,
    state: State,
    household_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{1,20}$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PlanOut]:
    with state.read(caller) as scope:
        query = scope.select(PlanRow).order_by(PlanRow.created_at.desc(), PlanRow.id)
        if household_id is not None:
            query = query.where(PlanRow.household_id == household_id)
        if status is not None:
            query = query.where(PlanRow.status == status)
        rows, total = scope.page(query, limit=limit, offset=offset)
        return Page(
            items=[PlanOut.model_validate(plan_out(p)) for p in rows],
            total=total,
            limit=limit,
            offset=offset,
        )


@router.get(
    "/plans/{plan_id}",
    response_model=PlanOut,
    responses=documented(401, 403, 404, 422),
    summary="One plan",
)
def get_plan(plan_id: ObjectId, caller: Viewer, state: State) -> dict[str, Any]:
    with state.read(caller) as scope:
        return plan_out(scope.get(PlanRow, plan_id))


@router.post(
    "/plans/{plan_id}/approve",
    response_model=PlanOut,
    responses=documented(401, 403, 404, 409, 422),
    summary="Approve a proposed plan",
)
def approve_plan(plan_id: ObjectId, caller: Advisor, state: State) -> dict[str, Any]:
    """409 when the plan is not proposed, or its household, holdings or prices changed since
    it was made."""
    with state.write(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        if plan.status != "proposed":
            raise Conflict(f"the plan is {plan.status}; only a proposed plan can be approved")
        check_plan_current(scope, plan)
        set_status(scope, plan, "approved", caller)
        return plan_out(plan)


@router.post(
    "/plans/{plan_id}/reject",
    response_model=PlanOut,
    responses=documented(401, 403, 404, 409, 422),
    summary="Reject a proposed or approved plan",
)
def reject_plan(plan_id: ObjectId, caller: Advisor, state: State) -> dict[str, Any]:
    with state.write(caller) as scope:
        plan = scope.get(PlanRow, plan_id)
        if plan.status not in ("proposed", "approved"):
            raise Conflict(f"the plan is {plan.status}; it can no longer be rejected")
        set_status(scope, plan, "rejected", caller)
        return plan_out(plan)
