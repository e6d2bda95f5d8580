"""The command line's ``poise orders recover | cancel-all | submit`` on a service's database
touch only the plans made from plan files: a service-sent plan, partly filled at the service's
paper venue, is left exactly as it was when the command line runs with another paper venue
(``POISE_PAPER_URL`` pointing elsewhere), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from poise.broker import PaperVenue, paper_url
from poise.service import create_app
from poise.store import SqlOrderStore, open_store
from tests.conftest import run_cli
from tests.databases import BACKENDS, database_url
from tests.execute.plan3 import write_plan
from tests.service.conftest import Api, make_settings
from tests.service.test_orders_route import _approved_plan, _connection


def _snapshot(url: str) -> tuple[list[Any], list[Any]]:
    engine = open_store(url)
    try:
        store = SqlOrderStore(engine)
        intents = [
            (i.client_order_id, i.state.value, i.filled_quantity, i.venue_order_id)
            for i in store.intents()
        ]
        fills = [(f.execution_id, f.quantity, f.price) for f in store.fills()]
        return intents, fills
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path, str]]:
    """A service database with one plan sent by the service and left partly filled (the
    service stopped): its URL, the service's home and the plan's id."""
    for name in ("POISE_PAPER_URL", "POISE_FAILPOINT", "POISE_PAPER_FAULT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POISE_PAPER_SLICES", "1000")
    monkeypatch.setattr("poise.service._orders.SEND_TIMEOUT", 0.3)
    home = tmp_path / "service"
    home.mkdir()
    with database_url(request.param, tmp_path) as url:
        app = create_app(make_settings(url, home))
        with TestClient(app) as client:
            firm = Api(request.param, app, client, app.state.poise.engine, app.state.poise.settings)
            advisor = firm.firm()
            plan = _approved_plan(advisor)
            conn = _connection(advisor)
            path = f"/plans/{plan['id']}/orders"
            r = advisor.call("advisor", "POST", path, json={"connection": conn})
            assert r.status_code == 201, r.text
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                body = advisor.call("viewer", "GET", path).json()
                if {o["state"] for o in body["orders"] if o["side"] == "sell"} == {
                    "partially_filled"
                }:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the service's sells did not fill in part")
        app.state.poise.engine.dispose()
        yield url, home, plan["id"]


def test_cli_leaves_a_service_sent_plan_alone(
    served: tuple[str, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, service_home, _ = served
    before = _snapshot(url)
    states = {state for _, state, _, _ in before[0]}
    assert "partially_filled" in states, before
    assert before[1], "the service recorded fills"
    at_service = {
        o.client_order_id: o.filled_quantity for o in PaperVenue(paper_url(service_home)).orders()
    }
    # the command line, on the same database, with another paper venue
    cli_home = tmp_path / "cli"
    cli_home.mkdir()
    other = f"sqlite:///{cli_home / 'other-paper.db'}"
    monkeypatch.setenv("POISE_HOME", str(cli_home))
    monkeypatch.setenv("POISE_DATABASE_URL", url)
    monkeypatch.setenv("POISE_PAPER_URL", other)
    monkeypatch.delenv("POISE_PAPER_SLICES")
    recovered = run_cli(["orders", "recover"])
    assert recovered.code == 0, recovered.stderr + recovered.stdout
    cancelled = run_cli(["orders", "cancel-all"])
    assert cancelled.code == 0, cancelled.stderr + cancelled.stdout
    assert "cancelled 0 order(s)" in cancelled.stdout
    # a plan file of its own goes through, and its recover sees only it
    write_plan(cli_home)
    sent = run_cli(["orders", "submit", cli_home / "plan.json", "--broker", "paper", "--json"])
    assert sent.code == 0, sent.stderr
    mine = {o["client_order_id"] for o in sent.json()["orders"]}
    assert {o.client_order_id for o in PaperVenue(other).orders()} == mine
    assert run_cli(["orders", "recover"]).code == 0
    after = _snapshot(url)
    assert [i for i in after[0] if i[0] not in mine] == before[0]
    assert after[1][: len(before[1])] == before[1]
    monkeypatch.delenv("POISE_PAPER_URL")
    again = {
        o.client_order_id: o.filled_quantity for o in PaperVenue(paper_url(service_home)).orders()
    }
    assert again == at_service
