"""The dashboard in real chromium against a real ``poise serve``: an advisor's journey from
sign-in to an approved plan, a viewer who can look but not act (even by a forged POST), a
second firm that sees nothing of the first, the sign-in lock-out, keyboard use, and
screenshots of every page at 1280 and 390 px."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from poise.app import RebalanceRequest, rebalance
from poise.data import load_dataset
from poise.io import household_from_dict, read_holdings
from tests.conftest import EXAMPLES
from tests.web.conftest import PASSWORD, SCREENSHOTS, WIDTHS, Server


@pytest.fixture
def context(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser profile that records every URL it asks for."""
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    ctx.requested = []  # type: ignore[attr-defined]
    ctx.failed = []  # type: ignore[attr-defined]
    ctx.on("request", lambda r: ctx.requested.append(r.url))
    ctx.on("response", lambda r: r.status >= 500 and ctx.failed.append(f"{r.status} {r.url}"))
    yield ctx
    assert ctx.failed == [], "server errors"
    outside = [u for u in ctx.requested if not u.startswith(server.url)]
    assert outside == [], "the dashboard asked for something outside the server"
    ctx.close()


def login(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/households")


def shoot(page: Any, name: str) -> None:
    """Screenshots of the page at each width, and a check that every form field has a
    label and nothing is wider than the window."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than a {width}px window"
    page.set_viewport_size({"width": 1280, "height": 900})
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
             .map(e => e.name || e.id)"""
    )
    assert unlabelled == [], f"{name}: fields without a label"
    low = page.evaluate(CONTRAST)
    assert low == [], f"{name}: text below WCAG AA contrast"


CONTRAST = """(() => {
  // WCAG 2 contrast of every element that holds text, against the first opaque background
  // behind it: 4.5:1, or 3:1 for large text (24px, or 18.66px bold).
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = e => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0.99) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('svg') || !e.offsetParent && e.tagName !== 'BODY') continue;
    const text = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!text) continue;
    const st = getComputedStyle(e);
    const a = lum(rgb(st.color)), b = lum(behind(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push(`${e.tagName}.${e.className}: ${ratio.toFixed(2)}`);
  }
  return out;
})()"""


def expected_reasons() -> list[str]:
    """The example household's plan, made here by the engine directly (no server)."""
    household = household_from_dict(tomllib.loads((EXAMPLES / "household.toml").read_text()))
    result = rebalance(
        RebalanceRequest(
            household=household,
            holdings=read_holdings(EXAMPLES / "holdings.csv", household),
            prices=load_dataset("sp500"),
        )
    )
    return [t.reason for t in result.plan.trades]


