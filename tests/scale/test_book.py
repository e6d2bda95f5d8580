"""The store's book: ``poise batch rebalance --firm`` plans every household of a firm from the
store and saves each plan as the service's ``POST /households/{id}/plans`` does, on SQLite and
on PostgreSQL (a database of its own per test session)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient
from sqlalchemy import select

from poise.service import create_app
from poise.store import AuditEvent, PlanRow, PlanTrade, read_session
from tests.conftest import run_cli
from tests.databases import BACKENDS, database_url
from tests.service.conftest import Api, FirmClient, make_settings

AS_OF = "2022-12-01"
# everything in one stock: far outside every band
SKEWED = "account,symbol,quantity,cost_basis,acquired\nbrokerage,AAPL,400,20000,2019-03-15\n"
TRADES = (
    "date,account,symbol,side,quantity,price,cost_basis\n"
    "2022-11-21,brokerage,AAPL,sell,5,140.0,900.0\n"
    "2022-11-25,brokerage,MSFT,buy,2,240.0,\n"
)
# the bookkeeping the service adds to a plan's object
BOOKKEEPING = {"id", "status", "household_id", "prices", "created_at", "decided_at"}


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp(f"book-{request.param}")
    with database_url(request.param, home) as url:
        settings = make_settings(url, home)
        app = create_app(settings)
        with TestClient(app) as client:
            yield Api(request.param, app, client, app.state.poise.engine, settings)
        app.state.poise.engine.dispose()


def _book(api: Api) -> tuple[FirmClient, dict[str, str]]:
    """A firm of four households: the example, one all in AAPL, one without holdings, one
    whose own prices do not exist; and another firm's household."""
    firm = api.firm()
    ids = {
        "example": firm.household(name="Example"),
        "skewed": firm.household(name="Skewed"),
        "empty": firm.household(name="No holdings"),
        "no prices": firm.household(name="Unknown prices", prices="nosuch"),
    }
    firm.holdings(ids["example"])
    r = firm.call(  # past trades: the wash-sale rule and the substitutes' prices are looked up
        "advisor",
        "POST",
        f"/households/{ids['example']}/transactions",
        content=TRADES,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    firm.holdings(ids["skewed"], SKEWED)
    firm.holdings(ids["no prices"])
    other = api.firm()
    other.holdings(other.household(name="Other firm"))
    return firm, ids


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _run(api: Api, firm: FirmClient, tmp_path: Path, *extra: str) -> tuple[Any, list[Any]]:
    out = tmp_path / "plans.jsonl"
    result = run_cli(
        [
            "batch",
            "rebalance",
            "--database-url",
            api.settings.database_url,
            "--firm",
            firm.name,
            "--as-of",
            AS_OF,
            "--out",
            out,
            *extra,
        ]
    )
    assert result.code == 0, result.stderr
    return result, _records(out.read_text())


def _plan_events(api: Api) -> dict[str, dict[str, Any]]:
    with read_session(api.engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "plan.create"))
        return {e.object.removeprefix("plan:"): dict(e.detail) for e in events}


