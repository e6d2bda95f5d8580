"""``/households``: the household documents (the TOML's tables as JSON), holdings snapshots,
transactions, export and deletion (data privacy)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from poise._errors import InputError
from poise.app import NotFoundError
from poise.io import HOLDINGS_COLUMNS, holdings_from_text, transactions_from_text
from poise.model import Household
from poise.service._deps import Admin, Advisor, State, Viewer
from poise.service._http import Limit, ObjectId, Offset, documented, reject_nul
from poise.service._pages import Page
from poise.store import (
    AccountRow,
    BrokerConnection,
    CashBalance,
    FirmScope,
    HoldingsSnapshot,
    HouseholdRow,
    LedgerTransaction,
    LotRow,
    PlanRow,
    SqlHouseholdStore,
    SqlLedgerStore,
    utcnow,
)

__all__ = ["household_document", "router"]

router = APIRouter(tags=["households"])

_MAX_NAME = 200


class HouseholdCreated(BaseModel):
    id: str
    name: str


class HouseholdSummary(BaseModel):
    id: str
    name: str
    version: int
    prices: str | None
    created_at: datetime
    updated_at: datetime


class HouseholdDetail(HouseholdSummary):
    document: dict[str, Any]
    holdings_version: int | None


class HoldingsImported(BaseModel):
    lots: int
    version: int
    cash: dict[str, float]


class LotOut(BaseModel):
    account: str
    symbol: str
    quantity: float
    cost_basis: float | None
    acquired: str | None


class HoldingsOut(BaseModel):
    version: int
    created_at: datetime
    lots: list[LotOut]
    cash: dict[str, float]


class TransactionsImported(BaseModel):
    transactions: int


_HOUSEHOLD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": (
                        "The household TOML's tables as JSON, the same keys (name, accounts, "
                        "targets, policy, trading, tax, harvest, ...), plus an optional "
                        "`prices`: the price set or bundled data set its plans use."
                    ),
                    "additionalProperties": True,
                    "example": {
                        "name": "Rivera household",
                        "accounts": [{"id": "brokerage", "kind": "taxable"}],
                        "targets": {"AAPL": 0.6, "MSFT": 0.4},
                    },
                }
            }
        },
    }
}

_LOT_SCHEMA = {
    "type": "object",
    "required": ["account", "symbol", "quantity"],
    "additionalProperties": False,
    "properties": {
        "account": {"type": "string"},
        "symbol": {"type": "string", "description": "CASH for an account's cash"},
        "quantity": {"type": "number"},
        "cost_basis": {"type": ["number", "null"], "description": "the lot's total cost"},
        "acquired": {"type": ["string", "null"], "format": "date"},
    },
}

_HOLDINGS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "description": ",".join(HOLDINGS_COLUMNS)}},
            "application/json": {"schema": {"type": "array", "items": _LOT_SCHEMA}},
        },
    }
}

_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON; 422 naming the problem otherwise."""
    raw = await request.body()
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InputError("the body is not valid JSON", field="") from None
    except RecursionError:
        raise InputError("the body is nested too deeply", field="") from None
    reject_nul(value, ["body"])
    return value


