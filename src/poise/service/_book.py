"""Price sets, broker connections, the firm's drift and its audit trail."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from poise._errors import InputError
from poise.io import prices_from_text
from poise.model import CASH
from poise.model import Household as ModelHousehold
from poise.policy import PolicyContext
from poise.service._deps import Admin, Advisor, State, Viewer
from poise.service._households import text_body
from poise.service._http import Limit, Offset, documented
from poise.service._pages import Page
from poise.service._prices import PriceTable, digest_text, resolve_prices
from poise.store import (
    AuditEvent,
    BrokerConnection,
    FirmScope,
    HoldingsSnapshot,
    HouseholdRow,
    PriceSet,
    is_parsed,
    parse_household,
    utcnow,
)
from poise.store._audit import event_to_dict
from poise.store._secrets import encrypt_secret, load_keys, make_ring

__all__ = ["drift_rows", "router"]

router = APIRouter()

PriceName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="The price set's name")
]


class PriceSetOut(BaseModel):
    name: str
    digest: str
    symbols: int
    first_day: date
    last_day: date
    updated_at: datetime


@router.put(
    "/prices/{name}",
    response_model=PriceSetOut,
    responses={
        200: {"description": "Replaced"},
        201: {"description": "Created", "model": PriceSetOut},
        **documented(401, 403, 413, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "description": "date,SYM1,SYM2,..."}}
            },
        }
    },
    tags=["prices"],
    summary="Store a price set (a prices CSV)",
)
async def put_prices(
    name: PriceName, request: Request, caller: Advisor, state: State
) -> JSONResponse:
    text = await text_body(request)
    frame = prices_from_text(text, source="")
    digest = digest_text(text)
    with state.write(caller) as scope:
        row = scope.session.scalar(scope.select(PriceSet).where(PriceSet.name == name))
        created = row is None
        if row is None:
            row = scope.add(PriceSet(name=name, csv=text, digest=digest))
        else:
            row.csv, row.digest, row.updated_at = text, digest, utcnow()
            scope.session.flush()
        scope.audit("prices.put", f"prices:{name}", {"digest": digest, "days": len(frame)})
        out = PriceSetOut(
            name=name,
            digest=digest,
            symbols=frame.shape[1],
            first_day=frame.index[0].date(),
            last_day=frame.index[-1].date(),
            updated_at=row.updated_at,
        )
    return JSONResponse(status_code=201 if created else 200, content=out.model_dump(mode="json"))


class PriceSetSummary(BaseModel):
    name: str
    digest: str
    updated_at: datetime


@router.get(
    "/prices",
    response_model=Page[PriceSetSummary],
    responses=documented(401, 403, 422),
    tags=["prices"],
    summary="The firm's stored price sets",
)
def list_prices(
    caller: Viewer, state: State, limit: Limit = 50, offset: Offset = 0
) -> Page[PriceSetSummary]:
    with state.read(caller) as scope:
        rows, total = scope.page(
            scope.select(PriceSet).order_by(PriceSet.name), limit=limit, offset=offset
        )
        return Page(
            items=[
                PriceSetSummary(name=r.name, digest=r.digest, updated_at=r.updated_at) for r in rows
            ],
            total=total,
            limit=limit,
            offset=offset,
        )


_Secret = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["paper", "alpaca"]
    api_key: _Secret | None = None
    api_secret: _Secret | None = None


class ConnectionOut(BaseModel):
    id: str
    kind: str
    api_key_hint: str | None


@router.post(
    "/broker-connections",
    status_code=201,
    response_model=ConnectionOut,
    responses=documented(401, 403, 413, 422, 503),
    tags=["brokers"],
    summary="Add a broker connection (its keys are encrypted; never returned)",
)
def create_connection(body: ConnectionIn, caller: Admin, state: State) -> ConnectionOut:
    if body.kind == "alpaca" and not (body.api_key and body.api_secret):
        missing = "api_key" if not body.api_key else "api_secret"
        raise InputError("an alpaca connection needs api_key and api_secret", field=missing)
    if (body.api_key is None) != (body.api_secret is None):
        missing = "api_key" if body.api_key is None else "api_secret"
        raise InputError("give api_key and api_secret together", field=missing)
    secret = None
    hint = None
    if body.api_key is not None and body.api_secret is not None:
        keys, _ = load_keys(state.settings.home)
        secret = encrypt_secret(
            make_ring(keys), {"api_key": body.api_key, "api_secret": body.api_secret}
        )
        hint = "…" + body.api_key[-4:] if len(body.api_key) >= 8 else "…"
    with state.write(caller) as scope:
        row = scope.add(BrokerConnection(kind=body.kind, api_key_hint=hint, secret=secret))
        scope.audit("broker_connection.create", f"broker_connection:{row.id}", {"kind": body.kind})
        return ConnectionOut(id=row.id, kind=row.kind, api_key_hint=row.api_key_hint)


@router.get(
    "/broker-connections",
    response_model=Page[ConnectionOut],
    responses=documented(401, 403, 422),
    tags=["brokers"],
    summary="The firm's broker connections (never their keys)",
)
def list_connections(
    caller: Viewer, state: State, limit: Limit = 50, offset: Offset = 0
) -> Page[ConnectionOut]:
    with state.read(caller) as scope:
        rows, total = scope.page(
            scope.select(BrokerConnection).order_by(
                BrokerConnection.created_at, BrokerConnection.id
            ),
            limit=limit,
            offset=offset,
        )
        return Page(
            items=[ConnectionOut(id=r.id, kind=r.kind, api_key_hint=r.api_key_hint) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
        )


class Breach(BaseModel):
    symbol: str
    weight: float
    target: float
    drift: float


class DriftRow(BaseModel):
    id: str
    name: str
    prices: str
    as_of: date | None
    total_value: float | None
    triggered: bool | None
    reasons: list[str]
    worst: Breach | None
    error: str | None = None


_drift_cache: OrderedDict[tuple[str, int, int, str, date], DriftRow] = OrderedDict()
_positions_cache: OrderedDict[int, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 50_000
_cache_lock = threading.Lock()


def _cache_get(cache: OrderedDict[Any, Any], key: Any) -> Any:
    with _cache_lock:
        return cache.get(key)


def _cache_put(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    with _cache_lock:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def _latest_snapshots(scope: FirmScope) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each household's latest snapshot id and positions (positions read once per snapshot:
    a snapshot never changes)."""
    latest = (
        select(HoldingsSnapshot.household_id, func.max(HoldingsSnapshot.version).label("v"))
        .join(HouseholdRow, HouseholdRow.id == HoldingsSnapshot.household_id)
        .where(HouseholdRow.firm_id == scope.firm_id)
        .group_by(HoldingsSnapshot.household_id)
        .subquery()
    )
    ids = scope.session.execute(
        select(HoldingsSnapshot.household_id, HoldingsSnapshot.id).join(
            latest,
            (latest.c.household_id == HoldingsSnapshot.household_id)
            & (latest.c.v == HoldingsSnapshot.version),
        )
    ).all()
    missing = [sid for _, sid in ids if _cache_get(_positions_cache, sid) is None]
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        for sid, positions in scope.session.execute(
            select(HoldingsSnapshot.id, HoldingsSnapshot.positions).where(
                HoldingsSnapshot.id.in_(chunk)
            )
        ):
            _cache_put(_positions_cache, sid, positions)
    return {hid: (sid, _cache_get(_positions_cache, sid)) for hid, sid in ids}


