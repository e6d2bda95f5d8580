"""The firm's orders (``GET /orders``) and the kill switch (``POST /orders/cancel-all``,
``POST /orders/{id}/cancel``) against the real paper venue, on SQLite and PostgreSQL.

Open orders come from the paper venue's partial fills (``POISE_PAPER_SLICES``: one slice on
acceptance and one per look-up) and a short send timeout, so a send returns with its sells
partly filled and its buys unsent."""

from __future__ import annotations

import time
from typing import Any

import pytest

from poise.broker import PaperVenue, paper_url
from poise.execute import OrderState
from tests.service.conftest import Api, FirmClient
from tests.service.test_orders_route import _approved_plan, _connection, _expected_ids


def _send(firm: FirmClient, plan: dict[str, Any], conn: str) -> Any:
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 201, r.text
    return r.json()


def _send_open(firm: FirmClient, plan: dict[str, Any], conn: str) -> Any:
    """Send, then wait until the service's sender has every sell partly filled (the sending
    runs in the background; the request returns after a short wait)."""
    _send(firm, plan, conn)
    deadline = time.monotonic() + 20
    while True:
        body = firm.call("viewer", "GET", f"/plans/{plan['id']}/orders").json()
        sells = {o["state"] for o in body["orders"] if o["side"] == "sell"}
        if sells == {"partially_filled"} or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def _at_venue(api: Api, plan_id: str) -> dict[str, Any]:
    prefix = _expected_ids(plan_id, 1)[0][:-3]
    venue = PaperVenue(paper_url(api.settings.home))
    return {o.client_order_id: o for o in venue.orders() if o.client_order_id.startswith(prefix)}


