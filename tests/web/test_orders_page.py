"""The orders blotter and its cancel buttons through the app in this process (no browser):
what each role sees, the CSRF token, the kill switch's confirmation, another firm's ids.

Open orders come from the paper venue's partial fills (``POISE_PAPER_SLICES``) and a short
send timeout, so the sells are partly filled and the buys unsent when the send returns."""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from poise.service import Settings, create_app
from poise.store import write_session
from poise.store._admin import create_firm, create_user
from tests.conftest import EXAMPLES

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    os.environ["POISE_ARGON2_PROFILE"] = "test"
    home = tmp_path_factory.mktemp("orders-page")
    app = create_app(Settings(database_url=f"sqlite:///{home / 'poise.db'}", home=Path(home)))
    with write_session(app.state.poise.engine) as session:
        for firm in ("one", "two"):
            create_firm(session, firm)
            for role in ("admin", "advisor", "viewer"):
                create_user(session, f"{role}@{firm}.test", firm=firm, role=role, password=PASSWORD)
    yield app
    app.state.poise.engine.dispose()


def _api(app: FastAPI, email: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver/api/v1")
    r = client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return client


def _browser(app: FastAPI, email: str) -> TestClient:
    client = TestClient(app)
    token = _token(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def sent(app: FastAPI) -> Iterator[dict[str, Any]]:
    """Firm one's example household, its plan approved and sent with orders left open."""
    admin, advisor = _api(app, "admin@one.test"), _api(app, "advisor@one.test")
    body = tomllib.loads((EXAMPLES / "household.toml").read_text())
    hid = advisor.post("/households", json=body).json()["id"]
    r = advisor.put(
        f"/households/{hid}/holdings",
        content=(EXAMPLES / "holdings.csv").read_text(),
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    plan = advisor.post(f"/households/{hid}/plans", json={"force": True}).json()
    assert advisor.post(f"/plans/{plan['id']}/approve").status_code == 200
    conn = admin.post("/broker-connections", json={"kind": "paper"}).json()["id"]
    with pytest.MonkeyPatch.context() as mp:  # for the whole module: the sender runs apart
        mp.setenv("POISE_PAPER_SLICES", "1000")
        mp.setattr("poise.service._orders.SEND_TIMEOUT", 0.3)
        r = advisor.post(f"/plans/{plan['id']}/orders", json={"connection": conn})
        assert r.status_code == 201, r.text
        orders = wait_until_sells_open(advisor, plan["id"])
        yield {"plan": plan, "household": hid, "orders": orders}


def wait_until_sells_open(client: TestClient, plan_id: str) -> list[dict[str, Any]]:
    """The plan's orders once the service's sender (in the background) has every sell
    partly filled."""
    deadline = time.monotonic() + 20
    while True:
        orders = client.get(f"/plans/{plan_id}/orders").json()["orders"]
        sells = {o["state"] for o in orders if o["side"] == "sell"}
        if sells == {"partially_filled"} or time.monotonic() > deadline:
            return list(orders)
        time.sleep(0.05)


def test_viewer_sees_the_blotter_without_buttons_and_cannot_cancel(
    app: FastAPI, sent: dict[str, Any]
) -> None:
    viewer = _browser(app, "viewer@one.test")
    page = viewer.get("/orders")
    assert page.status_code == 200
    html = page.text
    for order in sent["orders"]:
        assert order["client_order_id"] in html
    assert "Execution quality by venue" in html
    assert "/cancel" not in html
    assert "Cancel all open orders" not in html
    token = _token(html)
    for path in ("/orders/cancel-all", f"/orders/{sent['orders'][0]['client_order_id']}/cancel"):
        forged = viewer.post(
            path, data={"csrf_token": token, "confirm": "cancel-all"}, follow_redirects=False
        )
        assert forged.status_code == 403, path
        assert "Only an advisor" in forged.text
    states = {o["state"] for o in _api(app, "viewer@one.test").get("/orders").json()["orders"]}
    assert states == {"partially_filled", "new"}


def test_another_firm_cannot_touch_the_orders(app: FastAPI, sent: dict[str, Any]) -> None:
    other = _browser(app, "advisor@two.test")
    html = other.get("/orders").text
    assert sent["orders"][0]["client_order_id"] not in html
    token = _token(html)
    path = f"/orders/{sent['orders'][0]['client_order_id']}/cancel"
    assert other.post(path, data={"csrf_token": token}, follow_redirects=False).status_code == 404
    r = other.post(
        "/orders/cancel-all",
        data={"csrf_token": token, "confirm": "cancel-all"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/orders?done=cancelled&n=0"
    orders = _api(app, "viewer@one.test").get("/orders").json()["orders"]
    assert {o["state"] for o in orders} == {"partially_filled", "new"}


def test_advisor_cancels_one_order_then_all(app: FastAPI, sent: dict[str, Any]) -> None:
    advisor = _browser(app, "advisor@one.test")
    html = advisor.get("/orders").text
    token = _token(html)
    open_count = len(sent["orders"])
    assert f"This cancels <strong>{open_count}</strong> open orders" in html
    assert html.count(">Cancel</button>") == open_count
    sell = next(o for o in sent["orders"] if o["side"] == "sell")
    # no token, then a stale one: refused
    path = f"/orders/{sell['client_order_id']}/cancel"
    for form in ({}, {"csrf_token": "0" * 64}):
        assert advisor.post(path, data=form, follow_redirects=False).status_code == 403
    r = advisor.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/orders?done=cancelled&n=1"
    assert "1 order cancelled." in advisor.get(r.headers["location"]).text
    again = advisor.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 409
    assert "nothing to cancel" in again.text

    unconfirmed = advisor.post(
        "/orders/cancel-all", data={"csrf_token": token}, follow_redirects=False
    )
    assert unconfirmed.status_code == 422
    assert "Confirm" in unconfirmed.text
    r = advisor.post(
        "/orders/cancel-all",
        data={"csrf_token": token, "confirm": "cancel-all"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/orders?done=cancelled&n={open_count - 1}"
    html = advisor.get(r.headers["location"]).text
    assert f"{open_count - 1} orders cancelled." in html
    assert "Cancel all open orders" not in html  # nothing open any more
    assert html.count('data-state="cancelled"') == open_count
    filtered = advisor.get("/orders?state=filled").text
    assert "No orders match the filters" in filtered
    household = advisor.get(f"/orders?state=cancelled&household={sent['household']}").text
    assert household.count('data-state="cancelled"') == open_count
    assert advisor.get("/orders?state=bogus").status_code == 422


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.0, "0.0 bps"), (-0.04, "0.0 bps"), (-1.26, "−1.3 bps"), (12.34, "12.3 bps"), (None, "–")],
)
def test_basis_points_never_show_minus_zero(value: float | None, text: str) -> None:
    from poise.service.web._format import bps

    assert bps(value) == text


def test_milliseconds() -> None:
    from poise.service.web._format import millis

    assert (millis(1234.5), millis(0.4), millis(None)) == ("1,234 ms", "0 ms", "–")