def _households(scope: FirmScope) -> list[tuple[str, str, int, str | None, ModelHousehold]]:
    """(id, name, version, prices, parsed household) of every household of the firm; the
    documents are read and parsed only for versions not seen before."""
    rows = scope.session.execute(
        select(HouseholdRow.id, HouseholdRow.name, HouseholdRow.version, HouseholdRow.prices)
        .where(HouseholdRow.firm_id == scope.firm_id)
        .order_by(HouseholdRow.created_at, HouseholdRow.id)
    ).all()
    missing = [r.id for r in rows if not is_parsed(r.id, r.version)]
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        for hid, version, document in scope.session.execute(
            select(HouseholdRow.id, HouseholdRow.version, HouseholdRow.document).where(
                HouseholdRow.id.in_(chunk)
            )
        ):
            parse_household(hid, version, document)
    return [(r.id, r.name, r.version, r.prices, parse_household(r.id, r.version, {})) for r in rows]


def _day_prices(table: PriceTable, as_of: date | None) -> tuple[date, dict[str, float]]:
    frame = table.frame
    day = frame.index[-1] if as_of is None else pd.Timestamp(as_of)
    if day not in frame.index:
        raise InputError(f"{day.date()} is not a day of the prices {table.name!r}", field="as_of")
    values = frame.loc[day].to_numpy(dtype=float)
    return day.date(), {
        str(k): float(v) for k, v in zip(frame.columns, values, strict=True) if math.isfinite(v)
    }