def test_plans_are_saved_as_the_service_saves_them(api: Api, tmp_path: Path) -> None:
    firm, ids = _book(api)
    events_before = _plan_events(api)
    result, records = _run(api, firm, tmp_path)
    assert [r["household"] for r in records] == list(ids.values())  # oldest first, this firm
    assert [r["ok"] for r in records] == [True, True, False, False], records[0]
    assert records[2]["error"] == "holdings: no holdings imported for this household yet"
    assert "no price set 'nosuch'" in records[3]["error"]
    assert "batch: 4 households, " in result.stderr
    assert "2 plans saved as proposed" in result.stderr

    for record, name in zip(records[:2], ("example", "skewed"), strict=True):
        saved = firm.call("viewer", "GET", f"/plans/{record['plan_id']}").json()
        assert saved["status"] == "proposed"
        assert saved["household_id"] == ids[name]
        assert saved["prices"] == "sp500"  # the firm's prices
        body = {k: v for k, v in saved.items() if k not in BOOKKEEPING}
        assert body == record["plan"]
        # the service's own plan of the same household on the same day is the same plan
        made = firm.plan(ids[name], as_of=AS_OF)
        assert {k: v for k, v in made.items() if k not in BOOKKEEPING} == body
        # it was saved with what it was made from: approving it is allowed (no 409)
        approved = firm.call("advisor", "POST", f"/plans/{record['plan_id']}/approve")
        assert approved.status_code == 200, approved.text

    skewed = records[1]["plan"]
    assert skewed["triggered"] is True
    with read_session(api.engine) as session:
        legs = session.scalars(
            select(PlanTrade).where(PlanTrade.plan_id == records[1]["plan_id"])
        ).all()
        made_by_batch = session.scalars(
            select(PlanRow).where(PlanRow.id.in_([r["plan_id"] for r in records[:2]]))
        ).all()
    assert [(t.leg, t.symbol, t.side) for t in legs] == [
        (k, t["symbol"], t["side"]) for k, t in enumerate(skewed["trades"], start=1)
    ]
    assert {p.created_by for p in made_by_batch} == {None}

    events = _plan_events(api)
    new = {k: v for k, v in events.items() if k not in events_before}
    batch_events = {r["plan_id"]: new[r["plan_id"]] for r in records[:2]}
    assert len(new) == 4  # two by the batch, two by the service; none for the failures
    assert batch_events[records[1]["plan_id"]] == {
        "household": ids["skewed"],
        "trades": len(skewed["trades"]),
        "triggered": True,
        "prices_digest": batch_events[records[1]["plan_id"]]["prices_digest"],
    }
    verify = run_cli(["audit", "verify", "--database-url", api.settings.database_url])
    assert verify.code == 0, verify.stderr


def test_only_triggered_saves_only_triggered_plans(api: Api, tmp_path: Path) -> None:
    firm, ids = _book(api)
    expected = firm.plan(ids["example"], as_of=AS_OF)["triggered"]
    _, records = _run(api, firm, tmp_path, "--only-triggered", "--workers", "2")
    written = [r["household"] for r in records]
    assert written == ([ids["example"]] if expected else []) + [
        ids["skewed"],
        ids["empty"],
        ids["no prices"],
    ]
    saved = firm.call("viewer", "GET", f"/plans?household_id={ids['skewed']}").json()
    assert [p["id"] for p in saved["items"]] == [records[-3]["plan_id"]]


def test_a_price_set_for_every_household(api: Api, tmp_path: Path) -> None:
    firm, _ = _book(api)
    _, records = _run(api, firm, tmp_path, "--prices", "sp500")
    assert [r["ok"] for r in records] == [True, True, False, True]  # "nosuch" is overridden
    saved = firm.call("viewer", "GET", f"/plans/{records[3]['plan_id']}").json()
    assert saved["prices"] == "sp500"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--firm", "No such firm"], "--firm: no firm named 'No such firm'"),
        (["--firm", "{firm}", "--prices", "nosuch"], "--prices: no price set 'nosuch'"),
        (["--firm", "{firm}", "--as-of", "2022-06-04"], "--as-of: no prices on 2022-06-04"),
        (["--firm", "{firm}", "--resume"], "--resume: --resume reads a manifest's output"),
        (["manifest.csv", "--firm", "{firm}"], "--firm: give a MANIFEST or --firm, not both"),
        ([], "MANIFEST: give a MANIFEST CSV, or --firm NAME to plan from the store"),
    ],
)
def test_bad_book_options_exit_2(api: Api, args: list[str], message: str) -> None:
    firm = api.firm()
    firm.holdings(firm.household())
    args = [a.replace("{firm}", firm.name) for a in args]
    result = run_cli(["batch", "rebalance", "--database-url", api.settings.database_url, *args])
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_household_order_and_output_on_stdout(api: Api) -> None:
    firm, ids = _book(api)
    result = run_cli(
        [
            "batch",
            "rebalance",
            "--database-url",
            api.settings.database_url,
            "--firm",
            firm.name,
            "--as-of",
            AS_OF,
        ]
    )
    assert result.code == 0, result.stderr
    records = _records(result.stdout)
    assert [r["household"] for r in records] == list(ids.values())
    plan = firm.call("viewer", "GET", f"/plans/{records[0]['plan_id']}").json()
    assert plan["household_id"] == ids["example"]


