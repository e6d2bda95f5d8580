"""Orders in real chromium against a real ``poise serve``: an advisor sends an approved plan
to the paper venue and reads each leg's fill on ``/orders``; another presses the kill switch
on orders left open. Screenshots of ``/orders`` at 1280 and 390 px."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from poise.broker import PaperVenue, paper_url
from poise.data import load_dataset
from poise.service.web._format import money, quantity
from tests.web.conftest import SCREENSHOTS, WIDTHS, Server
from tests.web.test_browser import expected_reasons, login, shoot


def _context(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser profile that fails the test on a server error or on any request
    outside the server."""
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    failed: list[str] = []
    ctx.on("request", lambda r: requested.append(r.url))
    ctx.on("response", lambda r: r.status >= 500 and failed.append(f"{r.status} {r.url}"))
    yield ctx
    assert failed == [], "server errors"
    assert [u for u in requested if not u.startswith(server.url)] == [], "outside requests"
    ctx.close()


@pytest.fixture
def delta(browser: Any, server: Server) -> Iterator[Any]:
    yield from _context(browser, server)


@pytest.fixture
def epsilon(browser: Any, open_orders_server: Server) -> Iterator[Any]:
    yield from _context(browser, open_orders_server)


def test_advisor_sends_a_plan_to_the_paper_venue_and_sees_the_fills(
    delta: Any, server: Server
) -> None:
    context = delta
    firm = server.firms["delta"]
    household_id = firm.households["Rivera household"]
    page = context.new_page()
    login(page, firm.emails["advisor"])
    rows = page.locator("#book-rows tbody tr")
    assert "Rivera household" in rows.nth(0).inner_text()  # the breached household first
    assert "outside band" in rows.nth(0).inner_text()

    page.get_by_role("link", name="Rivera household").click()
    page.wait_for_url(f"**/households/{household_id}")
    page.get_by_role("button", name="Propose a plan").click()
    page.wait_for_selector("text=New plan proposed")
    reasons = expected_reasons()
    assert page.locator("#trades td.reason").first.inner_text() == reasons[0]
    trades = page.locator("#trades tbody tr")
    assert trades.count() == len(reasons)
    page.get_by_role("button", name="Approve plan").click()
    page.wait_for_selector("text=Plan approved")
    page.get_by_label("Broker connection").select_option(firm.connection)
    page.get_by_role("button", name="Send orders").click()
    page.wait_for_selector("text=Orders sent")
    api = server.api(firm.emails["viewer"])
    [plan] = api.get("/plans", params={"status": "filled"}).json()["items"]
    assert plan["household_id"] == household_id

    page.get_by_role("link", name="See the fills of this plan's trades").click()
    page.wait_for_url(f"**/orders?household={household_id}")
    orders = page.locator("#orders tbody tr")
    assert orders.count() == len(plan["trades"])
    # each leg filled at the venue's price: the plan's close (no slippage configured),
    # read here from the data set itself
    close = load_dataset("sp500").iloc[-1]
    trades_by_leg = [t for t in plan["trades"] if t["side"] == "sell"] + [
        t for t in plan["trades"] if t["side"] == "buy"
    ]
    digest = hashlib.sha256(plan["id"].encode()).hexdigest()[:12]
    for leg, trade in enumerate(trades_by_leg, start=1):
        row = page.locator(f"#order-poise-{digest}-{leg:03d}")
        text = row.inner_text()
        assert f"{trade['side']} {trade['symbol']}" in text
        assert "filled" in row.locator("[data-label=State] .badge").inner_text()
        fill = row.locator("[data-label='Fill price']").inner_text()
        assert fill.startswith(money(float(close[trade["symbol"]]))), (fill, trade)
        assert (
            row.locator("[data-label=Filled]").inner_text().startswith(quantity(trade["quantity"]))
        )
        assert "0.0 bps" in row.locator("[data-label=Slippage]").inner_text()
        assert "ms" in row.locator("[data-label='Sent → filled']").inner_text()
        for moment in ("decided", "sent", "acknowledged", "first fill", "last fill"):
            assert moment in row.locator("[data-label=State]").inner_text()
    venues = page.locator("#venues").inner_text()
    assert "paper" in venues
    assert f"{len(plan['trades'])}" in venues
    page.get_by_label("State").select_option("cancelled")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#orders tbody")).to_contain_text("No orders match the filters")
    page.goto("/orders")
    shoot(page, "orders-filled")