def _drift_one(
    base: dict[str, Any],
    household: ModelHousehold,
    positions: dict[str, Any],
    day: date,
    prices: dict[str, float],
) -> DriftRow:
    values: dict[str, float] = {}
    for by_symbol in positions["quantities"].values():
        for symbol, quantity in by_symbol.items():
            price = prices.get(symbol)
            if price is None:
                return DriftRow(
                    **base,
                    as_of=day,
                    total_value=None,
                    triggered=None,
                    reasons=[],
                    worst=None,
                    error=f"no price for {symbol} on {day}",
                )
            values[symbol] = values.get(symbol, 0.0) + quantity * price
    cash = float(sum(positions["cash"].values()))
    total = sum(values.values()) + cash
    targets = household.targets
    symbols = [s for s in targets if s != CASH]
    symbols += [s for s in values if s not in targets]
    symbols.append(CASH)
    held = np.array([cash if s == CASH else values.get(s, 0.0) for s in symbols])
    weights = held / total if total > 0 else np.zeros(len(symbols))
    target = np.array([targets.get(s, 0.0) for s in symbols])
    drift = weights - target
    i = int(np.argmax(np.abs(drift)))
    worst = Breach(
        symbol=symbols[i], weight=float(weights[i]), target=float(target[i]), drift=float(drift[i])
    )
    decision = household.policy.decide(
        PolicyContext(as_of=day, symbols=tuple(symbols), weights=weights, target_weights=target)
    )
    return DriftRow(
        **base,
        as_of=day,
        total_value=total,
        triggered=decision.triggered,
        reasons=list(decision.reasons),
        worst=worst,
    )


def drift_rows(scope: FirmScope, prices: str | None, as_of: date | None) -> list[DriftRow]:
    """Every household of the firm with its worst drift (weight minus target, cash
    included), worst first; households without holdings or prices last.

    A household's row depends only on its version, its holdings snapshot, the prices' digest
    and the day, so it is computed once for each combination and then reused.
    """
    households = _households(scope)
    snapshots = _latest_snapshots(scope)
    firm_prices = scope.firm().prices
    tables: dict[str, tuple[PriceTable, date, dict[str, float]]] = {}
    out = []
    for hid, name, version, own_prices, household in households:
        source = prices or own_prices or firm_prices
        if source not in tables:
            table = resolve_prices(scope, source, field="prices")
            tables[source] = (table, *_day_prices(table, as_of))
        table, day, day_prices = tables[source]
        base = {"id": hid, "name": name, "prices": source}
        snapshot = snapshots.get(hid)
        if snapshot is None:
            out.append(
                DriftRow(
                    **base,
                    as_of=None,
                    total_value=None,
                    triggered=None,
                    reasons=[],
                    worst=None,
                    error="no holdings imported",
                )
            )
            continue
        key = (hid, version, snapshot[0], table.digest, day)
        row = _cache_get(_drift_cache, key)
        if row is None or row.name != name:
            try:
                row = _drift_one(base, household, snapshot[1], day, day_prices)
            except Exception as exc:  # a policy that needs more than weights (e.g. history)
                row = DriftRow(
                    **base,
                    as_of=day,
                    total_value=None,
                    triggered=None,
                    reasons=[],
                    worst=None,
                    error=f"drift not available: {type(exc).__name__}",
                )
            _cache_put(_drift_cache, key, row)
        out.append(row)
    out.sort(key=lambda d: (d.worst is None, -abs(d.worst.drift) if d.worst else 0.0, d.name, d.id))
    return out


@router.get(
    "/drift",
    response_model=Page[DriftRow],
    responses=documented(401, 403, 422),
    tags=["households"],
    summary="Every household with its worst drift, worst first",
)
def get_drift(
    caller: Viewer,
    state: State,
    prices: Annotated[
        str | None, Query(min_length=1, max_length=500, pattern=r"^[^\x00]*$")
    ] = None,
    as_of: date | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Offset = 0,
) -> JSONResponse:
    """Weights at the prices' close on ``as_of`` (default: their last day) against each
    household's targets; ``triggered`` and ``reasons`` are its policy's decision."""
    with state.read(caller) as scope:
        rows = drift_rows(scope, prices, as_of)
    page = rows[offset : offset + limit]
    return JSONResponse(  # rows are validated models already: no second validation
        {
            "items": [r.model_dump(mode="json") for r in page],
            "total": len(rows),
            "limit": limit,
            "offset": offset,
        }
    )


class AuditOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    object: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@router.get(
    "/audit",
    response_model=Page[AuditOut],
    responses=documented(401, 403, 422),
    tags=["audit"],
    summary="The firm's audit trail, in order",
)
def get_audit(
    caller: Viewer, state: State, limit: Limit = 100, offset: Offset = 0
) -> Page[AuditOut]:
    with state.read(caller) as scope:
        events, total = scope.page(
            scope.select(AuditEvent).order_by(AuditEvent.seq), limit=limit, offset=offset
        )
        return Page(
            items=[AuditOut(**event_to_dict(e)) for e in events],
            total=total,
            limit=limit,
            offset=offset,
        )