async def text_body(request: Request) -> str:
    """The request body as UTF-8 text; 422 otherwise."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the body is not UTF-8 text", field="") from None
    if "\x00" in text:
        raise InputError("the body contains a NUL character", field="")
    return text


def household_document(body: Any) -> tuple[dict[str, Any], str | None, str, Household]:
    """Split a household body into its document, its own prices source and its name; the
    document is checked by parsing it exactly as the command line parses the TOML.

    Raises
    ------
    InputError
        ``field`` is the path of the bad key.
    """
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object (the household TOML's tables)", field="")
    document = dict(body)
    prices = document.pop("prices", None)
    if prices is not None and (
        not isinstance(prices, str) or not prices.strip() or len(prices) > 500
    ):
        raise InputError("must name a price set or bundled data set", field="prices")
    name = document.get("name", "household")
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
        raise InputError(f"must be a string of 1 to {_MAX_NAME} characters", field="name")
    document.setdefault("name", name)
    household = _check_fresh(document)
    return document, prices, name, household


MAX_ACCOUNT = 100
MAX_SYMBOL = 32


def _check_fresh(document: dict[str, Any]) -> Household:
    from poise.io import household_from_dict

    try:
        household = household_from_dict(document, source="household")
    except InputError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as exc:
        raise InputError(f"not a valid household ({type(exc).__name__})", field="") from None
    for i, account in enumerate(household.accounts):
        if len(account.id) > MAX_ACCOUNT:
            raise InputError(f"at most {MAX_ACCOUNT} characters", field=f"accounts[{i}].id")
    symbols = [
        *household.targets,
        *(s for alts in household.harvest.substitutes.values() for s in alts),
    ]
    if household.allocation is not None:
        symbols += list(household.allocation.symbols)
    for symbol in symbols:
        if len(symbol) > MAX_SYMBOL:
            raise InputError(
                f"symbol {symbol[:40]!r}… is longer than {MAX_SYMBOL} characters", field="targets"
            )
    return household


def check_symbols(symbols: Iterable[str]) -> None:
    """Refuse symbols longer than the store keeps (422 rather than a database error)."""
    for symbol in symbols:
        if len(symbol) > MAX_SYMBOL:
            raise InputError(
                f"symbol {symbol[:40]!r}… is longer than {MAX_SYMBOL} characters", field=""
            )


def sync_accounts(scope: FirmScope, household_id: str, household: Household) -> None:
    """Keep the household's account rows in step with its document (an account's broker
    connection survives an update that keeps the account)."""
    rows = {
        a.name: a
        for a in scope.session.scalars(
            select(AccountRow).where(AccountRow.household_id == household_id)
        )
    }
    wanted = {a.id: a.kind.value for a in household.accounts}
    for name, row in rows.items():
        if name not in wanted:
            scope.session.delete(row)
        else:
            row.kind = wanted[name]
    scope.session.add_all(
        AccountRow(household_id=household_id, name=name, kind=kind)
        for name, kind in wanted.items()
        if name not in rows
    )
    scope.session.flush()


def _summary(row: HouseholdRow) -> HouseholdSummary:
    return HouseholdSummary(
        id=row.id,
        name=row.name,
        version=row.version,
        prices=row.prices,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post(
    "/households",
    status_code=201,
    response_model=HouseholdCreated,
    responses=documented(401, 403, 413, 422),
    openapi_extra=_HOUSEHOLD_BODY,
    summary="Add a household",
)
async def create_household(request: Request, caller: Advisor, state: State) -> HouseholdCreated:
    document, prices, name, household = household_document(await json_body(request))
    with state.write(caller) as scope:
        row = scope.add(HouseholdRow(name=name, document=document, prices=prices, version=1))
        sync_accounts(scope, row.id, household)
        scope.audit("household.create", f"household:{row.id}", {"version": 1})
        return HouseholdCreated(id=row.id, name=row.name)


@router.get(
    "/households",
    response_model=Page[HouseholdSummary],
    responses=documented(401, 403, 422),
    summary="The firm's households, oldest first",
)
def list_households(
    caller: Viewer, state: State, limit: Limit = 50, offset: Offset = 0
) -> Page[HouseholdSummary]:
    with state.read(caller) as scope:
        rows, total = scope.page(
            scope.select(HouseholdRow).order_by(HouseholdRow.created_at, HouseholdRow.id),
            limit=limit,
            offset=offset,
        )
        return Page(items=[_summary(r) for r in rows], total=total, limit=limit, offset=offset)


def _detail(scope: FirmScope, row: HouseholdRow) -> HouseholdDetail:
    snap = SqlLedgerStore(scope).latest_snapshot(row.id)
    return HouseholdDetail(
        **_summary(row).model_dump(),
        document=row.document,
        holdings_version=snap.version if snap else None,
    )


@router.get(
    "/households/{household_id}",
    response_model=HouseholdDetail,
    responses=documented(401, 403, 404, 422),
    summary="One household",
)
def get_household(household_id: ObjectId, caller: Viewer, state: State) -> HouseholdDetail:
    with state.read(caller) as scope:
        return _detail(scope, scope.get(HouseholdRow, household_id))


@router.put(
    "/households/{household_id}",
    response_model=HouseholdDetail,
    responses=documented(401, 403, 404, 413, 422),
    openapi_extra=_HOUSEHOLD_BODY,
    summary="Replace a household's document (its version goes up)",
)
async def put_household(
    household_id: ObjectId, request: Request, caller: Advisor, state: State
) -> HouseholdDetail:
    body = await json_body(request)
    with state.read(caller) as scope:
        scope.get(HouseholdRow, household_id)  # 404 before judging the body
    document, prices, name, household = household_document(body)
    with state.write(caller) as scope:
        row = scope.get(HouseholdRow, household_id)
        row.document, row.prices, row.name = document, prices, name
        sync_accounts(scope, row.id, household)
        row.version += 1
        row.updated_at = utcnow()
        scope.session.flush()
        scope.audit("household.update", f"household:{row.id}", {"version": row.version})
        return _detail(scope, row)


@router.delete(
    "/households/{household_id}",
    status_code=204,
    responses=documented(401, 403, 404, 422),
    summary="Delete a household and everything held about it",
)
def delete_household(household_id: ObjectId, caller: Advisor, state: State) -> Response:
    """Removes the household, its holdings snapshots, transactions and plans. The audit trail
    keeps that it happened (who, when, the id), not the data."""
    with state.write(caller) as scope:
        scope.delete_household(household_id)
        scope.audit("household.delete", f"household:{household_id}")
    return Response(status_code=204)


def _lots_csv(body: Any) -> str:
    """A JSON list of lots as holdings CSV text (validated by the one CSV reader)."""
    if not isinstance(body, list):
        raise InputError("must be a JSON list of lots (or a text/csv body)", field="")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HOLDINGS_COLUMNS)
    allowed = set(HOLDINGS_COLUMNS)
    for i, lot in enumerate(body):
        if not isinstance(lot, dict):
            raise InputError("must be an object", field=str(i))
        unknown = sorted(set(lot) - allowed)
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r}; lots have {', '.join(HOLDINGS_COLUMNS)}",
                field=f"{i}.{unknown[0]}",
            )
        row = []
        for column in HOLDINGS_COLUMNS:
            value = lot.get(column)
            if value is None:
                row.append("")
            elif isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InputError("must be a string or a number", field=f"{i}.{column}")
            else:
                row.append(str(value))
        writer.writerow(row)
    return out.getvalue()


def _json_line_path(exc: InputError) -> InputError:
    """``line N`` of the generated CSV is item ``N - 2`` of the JSON list."""
    if exc.field and exc.field.startswith("line "):
        try:
            index = int(exc.field.removeprefix("line ")) - 2
        except ValueError:
            return exc
        return InputError(exc.message, field=str(index))
    return exc


@router.put(
    "/households/{household_id}/holdings",
    response_model=HoldingsImported,
    responses=documented(401, 403, 404, 413, 422),
    openapi_extra=_HOLDINGS_BODY,
    summary="Import holdings (a new snapshot; the previous ones are kept)",
)
async def put_holdings(
    household_id: ObjectId, request: Request, caller: Advisor, state: State
) -> HoldingsImported:
    """The body is a holdings CSV (``text/csv``: account,symbol,quantity,cost_basis,acquired;
    CASH rows for cash) or a JSON list of lots with the same keys."""
    is_json = request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
    body: Any = await json_body(request) if is_json else await text_body(request)
    with state.read(caller) as scope:
        household = SqlHouseholdStore(scope).get(household_id).household
    if is_json:
        try:
            holdings = holdings_from_text(_lots_csv(body), household, source="")
        except InputError as exc:
            raise _json_line_path(exc) from None
    else:
        holdings = holdings_from_text(body, household, source="")
    check_symbols(holdings.symbols)
    with state.write(caller) as scope:
        record = SqlLedgerStore(scope, caller.user_id).save_holdings(household_id, holdings)
        scope.audit(
            "holdings.import",
            f"household:{household_id}",
            {"version": record.version, "lots": len(holdings.lots)},
        )
    return HoldingsImported(
        lots=len(holdings.lots), version=record.version, cash=dict(holdings.cash)
    )


@router.get(
    "/households/{household_id}/holdings",
    response_model=HoldingsOut,
    responses=documented(401, 403, 404, 422),
    summary="The latest holdings snapshot",
)
def get_holdings(household_id: ObjectId, caller: Viewer, state: State) -> HoldingsOut:
    with state.read(caller) as scope:
        ledger = SqlLedgerStore(scope)
        snap = ledger.latest_snapshot(household_id)
        if snap is None:
            raise InputError("no holdings imported for this household yet", field="holdings")
        return _snapshot_out(scope, snap)


def _snapshot_out(scope: FirmScope, snap: HoldingsSnapshot) -> HoldingsOut:
    lots = scope.session.scalars(
        select(LotRow).where(LotRow.snapshot_id == snap.id).order_by(LotRow.id)
    )
    cash = scope.session.scalars(select(CashBalance).where(CashBalance.snapshot_id == snap.id))
    return HoldingsOut(
        version=snap.version,
        created_at=snap.created_at,
        lots=[
            LotOut(
                account=r.account,
                symbol=r.symbol,
                quantity=r.quantity,
                cost_basis=r.cost_basis,
                acquired=r.acquired.isoformat(),
            )
            for r in lots
        ],
        cash={c.account: c.amount for c in cash},
    )


@router.post(
    "/households/{household_id}/transactions",
    status_code=201,
    response_model=TransactionsImported,
    responses=documented(401, 403, 404, 413, 422),
    openapi_extra=_CSV_BODY,
    summary="Record past trades (the transactions CSV), for the wash-sale rule",
)
async def post_transactions(
    household_id: ObjectId, request: Request, caller: Advisor, state: State
) -> TransactionsImported:
    text = await text_body(request)
    with state.read(caller) as scope:
        household = SqlHouseholdStore(scope).get(household_id).household
    txs = transactions_from_text(text, household, source="")
    check_symbols(t.symbol for t in txs)
    with state.write(caller) as scope:
        count = SqlLedgerStore(scope, caller.user_id).add_transactions(household_id, txs)
        scope.audit("transactions.import", f"household:{household_id}", {"transactions": count})
    return TransactionsImported(transactions=count)


@router.get(
    "/households/{household_id}/export",
    responses=documented(401, 403, 404, 422),
    summary="Everything held about a household (data privacy)",
)
def export_household(household_id: ObjectId, caller: Viewer, state: State) -> dict[str, Any]:
    """The household's document, every holdings snapshot, every transaction and every plan."""
    with state.read(caller) as scope:
        row = scope.get(HouseholdRow, household_id)
        snaps = scope.session.scalars(
            select(HoldingsSnapshot)
            .where(HoldingsSnapshot.household_id == row.id)
            .order_by(HoldingsSnapshot.version)
        )
        txs = scope.session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.household_id == row.id)
            .order_by(LedgerTransaction.date, LedgerTransaction.id)
        )
        plans = scope.session.scalars(
            scope.select(PlanRow).where(PlanRow.household_id == row.id).order_by(PlanRow.created_at)
        )
        return {
            "household": _detail(scope, row).model_dump(mode="json"),
            "holdings": [_snapshot_out(scope, s).model_dump(mode="json") for s in snaps],
            "transactions": [
                {
                    "date": t.date.isoformat(),
                    "account": t.account,
                    "symbol": t.symbol,
                    "side": t.side,
                    "quantity": t.quantity,
                    "price": t.price,
                    "cost_basis": t.cost_basis,
                    "source": t.source,
                }
                for t in txs
            ],
            "plans": [
                {**p.body, "id": p.id, "status": p.status, "created_at": p.created_at.isoformat()}
                for p in plans
            ],
        }