@pytest.fixture
def open_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Orders stay open: 1,000 slices each, and a send that waits only briefly."""
    monkeypatch.setenv("POISE_PAPER_SLICES", "1000")
    monkeypatch.setattr("poise.service._orders.SEND_TIMEOUT", 0.3)


def test_blotter_lists_each_leg_with_its_figures(
    api: Api, firm: FirmClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POISE_PAPER_SLIPPAGE_BPS", "10")
    plan = _approved_plan(firm)
    conn = _connection(firm)
    _send(firm, plan, conn)
    r = firm.call("viewer", "GET", "/orders")
    assert r.status_code == 200, r.text
    body = r.json()
    orders = body["orders"]
    assert [o["client_order_id"] for o in orders] == _expected_ids(plan["id"], len(plan["trades"]))
    prices = {(t["account"], t["symbol"], t["side"]): t for t in plan["trades"]}
    for o in orders:
        trade = prices[(o["account"], o["symbol"], o["side"])]
        sign = 1.0 if o["side"] == "buy" else -1.0
        fill = trade["price"] * (1 + sign * 10 / 10_000)  # the venue's price moved 10 bps
        assert o["state"] == "filled"
        assert o["plan_id"] == plan["id"]
        assert o["household_id"] == plan["household_id"]
        assert o["connection"] == conn
        assert o["fill_price"] == pytest.approx(fill, rel=1e-9)
        assert o["slippage_bps"] == pytest.approx(10.0, abs=1e-6)
        shortfall = sign * (fill - trade["price"]) * trade["quantity"]
        assert o["implementation_shortfall"] == pytest.approx(shortfall, rel=1e-6, abs=1e-6)
        assert o["sent_to_filled_ms"] >= 0
        assert len(o["fills"]) == 1
        assert o["fills"][0]["price"] == pytest.approx(fill, rel=1e-9)
        for moment in ("decided_at", "sent_at", "acknowledged_at", "first_fill_at"):
            assert o[moment], moment
    [paper] = body["venues"]
    assert paper["venue"] == "paper"
    assert paper["orders"] == paper["filled"] == len(orders)
    assert paper["p50"]["slippage_bps"] == pytest.approx(10.0, abs=1e-6)
    assert paper["p95"]["slippage_bps"] == pytest.approx(10.0, abs=1e-6)
    # filters
    assert firm.call("viewer", "GET", "/orders?state=cancelled").json()["orders"] == []
    mine = firm.call("viewer", "GET", f"/orders?household={plan['household_id']}").json()
    assert len(mine["orders"]) == len(orders)
    assert firm.call("viewer", "GET", "/orders?household=abc").json()["orders"] == []
    assert firm.call("viewer", "GET", "/orders?state=done").status_code == 422
    # another firm sees none of it
    other = api.firm(("viewer",))
    assert other.call("viewer", "GET", "/orders").json() == {"orders": [], "venues": []}
    theirs = other.call("viewer", "GET", f"/orders?household={plan['household_id']}")
    assert theirs.json()["orders"] == []


@pytest.mark.usefixtures("open_orders")
def test_cancel_all_stops_open_orders_and_their_plans(api: Api, firm: FirmClient) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    sent = _send_open(firm, plan, conn)
    states: dict[str, set[str]] = {o["side"]: set() for o in sent["orders"]}
    for o in sent["orders"]:
        states[o["side"]].add(o["state"])
    assert states["sell"] == {"partially_filled"}
    assert states["buy"] == {"new"}  # buys wait for the sells to end
    assert firm.call("viewer", "POST", "/orders/cancel-all").status_code == 403
    other = api.firm(("advisor",))
    r = other.call("advisor", "POST", "/orders/cancel-all")
    assert r.status_code == 200
    assert r.json() == {"cancelled": 0, "orders": []}
    assert {o.status for o in _at_venue(api, plan["id"]).values()} == {OrderState.PARTIALLY_FILLED}

    r = firm.call("advisor", "POST", "/orders/cancel-all")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cancelled"] == len(plan["trades"])
    assert {o["state"] for o in body["orders"]} == {"cancelled"}
    for o in body["orders"]:
        filled = sum(f["quantity"] for f in o["fills"])
        assert abs(filled - o["filled_quantity"]) < 1e-9
        assert (o["side"] == "sell") == (0 < filled < o["quantity"])  # sells partly filled
    venue = _at_venue(api, plan["id"])
    sells = [o for o in sent["orders"] if o["side"] == "sell"]
    assert sorted(venue) == sorted(o["client_order_id"] for o in sells)  # no buy ever sent
    assert {o.status.value for o in venue.values()} == {"cancelled"}
    # the plan sends nothing more
    assert firm.call("viewer", "GET", f"/plans/{plan['id']}").json()["status"] == (
        "partially_filled"
    )
    again = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert again.status_code == 200, again.text
    assert {o["state"] for o in again.json()["orders"]} == {"cancelled"}
    assert sorted(_at_venue(api, plan["id"])) == sorted(venue)
    # audited
    events = firm.call("viewer", "GET", "/audit?limit=500").json()["items"]
    actions = [e["action"] for e in events]
    assert actions.count("orders.cancel_all") == 1
    assert actions.count("order.cancel") == len(plan["trades"])
    kill = next(e for e in events if e["action"] == "orders.cancel_all")
    assert kill["actor"] == firm.emails["advisor"]
    assert kill["detail"]["plans"] == [plan["id"]]
    cancels = [e["detail"] for e in events if e["action"] == "order.cancel"]
    assert {d["client_order_id"] for d in cancels} == {o["client_order_id"] for o in body["orders"]}
    assert {d["from"] for d in cancels} == {"new", "partially_filled"}
    # nothing left to cancel
    assert firm.call("advisor", "POST", "/orders/cancel-all").json()["cancelled"] == 0


@pytest.mark.usefixtures("open_orders")
def test_cancel_one_order(api: Api, firm: FirmClient) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    sent = _send_open(firm, plan, conn)
    sell = next(o for o in sent["orders"] if o["side"] == "sell")
    buy = next(o for o in sent["orders"] if o["side"] == "buy")
    path = f"/orders/{sell['client_order_id']}/cancel"
    assert firm.call("viewer", "POST", path).status_code == 403
    other = api.firm(("advisor",))
    assert other.call("advisor", "POST", path).status_code == 404
    unknown = f"/orders/poise-{'0' * 12}-001/cancel"
    assert firm.call("advisor", "POST", unknown).status_code == 404
    assert firm.call("advisor", "POST", "/orders/nope/cancel").status_code == 404
    bad = firm.call("advisor", "POST", f"/orders/{'x' * 49}/cancel")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["path", "client_order_id"]

    r = firm.call("advisor", "POST", path)
    assert r.status_code == 200, r.text
    [order] = r.json()["orders"]
    assert order["client_order_id"] == sell["client_order_id"]
    assert order["state"] == "cancelled"
    assert 0 < order["filled_quantity"] < order["quantity"]
    assert _at_venue(api, plan["id"])[sell["client_order_id"]].status.value == "cancelled"
    again = firm.call("advisor", "POST", path)
    assert again.status_code == 409
    assert "cancelled" in again.json()["detail"]
    r = firm.call("advisor", "POST", f"/orders/{buy['client_order_id']}/cancel")  # unsent
    assert r.status_code == 200
    assert r.json()["orders"][0]["state"] == "cancelled"
    assert buy["client_order_id"] not in _at_venue(api, plan["id"])
    left = firm.call("viewer", "GET", "/orders?state=partially_filled").json()["orders"]
    assert sell["client_order_id"] not in {o["client_order_id"] for o in left}
    # leave nothing open for the service's sender to keep working after this test
    assert firm.call("advisor", "POST", "/orders/cancel-all").status_code == 200
    assert {o["state"] for o in firm.call("viewer", "GET", "/orders").json()["orders"]} == {
        "cancelled"
    }


def test_cancel_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    one = paths["/api/v1/orders/{client_order_id}/cancel"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "422", "502", "503"} <= set(one)
    every = paths["/api/v1/orders/cancel-all"]["post"]["responses"]
    assert {"200", "401", "403", "422", "502", "503"} <= set(every)
    listed = paths["/api/v1/orders"]["get"]["responses"]
    assert {"200", "401", "403", "422"} <= set(listed)


@pytest.mark.usefixtures("open_orders")
def test_orders_routed_to_two_connections(api: Api, firm: FirmClient) -> None:
    """An account linked to its own connection: its orders are kept under that connection's
    key; the blotter names each order's connection and the kill switch stops both."""
    plan = _approved_plan(firm)
    default, other = _connection(firm), _connection(firm)
    path = f"/households/{plan['household_id']}/accounts/roth"
    r = firm.call("admin", "PUT", path, json={"broker_connection": other})
    assert r.status_code == 200, r.text
    _send(firm, plan, default)
    deadline = time.monotonic() + 20
    while True:  # the default connection's sells partly filled (sent first, still open)
        orders = firm.call("viewer", "GET", "/orders").json()["orders"]
        first = {o["state"] for o in orders if o["connection"] == default and o["side"] == "sell"}
        if first == {"partially_filled"} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(orders) == len(plan["trades"])
    expected = {t["account"]: other if t["account"] == "roth" else default for t in plan["trades"]}
    assert {(o["account"], o["connection"]) for o in orders} == set(expected.items())
    assert first == {"partially_filled"}

    r = firm.call("advisor", "POST", "/orders/cancel-all")
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] == len(plan["trades"])
    assert {o["state"] for o in r.json()["orders"]} == {"cancelled"}
    listed = firm.call("viewer", "GET", "/orders").json()["orders"]
    assert {o["state"] for o in listed} == {"cancelled"}