def test_a_plan_that_cannot_be_saved_leaves_nothing(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving fails for one household after its plan row, trades and audit event were written:
    its savepoint is rolled back (no plan, no event), the others are saved, the chain holds."""
    import poise.store
    from poise._errors import PoiseError
    from poise.scale import BookRequest, firm_id, plan_book

    firm, ids = _book(api)
    save = poise.store.save_plan

    def fails_for_skewed(scope: Any, proposed: Any, *, created_by: int | None) -> Any:
        plan = save(scope, proposed, created_by=created_by)
        if proposed.household_id == ids["skewed"]:
            raise PoiseError("the disk is full")
        return plan

    monkeypatch.setattr(poise.store, "save_plan", fails_for_skewed)
    before = _plan_events(api)
    result = plan_book(
        api.engine,
        BookRequest(
            firm_id=firm_id(api.engine, firm.name),
            as_of=date.fromisoformat(AS_OF),
            household_ids=[ids["example"], ids["skewed"]],
        ),
    )
    example, skewed = result.outcomes
    assert example.plan_id is not None
    assert example.error is None
    assert skewed.plan_id is None
    assert skewed.error == "the plan could not be saved: the disk is full"
    plans = firm.call("viewer", "GET", "/plans").json()["items"]
    assert [p["id"] for p in plans] == [example.plan_id]
    new = {k: v for k, v in _plan_events(api).items() if k not in before}
    assert list(new) == [example.plan_id]
    verify = run_cli(["audit", "verify", "--database-url", api.settings.database_url])
    assert verify.code == 0, verify.stderr


def test_read_book_gives_the_one_household_records(api: Api) -> None:
    """The chunk read (five queries) equals the store's one-household reads; another firm's
    household and an unknown id are left out."""
    from poise.scale import firm_id
    from poise.store import FirmScope, SqlHouseholdStore, SqlLedgerStore, read_book

    firm, ids = _book(api)
    other = api.firm()
    foreign = other.household(name="Elsewhere")
    with read_session(api.engine) as session:
        scope = FirmScope(session, firm_id(api.engine, firm.name), "test")
        found = read_book(scope, [*ids.values(), foreign, "0" * 32])
        assert list(found) == list(ids.values())
        households, ledger = SqlHouseholdStore(scope), SqlLedgerStore(scope)
        for hid in ids.values():
            assert found[hid].household == households.get(hid)
            assert found[hid].holdings == ledger.holdings(hid)
            assert found[hid].transactions == ledger.transactions(hid)
    assert found[ids["empty"]].holdings is None
    assert len(found[ids["example"]].transactions) == 2


def test_a_dask_cluster_plans_the_same_book(api: Api, dask_cluster: Any) -> None:
    """The day's prices of every table scattered once; the same plans as in this process."""
    import io

    from poise.scale import BookRequest, DaskRunner, firm_id, plan_book

    firm, ids = _book(api)
    request = BookRequest(
        firm_id=firm_id(api.engine, firm.name), as_of=date.fromisoformat(AS_OF), chunk_size=2
    )
    here, there = io.StringIO(), io.StringIO()
    plan_book(api.engine, request, sink=here)
    runner = DaskRunner(dask_cluster.scheduler_address)
    try:
        result = plan_book(api.engine, request, runner, sink=there)
    finally:
        runner.close()
    assert len(result.plan_ids) == 2

    def plans(text: str) -> list[Any]:
        return [r.get("plan", r.get("error")) for r in _records(text)]

    assert plans(there.getvalue()) == plans(here.getvalue())
    assert [r["household"] for r in _records(there.getvalue())] == list(ids.values())
