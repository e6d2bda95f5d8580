"""Price sets, broker connections, the firm's drift and its audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from poise._errors import InputError
from poise.data import is_dataset
from poise.io import prices_from_text
from poise.service._deps import Admin, Advisor, State, Viewer
from poise.service._households import text_body
from poise.service._http import Limit, Offset, documented, input_error
from poise.service._pages import Page
from poise.service._prices import digest_text
from poise.service.web._data import load_book
from poise.service.web._views import BookRow
from poise.store import (
    AuditEvent,
    BrokerConnection,
    FirmScope,
    PriceSet,
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
    if is_dataset(name):  # a stored set is found first: it would replace the bundled one
        return input_error(
            InputError(
                f"{name!r} is a bundled data set; store your prices under another name "
                "(e.g. my-prices) and name that in plans and households"
            ),
            prefix=["path", "name"],
        )
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


def _drift_row(row: BookRow) -> DriftRow:
    base = {"id": row.id, "name": row.name, "prices": row.prices or ""}
    if row.error is not None or row.largest_symbol is None:
        return DriftRow(
            **base,
            as_of=row.as_of,
            total_value=None,
            triggered=None,
            reasons=[],
            worst=None,
            error=row.error or "drift not available",
        )
    return DriftRow(
        **base,
        as_of=row.as_of,
        total_value=row.total_value,
        triggered=row.triggered,
        reasons=list(row.reasons),
        worst=Breach(
            symbol=row.largest_symbol,
            weight=row.largest_weight,
            target=row.largest_target,
            drift=row.largest_drift,
        ),
    )


def drift_rows(scope: FirmScope, prices: str | None, as_of: date | None) -> list[DriftRow]:
    """Every household of the firm with its worst drift (weight minus target, cash
    included), worst first; households without holdings or prices last.

    The weights and the policy's verdict are the dashboard book's
    (:func:`poise.service.web.load_book`, on :func:`poise.scale.screen`): one computation for
    the page and the API. ``prices`` replaces each household's own price source.
    """
    book = load_book(scope, as_of, prices=prices, strict=True)
    out = [_drift_row(row) for row in book.rows]
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