def test_advisor_reads_the_book_proposes_and_approves(context: Any, server: Server) -> None:
    firm = server.firms["alpha"]
    page = context.new_page()
    response = page.goto("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    shoot(page, "login")
    login(page, firm.emails["advisor"])
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["poise_session"]["httpOnly"]
    assert cookies["poise_session"]["sameSite"] == "Strict"

    rows = page.locator("#book-rows tbody tr")
    assert rows.count() == 2
    assert "Rivera household" in rows.nth(0).inner_text()
    assert "outside band" in rows.nth(0).inner_text()
    assert "Chen household" in rows.nth(1).inner_text()
    assert "inside" in rows.nth(1).inner_text()
    shoot(page, "book")
    page.get_by_label("Search households").fill("chen")  # htmx: rows follow the search
    expect(rows.nth(0)).to_contain_text("Chen household")
    expect(rows).to_have_count(1)
    page.get_by_label("Search households").fill("")
    page.get_by_label("Show").select_option("breached")
    expect(rows.nth(0)).to_contain_text("Rivera household")
    expect(rows).to_have_count(1)

    page.get_by_role("link", name="Rivera household").click()
    page.wait_for_url(f"**/households/{firm.households['Rivera household']}")
    assert page.get_by_role("heading", level=1).inner_text() == "Rivera household"
    assert page.locator("svg.chart[role=img] g.row").count() == 12  # 11 targets and cash
    page.get_by_role("button", name="Propose a plan").click()
    page.wait_for_selector("text=New plan proposed")
    reasons = page.locator("#trades td.reason").all_inner_texts()
    assert reasons == expected_reasons()
    assert "sell to target" in reasons[0] or "buy to target" in reasons[0]

    page.get_by_role("button", name="Approve plan").click()
    page.wait_for_selector("text=Plan approved")
    assert "approved" in page.locator("#plan-h").inner_text()
    plan_id = page.locator("form[action$='/send']").get_attribute("action").split("/")[2]
    api = server.api(firm.emails["viewer"])
    assert api.get(f"/plans/{plan_id}").json()["status"] == "approved"
    shoot(page, "household")

    page.get_by_role("link", name="Orders").click()
    assert "Rivera household" in page.locator("#plans").inner_text()
    shoot(page, "orders")

    page.get_by_role("link", name="Audit").click()
    events = page.locator("#events").inner_text()
    assert "plan.approved" in events
    assert firm.emails["advisor"] in events
    page.get_by_role("button", name="Verify the chain").click()
    page.wait_for_selector("#chain-status .badge")
    assert "intact" in page.locator("#chain-status").inner_text()
    export = page.request.get("/audit.csv?action=plan.")
    assert export.status == 200
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text().splitlines()
    assert lines[0] == "seq,at,actor,action,object,detail,prev_hash,hash"
    assert {line.split(",")[3] for line in lines[1:]} == {"plan.create", "plan.approved"}
    shoot(page, "audit")

    page.get_by_role("link", name="Settings").click()
    assert page.get_by_role("heading", name="Users and roles").count() == 0  # admins only


def test_viewer_sees_but_cannot_act_even_by_forged_post(context: Any, server: Server) -> None:
    firm = server.firms["alpha"]
    household_id = firm.households["Rivera household"]
    advisor = server.api(firm.emails["advisor"])
    plan = advisor.post(f"/households/{household_id}/plans", json={}).json()
    assert plan["status"] == "proposed"

    page = context.new_page()
    login(page, firm.emails["viewer"])
    page.goto(f"/households/{household_id}")
    assert page.locator("#trades td.reason").count() == len(plan["trades"])
    assert page.get_by_role("button", name="Approve plan").count() == 0
    assert page.get_by_role("button", name="Propose a plan").count() == 0
    assert page.get_by_text("Waiting for an advisor's approval").is_visible()

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path in (f"/plans/{plan['id']}/approve", f"/plans/{plan['id']}/reject"):
        forged = page.request.post(path, form={"csrf_token": token}, max_redirects=0)
        assert forged.status == 403, path
        assert "Only an advisor" in forged.text()
    forged = page.request.post(
        f"/households/{household_id}/plans", form={"csrf_token": token}, max_redirects=0
    )
    assert forged.status == 403
    assert advisor.get(f"/plans/{plan['id']}").json()["status"] == "proposed"


def test_advisor_post_without_csrf_token_is_refused(context: Any, server: Server) -> None:
    firm = server.firms["alpha"]
    household_id = firm.households["Rivera household"]
    advisor = server.api(firm.emails["advisor"])
    plan = advisor.post(f"/households/{household_id}/plans", json={}).json()
    page = context.new_page()
    login(page, firm.emails["advisor"])
    for form in ({}, {"csrf_token": "0" * 64}):
        forged = page.request.post(f"/plans/{plan['id']}/approve", form=form, max_redirects=0)
        assert forged.status == 403
        assert "expired" in forged.text()
    assert advisor.get(f"/plans/{plan['id']}").json()["status"] == "proposed"


def test_second_firm_sees_nothing_of_the_first(context: Any, server: Server) -> None:
    alpha, beta = server.firms["alpha"], server.firms["beta"]
    household_id = alpha.households["Rivera household"]
    plan = (
        server.api(alpha.emails["advisor"])
        .post(f"/households/{household_id}/plans", json={})
        .json()
    )

    page = context.new_page()
    login(page, beta.emails["advisor"])
    book = page.locator("#book-rows").inner_text()
    assert "Beta's own household" in book
    assert "Rivera" not in book
    assert "Chen" not in book
    for path in (f"/households/{household_id}", f"/households/{household_id}/plan"):
        assert page.goto(path).status == 404, path
        assert "Rivera" not in page.content()
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path in (
        f"/plans/{plan['id']}/approve",
        f"/plans/{plan['id']}/reject",
        f"/households/{household_id}/plans",
    ):
        forged = page.request.post(path, form={"csrf_token": token}, max_redirects=0)
        assert forged.status == 404, path
    page.goto(f"/audit?household={household_id}")
    assert "No events match" in page.locator("#events").inner_text()
    assert server.api(alpha.emails["viewer"]).get(f"/plans/{plan['id']}").json()["status"] == (
        "proposed"
    )


def test_plan_all_breached(context: Any, server: Server) -> None:
    firm = server.firms["gamma"]
    page = context.new_page()
    login(page, firm.emails["advisor"])
    page.get_by_role("button", name="Plan all breached").click()
    page.wait_for_selector("#batch-status [role=status]")
    assert page.locator("#batch-status").inner_text() == "1 plan proposed."
    page.reload()
    rivera = page.locator("#book-rows tbody tr").nth(0).inner_text()
    assert "Rivera household" in rivera
    assert "proposed" in rivera
    assert "proposed" not in page.locator("#book-rows tbody tr").nth(1).inner_text()
    plans = server.api(firm.emails["advisor"]).get("/plans").json()["items"]
    assert [(p["household_id"], p["status"]) for p in plans] == [
        (firm.households["Rivera household"], "proposed")
    ]


def test_signed_out_pages_go_to_login(context: Any, server: Server) -> None:
    page = context.new_page()
    page.goto("/households")
    assert page.url.endswith("/login?next=%2Fhouseholds")
    fragment = page.request.get("/households/rows", headers={"HX-Request": "true"})
    assert fragment.status == 401


def test_lock_out_after_repeated_wrong_passwords(context: Any, server: Server) -> None:
    email = server.firms["beta"].emails["admin"]
    page = context.new_page()
    page.goto("/login")
    for _ in range(5):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        assert "Wrong e-mail address or password" in page.locator("#login-error").inner_text()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response("**/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    message = page.locator("#login-error").inner_text()
    assert "locked" in message
    assert "try again in" in message


def test_keyboard_only_sign_in_and_navigation(context: Any, server: Server) -> None:
    page = context.new_page()
    page.goto("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("Email").focus()
    page.keyboard.type(server.firms["alpha"].emails["viewer"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/households")
    page.get_by_role("link", name="Rivera household").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/households/*")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    # keyboard focus is drawn (3px outline), never hidden
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"


def test_admin_settings_keep_secrets_write_only(context: Any, server: Server) -> None:
    firm = server.firms["alpha"]
    page = context.new_page()
    login(page, firm.emails["admin"])
    page.get_by_role("link", name="Settings").click()

    key, secret = "AKDEMOKEY0000WXYZ", "very-secret-value-42"
    page.get_by_label("Broker", exact=True).select_option("alpaca")
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_label("API secret", exact=True).fill(secret)
    page.get_by_role("button", name="Add connection").click()
    page.wait_for_selector("text=Broker connection added")
    assert "alpaca key …WXYZ" in page.locator("#bc-h + p + ul").inner_text()
    assert key not in page.content()
    assert secret not in page.content()

    page.get_by_label("Token name", exact=True).fill("nightly script")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("poise_")
    listed = httpx_get(server, "/households", token)
    assert listed == 200
    page.goto("/settings")
    assert token not in page.content()
    assert "nightly script" in page.content()

    page.get_by_label("E-mail", exact=True).fill("new.viewer@alpha.test")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_label("First password", exact=True).fill("a long first password")
    page.get_by_role("button", name="Add user").click()
    page.wait_for_selector("text=User added")
    assert "new.viewer@alpha.test" in page.locator("#users-h ~ .table-wrap").inner_text()
    shoot(page, "settings")

    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("New password again", exact=True).fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/login?done=password")
    assert page.goto("/households").url.endswith("/login?next=%2Fhouseholds")
    login(page, firm.emails["admin"], "a brand new password")


def httpx_get(server: Server, path: str, token: str) -> int:
    import httpx

    answer = httpx.get(f"{server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code
