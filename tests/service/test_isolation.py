"""Two firms: for every route that names an object, firm B's advisor and viewer get 404 for
firm A's objects (no data, the same answer as for an id that does not exist), and B's lists
hold nothing of A's."""

from __future__ import annotations

import uuid

import pytest

from tests.service.conftest import HOLDINGS_CSV, Api, FirmClient, household_body

PRICES = "date,AAPL,MSFT\n2024-01-02,100,200\n2024-01-03,101,201\n"


@pytest.fixture
def two_firms(api: Api) -> tuple[FirmClient, FirmClient, dict[str, str]]:
    a, b = api.firm(), api.firm()
    hid = a.household()
    a.holdings(hid)
    plan = a.plan(hid)
    token = a.call("admin", "POST", "/auth/api-tokens", json={"name": "a"}).json()["id"]
    a.call("advisor", "PUT", "/prices/a-only", content=PRICES, headers={"content-type": "text/csv"})
    conn = a.call("admin", "POST", "/broker-connections", json={"kind": "paper"}).json()["id"]
    sent = a.plan(a_household_with_holdings(a), force=True)  # a sent plan: its orders
    assert a.call("advisor", "POST", f"/plans/{sent['id']}/approve").status_code == 200
    orders = a.call("advisor", "POST", f"/plans/{sent['id']}/orders", json={"connection": conn})
    assert orders.status_code == 201, orders.text
    ids = {"household_id": hid, "plan_id": plan["id"], "token_id": token, "connection": conn}
    order = orders.json()["orders"][0]["client_order_id"]
    return a, b, {**ids, "account": "brokerage", "client_order_id": order}


def a_household_with_holdings(firm: FirmClient) -> str:
    hid = firm.household()
    firm.holdings(hid)
    return hid


BODIES = {
    ("PUT", "/households/{household_id}"): {"json": household_body()},
    ("PUT", "/households/{household_id}/holdings"): {
        "content": HOLDINGS_CSV,
        "headers": {"content-type": "text/csv"},
    },
    ("POST", "/households/{household_id}/transactions"): {
        "content": "date,account,symbol,side,quantity,price,cost_basis\n"
        "2022-12-01,brokerage,AAPL,buy,1,140,\n",
        "headers": {"content-type": "text/csv"},
    },
    ("POST", "/households/{household_id}/plans"): {"json": {}},
    ("PUT", "/households/{household_id}/accounts/{account}"): {"json": {"broker_connection": None}},
    ("POST", "/plans/{plan_id}/orders"): {"json": {"connection": uuid.uuid4().hex}},
}


def _routes(api: Api) -> list[tuple[str, str]]:
    paths = api.app.openapi()["paths"]
    return sorted(
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in paths.items()
        if "{" in path
        for method in operations
    )


def test_every_object_route_is_404_for_another_firm(
    api: Api, two_firms: tuple[FirmClient, FirmClient, dict[str, str]]
) -> None:
    a, b, ids = two_firms
    routes = _routes(api)
    assert len(routes) >= 10
    checked = 0
    for method, template in routes:
        if "{name}" in template:
            continue  # price sets are named per firm: B's PUT makes B's own (tested below)
        path = template.format(**ids)
        missing = template.format(**{k: uuid.uuid4().hex for k in ids})
        kwargs = BODIES.get((method, template), {})
        for role in ("admin", "advisor", "viewer"):
            r = b.call(role, method, path, **kwargs)
            absent = b.call(role, method, missing, **kwargs)
            # the same answer as for an id that exists nowhere: 404, or 403 for the role
            assert (r.status_code, r.json()) == (absent.status_code, absent.json()), (
                method,
                template,
                role,
                r.text,
            )
            assert (
                r.status_code == 404
                if role == "admin" or method == "GET"
                else r.status_code in (403, 404)
            )
            checked += 1
    assert checked >= 40
    # nothing of A's changed or leaked: A still sees its plan proposed, its household there
    assert a.call("viewer", "GET", f"/plans/{ids['plan_id']}").json()["status"] == "proposed"
    assert a.call("viewer", "GET", f"/households/{ids['household_id']}").status_code == 200


def test_lists_hold_only_the_callers_firm(
    api: Api, two_firms: tuple[FirmClient, FirmClient, dict[str, str]]
) -> None:
    a, b, ids = two_firms
    for path in ("/households", "/plans", "/prices", "/broker-connections", "/drift", "/audit"):
        items = b.call("viewer", "GET", path).json()["items"]
        text = str(items)
        for value in ids.values():
            assert value not in text, path
        assert a.name not in text
        assert "a-only" not in text
    # B may use the same price-set name: it gets its own
    r = b.call(
        "advisor", "PUT", "/prices/a-only", content=PRICES, headers={"content-type": "text/csv"}
    )
    assert r.status_code == 201


def test_plans_cannot_use_another_firms_price_set(
    two_firms: tuple[FirmClient, FirmClient, dict[str, str]],
) -> None:
    _, b, _ = two_firms
    hid = b.household()
    b.holdings(hid)
    r = b.call("advisor", "POST", f"/households/{hid}/plans", json={"prices": "a-only"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "prices"]
