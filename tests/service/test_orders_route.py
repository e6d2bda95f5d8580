"""Sending an approved plan over HTTP: ``POST|GET /plans/{id}/orders`` against the real paper
venue (its own SQLite file), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from poise.broker import PaperVenue, paper_url
from tests.broker.fake_alpaca import FakeAlpaca
from tests.service.conftest import Api, FirmClient


def _expected_ids(plan_id: str, legs: int) -> list[str]:
    digest = hashlib.sha256(plan_id.encode("utf-8")).hexdigest()[:12]
    return [f"poise-{digest}-{leg:03d}" for leg in range(1, legs + 1)]


def _approved_plan(firm: FirmClient) -> dict[str, Any]:
    hid = firm.household()
    firm.holdings(hid)
    plan = firm.plan(hid, force=True)
    assert plan["trades"], "the example plan must trade"
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/approve")
    assert r.status_code == 200, r.text
    return dict(plan)


def _connection(firm: FirmClient) -> str:
    r = firm.call("admin", "POST", "/broker-connections", json={"kind": "paper"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _venue_orders(api: Api, plan_id: str) -> list[Any]:
    prefix = _expected_ids(plan_id, 1)[0][:-3]
    venue = PaperVenue(paper_url(api.settings.home))
    return [o for o in venue.orders() if o.client_order_id.startswith(prefix)]


def test_send_an_approved_plan_to_the_paper_venue(api: Api, firm: FirmClient) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 201, r.text
    body = r.json()
    trades = plan["trades"]
    orders = body["orders"]
    assert len(orders) == len(trades)
    assert [o["client_order_id"] for o in orders] == _expected_ids(plan["id"], len(trades))
    sides = [o["side"] for o in orders]
    assert sides == sorted(sides, key=lambda s: s != "sell")  # sells before buys
    expected = sorted((t["account"], t["symbol"], t["side"]) for t in trades)
    assert sorted((o["account"], o["symbol"], o["side"]) for o in orders) == expected
    assert body["status"] == "filled"
    assert all(o["state"] == "filled" for o in orders)
    for o in orders:
        assert len(o["fills"]) >= 1
        assert abs(sum(f["quantity"] for f in o["fills"]) - o["filled_quantity"]) < 1e-9
    # the plan moved along its status machine
    assert firm.call("viewer", "GET", f"/plans/{plan['id']}").json()["status"] == "filled"
    listed = firm.call("viewer", "GET", f"/plans/{plan['id']}/orders")
    assert listed.status_code == 200
    assert [o["client_order_id"] for o in listed.json()["orders"]] == [
        o["client_order_id"] for o in orders
    ]
    assert listed.json()["connection"] == conn
    assert all(o["fills"] for o in listed.json()["orders"])
    # every fill audited once, and the send
    events = firm.call("viewer", "GET", "/audit?limit=500").json()["items"]
    actions = [e["action"] for e in events]
    assert actions.count("plan.send") == 1
    assert actions.count("order.fill") == sum(len(o["fills"]) for o in orders)
    assert "plan.sent" in actions
    assert "plan.filled" in actions
    assert sides.count("sell") >= 1, "the example plan should sell and buy"
    assert sides.count("buy") >= 1
    # sending again sends nothing new
    again = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert again.status_code == 200, again.text
    assert [o["client_order_id"] for o in again.json()["orders"]] == [
        o["client_order_id"] for o in orders
    ]
    at_venue = _venue_orders(api, plan["id"])
    assert sorted(o.client_order_id for o in at_venue) == _expected_ids(plan["id"], len(trades))
    events = firm.call("viewer", "GET", "/audit?limit=500").json()["items"]
    assert [e["action"] for e in events].count("order.fill") == actions.count("order.fill")


def test_idempotency_key_returns_the_first_response(api: Api, firm: FirmClient) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    path, key = f"/plans/{plan['id']}/orders", {"Idempotency-Key": "send-1"}
    first = firm.call("advisor", "POST", path, json={"connection": conn}, headers=key)
    assert first.status_code == 201, first.text
    second = firm.call("advisor", "POST", path, json={"connection": conn}, headers=key)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert len(_venue_orders(api, plan["id"])) == len(plan["trades"])


def test_only_an_approved_plan_is_sent(api: Api, firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    plan = firm.plan(hid, force=True)
    conn = _connection(firm)
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 409
    assert "approved" in r.text
    assert _venue_orders(api, plan["id"]) == []
    assert firm.call("viewer", "GET", f"/plans/{plan['id']}").json()["status"] == "proposed"


def test_sending_after_holdings_changed_is_409(api: Api, firm: FirmClient) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    firm.holdings(plan["household_id"], firm_holdings_changed())
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 409, r.text
    assert "holdings" in r.json()["detail"]
    assert _venue_orders(api, plan["id"]) == []


def firm_holdings_changed() -> str:
    from tests.service.conftest import HOLDINGS_CSV

    lines = HOLDINGS_CSV.strip().splitlines()
    return "\n".join(lines[:-1]) + "\n"  # one lot fewer


def test_roles_firms_and_bad_bodies(api: Api, firm: FirmClient) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    path = f"/plans/{plan['id']}/orders"
    assert firm.call("viewer", "POST", path, json={"connection": conn}).status_code == 403
    other = api.firm(("admin", "advisor"))
    theirs = _connection(other)
    assert other.call("advisor", "POST", path, json={"connection": theirs}).status_code == 404
    assert other.call("advisor", "GET", path).status_code == 404
    assert firm.call("advisor", "POST", path, json={"connection": theirs}).status_code == 404
    assert firm.call("advisor", "POST", path, json={"connection": "0" * 32}).status_code == 404
    bad = firm.call("advisor", "POST", path, json={"connection": "nope"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "connection"]
    assert firm.call("advisor", "POST", path, json={}).status_code == 422
    assert _venue_orders(api, plan["id"]) == []
    assert firm.call("viewer", "GET", f"/plans/{plan['id']}").json()["status"] == "approved"


def test_every_status_is_in_the_openapi_document(api: Api) -> None:
    doc = api.client.get("/api/v1/openapi.json").json()
    post = doc["paths"]["/api/v1/plans/{plan_id}/orders"]["post"]["responses"]
    assert {"200", "201", "401", "403", "404", "409", "422", "502"} <= set(post)
    get = doc["paths"]["/api/v1/plans/{plan_id}/orders"]["get"]["responses"]
    assert {"200", "401", "403", "404", "422"} <= set(get)


def _alpaca_connection(firm: FirmClient) -> str:
    r = firm.call(
        "admin",
        "POST",
        "/broker-connections",
        json={"kind": "alpaca", "api_key": "AKTESTROUTE1234", "api_secret": "route-secret"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def fake_alpaca(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlpaca]:
    pytest.importorskip("alpaca")
    server = FakeAlpaca()
    monkeypatch.setenv("POISE_ALPACA_URL", server.url)
    yield server
    server.close()


def _alpaca_ids(fake: FakeAlpaca) -> list[str]:
    return sorted(str(o["client_order_id"]) for o in fake.orders.values())


def test_send_through_an_alpaca_connection(
    api: Api, firm: FirmClient, fake_alpaca: FakeAlpaca
) -> None:
    plan = _approved_plan(firm)
    fake_alpaca.prices = {t["symbol"]: t["price"] for t in plan["trades"]}
    conn = _alpaca_connection(firm)
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 201, r.text
    body = r.json()
    ids = _expected_ids(plan["id"], len(plan["trades"]))
    assert body["status"] == "filled"
    assert [o["client_order_id"] for o in body["orders"]] == ids
    assert {o["venue"] for o in body["orders"]} == {"alpaca"}
    assert {o["connection"] for o in body["orders"]} == {conn}
    assert _alpaca_ids(fake_alpaca) == sorted(ids)  # one Alpaca order per leg
    assert _venue_orders(api, plan["id"]) == []  # nothing went to the paper venue
    # each order filled at the fake's price, from one FILL activity each
    for o in body["orders"]:
        assert len(o["fills"]) == 1
        assert o["fills"][0]["price"] == pytest.approx(fake_alpaca.prices[o["symbol"]])
        assert o["filled_quantity"] == pytest.approx(o["quantity"])
    posts = fake_alpaca.posts
    again = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert again.status_code == 200
    assert fake_alpaca.posts == posts  # nothing sent twice


def test_linked_accounts_send_through_their_own_connection(
    api: Api, firm: FirmClient, fake_alpaca: FakeAlpaca
) -> None:
    """The ira account is linked to an Alpaca connection: its orders go there, every other
    account's to the request's paper connection; legs and ids stay the plan's."""
    plan = _approved_plan(firm)
    fake_alpaca.prices = {t["symbol"]: t["price"] for t in plan["trades"]}
    paper, alpaca = _connection(firm), _alpaca_connection(firm)
    linked = firm.call(
        "admin",
        "PUT",
        f"/households/{plan['household_id']}/accounts/ira",
        json={"broker_connection": alpaca},
    )
    assert linked.status_code == 200, linked.text
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": paper})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "filled"
    assert body["connection"] == paper
    orders = body["orders"]
    ids = _expected_ids(plan["id"], len(plan["trades"]))
    assert [o["client_order_id"] for o in orders] == ids
    ira = sorted(o["client_order_id"] for o in orders if o["account"] == "ira")
    rest = sorted(o["client_order_id"] for o in orders if o["account"] != "ira")
    assert ira, "the example plan trades in the ira"
    assert rest, "and in another account"
    assert all(
        (o["connection"], o["venue"])
        == ((alpaca, "alpaca") if o["account"] == "ira" else (paper, "paper"))
        for o in orders
    )
    assert _alpaca_ids(fake_alpaca) == ira
    assert sorted(o.client_order_id for o in _venue_orders(api, plan["id"])) == rest
    assert all(o["state"] == "filled" and o["fills"] for o in orders)
    listed = firm.call("viewer", "GET", f"/plans/{plan['id']}/orders").json()
    assert [(o["client_order_id"], o["connection"]) for o in listed["orders"]] == [
        (o["client_order_id"], o["connection"]) for o in orders
    ]
    # the firm's blotter lists every leg once, each with the connection it went through
    blotter = firm.call("viewer", "GET", "/orders").json()["orders"]
    mine = [o for o in blotter if o["plan_id"] == plan["id"]]
    assert [(o["client_order_id"], o["connection"]) for o in mine] == [
        (o["client_order_id"], o["connection"]) for o in orders
    ]
    # relinking after the send changes nothing: the routes were frozen when it was asked for
    firm.call(
        "admin",
        "PUT",
        f"/households/{plan['household_id']}/accounts/ira",
        json={"broker_connection": None},
    )
    again = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": paper})
    assert again.status_code == 200
    assert [o["connection"] for o in again.json()["orders"]] == [o["connection"] for o in orders]
    assert _alpaca_ids(fake_alpaca) == ira