def test_advisor_cancels_every_open_order(epsilon: Any, open_orders_server: Server) -> None:
    server = open_orders_server
    firm = server.firms["epsilon"]
    household_id = firm.households["Rivera household"]
    advisor = server.api(firm.emails["advisor"])
    plan = advisor.post(f"/households/{household_id}/plans", json={}).json()
    assert advisor.post(f"/plans/{plan['id']}/approve").status_code == 200
    sent = advisor.post(f"/plans/{plan['id']}/orders", json={"connection": firm.connection})
    assert sent.status_code == 201, sent.text
    deadline = time.monotonic() + 20  # the service's sender works in the background
    while True:
        legs = advisor.get(f"/plans/{plan['id']}/orders").json()["orders"]
        sells = {o["state"] for o in legs if o["side"] == "sell"}
        if sells == {"partially_filled"} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert {o["state"] for o in legs if o["side"] == "sell"} == {"partially_filled"}
    assert {o["state"] for o in legs if o["side"] == "buy"} == {"new"}

    page = epsilon.new_page()
    login(page, firm.emails["advisor"])
    page.get_by_role("link", name="Orders").click()
    page.wait_for_url("**/orders")
    assert page.locator("#orders tbody tr").count() == len(legs)
    assert page.locator("#orders button", has_text="Cancel").count() == len(legs)
    assert page.get_by_role("button", name="Cancel sell").count() >= 1  # named for its order
    shoot(page, "orders-open")
    kill = page.locator("#kill-switch")
    assert f"This cancels {len(legs)} open orders" in " ".join(kill.text_content().split())
    confirm = page.get_by_role("button", name="Yes, cancel every open order")
    assert not confirm.is_visible()  # the confirmation comes first
    kill.locator("summary").click()
    confirm.click()
    page.wait_for_selector(f"text={len(legs)} orders cancelled")
    states = page.locator("#orders tbody tr").evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert states == ["cancelled"] * len(legs)
    assert page.locator("#kill-switch").count() == 0
    for leg in legs:
        row = page.locator(f"#order-{leg['client_order_id']}")
        filled = row.locator("[data-label=Filled]").inner_text().split()[0]
        assert (filled != "0") == (leg["side"] == "sell"), (leg, filled)  # sells partly filled
    assert server.home is not None
    venue = PaperVenue(paper_url(server.home))
    at_venue = {o.client_order_id: o.status.value for o in venue.orders()}
    sells = {o["client_order_id"] for o in legs if o["side"] == "sell"}
    assert at_venue == dict.fromkeys(sells, "cancelled")  # no buy was ever sent
    page.get_by_role("link", name="Audit").click()
    events = page.locator("#events").inner_text()
    assert "orders.cancel_all" in events
    assert "order.cancel" in events
    page.get_by_role("button", name="Verify the chain").click()
    page.wait_for_selector("#chain-status .badge")
    assert "intact" in page.locator("#chain-status").inner_text()
    page.goto("/orders")
    shoot(page, "orders-cancelled")


def test_backtest_report_draws_inside_its_sandbox(delta: Any, server: Server) -> None:
    firm = server.firms["alpha"]
    household_id = firm.households["Rivera household"]
    page = delta.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and violations.append(m.text),
    )
    login(page, firm.emails["viewer"])
    page.goto(f"/households/{household_id}")
    page.get_by_role("button", name="Run the backtest").click()
    frame = page.frame_locator("#backtest-report")
    frame.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    figures = page.locator("#backtest-figures").inner_text()
    assert "CAGR" in figures
    assert "100,000.00 →" in figures
    assert frame.locator("h1").inner_text().startswith("Rivera household: backtest of")
    assert frame.locator(".js-plotly-plot").count() >= 3  # value, drawdowns, weights, ...
    # the report cannot reach the dashboard: its frame has an opaque origin
    origin = page.frames[-1].evaluate("() => window.origin")
    assert origin == "null"
    assert violations == [], violations
    shoot(page, "household-backtest")  # the checks; then pictures with the frame painted
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.locator("#backtest-report").scroll_into_view_if_needed()  # painted once seen
        page.wait_for_timeout(800)
        page.screenshot(path=str(SCREENSHOTS / f"household-backtest-{width}.png"), full_page=True)