class AccountOut(BaseModel):
    name: str
    kind: str
    broker_connection: str | None


class AccountLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    broker_connection: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None


AccountName = Annotated[str, PathParam(pattern=r"^[^\x00/]{1,100}$", description="Account id")]


def _accounts_out(scope: FirmScope, household_id: str) -> list[AccountOut]:
    rows = scope.session.scalars(
        select(AccountRow).where(AccountRow.household_id == household_id).order_by(AccountRow.id)
    )
    return [
        AccountOut(name=a.name, kind=a.kind, broker_connection=a.broker_connection_id) for a in rows
    ]


@router.get(
    "/households/{household_id}/accounts",
    response_model=list[AccountOut],
    responses=documented(401, 403, 404, 422),
    summary="A household's accounts and the broker connection each sends orders to",
)
def get_accounts(household_id: ObjectId, caller: Viewer, state: State) -> list[AccountOut]:
    with state.read(caller) as scope:
        return _accounts_out(scope, scope.check_household(household_id))


@router.put(
    "/households/{household_id}/accounts/{account}",
    response_model=list[AccountOut],
    responses=documented(401, 403, 404, 413, 422),
    summary="Send an account's orders to a broker connection (null: to none)",
)
def link_account(
    household_id: ObjectId, account: AccountName, body: AccountLink, caller: Admin, state: State
) -> list[AccountOut]:
    with state.write(caller) as scope:
        scope.check_household(household_id)
        row = scope.session.scalar(
            select(AccountRow).where(
                AccountRow.household_id == household_id, AccountRow.name == account
            )
        )
        if row is None:
            raise NotFoundError(f"no account {account}")
        if body.broker_connection is not None:
            try:
                scope.get(BrokerConnection, body.broker_connection)
            except NotFoundError:
                raise InputError("no such broker connection", field="broker_connection") from None
        row.broker_connection_id = body.broker_connection
        scope.session.flush()
        scope.audit(
            "account.link",
            f"household:{household_id}",
            {"account_row": row.id, "broker_connection": body.broker_connection},
        )
        return _accounts_out(scope, household_id)
