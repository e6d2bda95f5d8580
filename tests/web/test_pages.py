"""The dashboard's pages through the app in this process (no browser): redirects, headers,
the login form's own CSRF token, open redirects, CSV cells and another firm's ids."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from poise.service import Settings, create_app
from poise.service.web._pages import _csv_cell, _safe_next
from poise.store import write_session
from poise.store._admin import create_firm, create_user

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    os.environ["POISE_ARGON2_PROFILE"] = "test"
    home = tmp_path_factory.mktemp("pages")
    app = create_app(Settings(database_url=f"sqlite:///{home / 'poise.db'}", home=Path(home)))
    with write_session(app.state.poise.engine) as session:
        create_firm(session, "Pages firm")
        create_user(
            session, "advisor@pages.test", firm="Pages firm", role="advisor", password=PASSWORD
        )
    with TestClient(app) as c:
        yield c
    app.state.poise.engine.dispose()


def _login_token(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/login").text)
    assert found is not None
    return found.group(1)


def test_pages_need_a_session_and_carry_security_headers(client: TestClient) -> None:
    client.cookies.clear()
    r = client.get("/households", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fhouseholds"
    page = client.get("/login")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    static = client.get("/static/poise.css")
    assert static.status_code == 200
    assert static.headers["x-content-type-options"] == "nosniff"
    api = client.get("/api/v1/openapi.json")
    assert "content-security-policy" not in api.headers  # the API is not a page


def test_login_form_needs_its_own_csrf_token(client: TestClient) -> None:
    client.cookies.clear()
    _login_token(client)
    r = client.post("/login", data={"username": "advisor@pages.test", "password": PASSWORD})
    assert r.status_code == 403
    assert "expired" in r.text
    assert "poise_session" not in r.cookies


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/households?q=x", "/households?q=x"),
        ("//evil.example/x", "/households"),
        ("https://evil.example/", "/households"),
        ("/\\evil.example", "/households"),
        (None, "/households"),
    ],
)
def test_next_stays_on_this_site(target: str | None, expected: str) -> None:
    assert _safe_next(target) == expected


def test_login_then_unknown_household_is_a_404_page(client: TestClient) -> None:
    client.cookies.clear()
    token = _login_token(client)
    r = client.post(
        "/login",
        data={
            "username": "advisor@pages.test",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/households"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    page = client.get("/households/" + "0" * 32)
    assert page.status_code == 404
    assert "another firm" in page.text
    assert client.get("/households/not-an-id").status_code == 404


def test_csv_cells_never_start_a_formula() -> None:
    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("+1") == "'+1"
    assert _csv_cell("@x") == "'@x"
    assert _csv_cell("plan.create") == "plan.create"
    assert _csv_cell(12) == 12


def test_dashboard_sends_an_approved_plan(client: TestClient) -> None:
    from tests.conftest import EXAMPLES
    from tests.service.conftest import household_body

    engine = client.app.state.poise.engine  # type: ignore[attr-defined]
    with write_session(engine) as session:
        create_user(
            session, "admin-send@pages.test", firm="Pages firm", role="admin", password=PASSWORD
        )

    def bearer(email: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    advisor, admin = bearer("advisor@pages.test"), bearer("admin-send@pages.test")
    hid = client.post("/api/v1/households", json=household_body(), headers=advisor).json()["id"]
    r = client.put(
        f"/api/v1/households/{hid}/holdings",
        content=(EXAMPLES / "holdings.csv").read_text(),
        headers={**advisor, "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    plan = client.post(f"/api/v1/households/{hid}/plans", json={"force": True}, headers=advisor)
    plan_id = plan.json()["id"]
    assert client.post(f"/api/v1/plans/{plan_id}/approve", headers=advisor).status_code == 200
    conn = client.post("/api/v1/broker-connections", json={"kind": "paper"}, headers=admin)
    assert conn.status_code == 201, conn.text

    client.cookies.clear()
    r = client.post(
        "/login",
        data={
            "username": "advisor@pages.test",
            "password": PASSWORD,
            "csrf_token": _login_token(client),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/households/{hid}")
    assert f'action="/plans/{plan_id}/send"' in page.text
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found is not None
    form = {"csrf_token": found.group(1), "connection": conn.json()["id"]}
    assert (
        client.post(f"/plans/{plan_id}/send", data={**form, "csrf_token": "0"}).status_code == 403
    )
    r = client.post(f"/plans/{plan_id}/send", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    orders = client.get(f"/api/v1/plans/{plan_id}/orders", headers=advisor).json()
    assert orders["status"] == "filled"
    assert len(orders["orders"]) == len(plan.json()["trades"])
    again = client.post(f"/plans/{plan_id}/send", data=form, follow_redirects=False)
    assert again.status_code == 303  # already filled: nothing is sent again
    assert client.get(f"/api/v1/plans/{plan_id}/orders", headers=advisor).json() == orders


def test_plan_all_breached_saves_what_the_api_would(client: TestClient) -> None:
    """The form's batch (poise.scale.plan_book) saves the plan POST /households/{id}/plans
    makes, audited as the advisor; a household inside its bands gets none."""
    from sqlalchemy import select

    from poise.store import AuditEvent, read_session
    from tests.service.conftest import household_body

    engine = client.app.state.poise.engine  # type: ignore[attr-defined]
    with write_session(engine) as session:
        create_firm(session, "Breach firm")
        create_user(
            session, "advisor@breach.test", firm="Breach firm", role="advisor", password=PASSWORD
        )
    r = client.post(
        "/api/v1/auth/token", data={"username": "advisor@breach.test", "password": PASSWORD}
    )
    advisor = {"Authorization": f"Bearer {r.json()['access_token']}"}
    skewed = "account,symbol,quantity,cost_basis,acquired\nbrokerage,AAPL,400,20000,2019-03-15\n"
    ids = []
    for name, holdings in (("Skewed", skewed), ("Empty", None)):
        hid = client.post(
            "/api/v1/households", json=household_body(name=name), headers=advisor
        ).json()["id"]
        if holdings is not None:
            put = client.put(
                f"/api/v1/households/{hid}/holdings",
                content=holdings,
                headers={**advisor, "content-type": "text/csv"},
            )
            assert put.status_code == 200, put.text
        ids.append(hid)

    client.cookies.clear()
    login = client.post(
        "/login",
        data={
            "username": "advisor@breach.test",
            "password": PASSWORD,
            "csrf_token": _login_token(client),
        },
        follow_redirects=False,
    )
    assert login.status_code == 303
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/households").text)
    assert found is not None
    r = client.post(
        "/households/plan-breached",
        data={"csrf_token": found.group(1)},
        headers={"hx-request": "true"},
    )
    assert r.status_code == 200, r.text
    assert "1 plan proposed." in r.text
    plans = client.get("/api/v1/plans", headers=advisor).json()["items"]
    assert [(p["household_id"], p["status"]) for p in plans] == [(ids[0], "proposed")]
    made = client.post(f"/api/v1/households/{ids[0]}/plans", json={}, headers=advisor).json()
    bookkeeping = {"id", "created_at", "decided_at"}
    assert {k: v for k, v in plans[0].items() if k not in bookkeeping} == {
        k: v for k, v in made.items() if k not in bookkeeping
    }
    with read_session(engine) as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.object == f"plan:{plans[0]['id']}")
        )
    assert event is not None
    assert (event.action, event.actor) == ("plan.create", "advisor@breach.test")
