"""``poise orders`` and ``poise paper`` end to end, in process: submit to the paper venue and to
a fake Alpaca, list, fills CSV, report JSON, recover, cancel-all, bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_cli
from tests.databases import database_url
from tests.execute.plan3 import EXPECTED_PRICES, PLAN, SLIPPAGE_BPS, write_plan


@pytest.fixture
def home(tmp_path, monkeypatch):
    with database_url("sqlite", tmp_path) as url:
        monkeypatch.setenv("POISE_HOME", str(tmp_path))
        monkeypatch.setenv("POISE_DATABASE_URL", url)
        monkeypatch.setenv("POISE_PAPER_SLIPPAGE_BPS", str(SLIPPAGE_BPS))
        for name in ("POISE_FAILPOINT", "POISE_PAPER_FAULT", "POISE_PAPER_SLICES"):
            monkeypatch.delenv(name, raising=False)
        write_plan(tmp_path)
        yield tmp_path


def test_submit_list_fills_report(home):
    plan = home / "plan.json"
    done = run_cli(["orders", "submit", plan, "--broker", "paper", "--json"])
    assert done.code == 0, done.stderr
    orders = done.json()["orders"]
    assert [(o["symbol"], o["state"]) for o in orders] == [
        ("AAA", "filled"),
        ("BBB", "filled"),
        ("CCC", "filled"),
    ]
    listed = run_cli(["orders", "list", "--json"]).json()["orders"]
    assert [o["client_order_id"] for o in listed] == [o["client_order_id"] for o in orders]
    fills = run_cli(["orders", "fills", "--csv"])
    rows = list(csv.DictReader(io.StringIO(fills.stdout)))
    assert list(rows[0]) == ["date", "account", "symbol", "side", "quantity", "price", "cost_basis"]
    assert {r["symbol"]: float(r["price"]) for r in rows} == pytest.approx(EXPECTED_PRICES)
    # the sell disposed of the 4 shares of basis 320; buys have no basis
    assert [r["cost_basis"] for r in rows] == ["320.0", "", ""]
    report = run_cli(["orders", "report", "--json"]).json()
    assert [o["slippage_bps"] for o in report["orders"]] == pytest.approx([10.0] * 3)
    (venue,) = report["venues"]
    assert (venue["venue"], venue["orders"], venue["filled"]) == ("paper", 3, 3)
    assert venue["p50"]["sent_to_filled_ms"] >= 0
    paper = json.loads(run_cli(["paper", "orders", "--json"]).stdout)
    assert len(paper) == 3
    assert run_cli(["orders", "recover"]).code == 0


def test_a_closed_market_refuses_every_order_with_its_reason(home, monkeypatch):
    monkeypatch.setenv("POISE_PAPER_MARKET", "closed")
    closed = run_cli(["orders", "submit", home / "plan.json", "--broker", "paper", "--json"])
    assert closed.code == 0  # every order ended: refused, with its reason shown
    assert {o["state"] for o in closed.json()["orders"]} == {"rejected"}
    assert "the market is closed" in closed.stderr + closed.stdout


def test_cancel_all_stops_sent_and_unsent_orders(home):
    from datetime import date

    from poise.broker import PaperVenue
    from poise.execute import OrderSender, OrderState, PreTradeRules, orders_for_trades
    from poise.io import parse_plan
    from poise.store import SqlOrderStore, open_store

    plan = parse_plan(PLAN)
    engine = open_store(None)
    store = SqlOrderStore(engine)
    venue = PaperVenue(f"sqlite:///{home / 'paper.db'}", slices=3)
    sender = OrderSender(store, venue, PreTradeRules(), timeout=0.0)
    orders = orders_for_trades(plan.trades, "0a0a0a0a0a0a")
    sender.add_plan("0a0a0a0a0a0a", "0a0a0a0a0a0a", date(2024, 3, 1), orders, plan.holdings)
    sender._send_all(store.intents("0a0a0a0a0a0a")[:1])  # the sell: a third filled
    assert store.intents()[0].state is OrderState.PARTIALLY_FILLED
    out = run_cli(["orders", "cancel-all"])
    assert out.code == 0, out.stderr
    assert "cancelled 3 order(s)" in out.stdout
    assert [i.state for i in store.intents()] == [OrderState.CANCELLED] * 3
    assert [o.status for o in venue.orders()] == [OrderState.CANCELLED]
    assert store.intents()[0].filled_quantity == pytest.approx(4.0 / 3)
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["orders", "submit", "missing.json", "--broker", "paper"], "file not found"),
        (["orders", "submit", "{plan}", "--broker", "ib"], "unknown broker"),
        (["orders", "submit", "{plan}", "--broker", "paper", "--live"], "--live"),
        (["orders", "submit", "{plan}", "--broker", "paper", "--account", "x"], "no trades"),
        (["orders", "submit", "{plan}", "--broker", "paper", "--prices", "sp500"], "no prices"),
    ],
)
def test_bad_input_exits_2_with_a_message(home, args, words):
    out = run_cli([a.replace("{plan}", str(home / "plan.json")) for a in args])
    assert out.code == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_a_bad_plan_names_the_field(home):
    bad = dict(PLAN, trades=[dict(PLAN["trades"][0], quantity=-1)])
    (home / "bad.json").write_text(json.dumps(bad))
    out = run_cli(["orders", "submit", home / "bad.json", "--broker", "paper"])
    assert out.code == 2
    assert "trades[0].quantity: must be positive" in out.stderr


def test_submit_to_a_fake_alpaca(home, monkeypatch):
    pytest.importorskip("alpaca")
    from tests.broker.fake_alpaca import FakeAlpaca

    fake = FakeAlpaca({"AAA": 100.0, "BBB": 50.0, "CCC": 20.0})
    try:
        monkeypatch.setenv("POISE_ALPACA_URL", fake.url)
        monkeypatch.setenv("APCA_API_KEY_ID", "key")
        monkeypatch.setenv("APCA_API_SECRET_KEY", "secret")
        fake.faults = ["", "504_after_accept"]
        out = run_cli(["orders", "submit", home / "plan.json", "--broker", "alpaca", "--json"])
        assert out.code == 0, out.stderr
        assert [o["state"] for o in out.json()["orders"]] == ["filled"] * 3
        assert len(fake.orders) == 3
        again = run_cli(["orders", "submit", home / "plan.json", "--broker", "alpaca"])
        assert again.code == 0
        assert len(fake.orders) == 3
    finally:
        fake.close()


def test_paper_fills_at_prices_from_a_file_and_refuses_stale_ones(home):
    (home / "prices.csv").write_text(
        "date,AAA,BBB,CCC\n2024-02-20,90,40,10\n2024-02-29,110,60,30\n", encoding="utf-8"
    )
    stale = run_cli(
        [
            "orders",
            "submit",
            home / "plan.json",
            "--broker",
            "paper",
            "--prices",
            home / "prices.csv",
            "--max-price-age",
            "0",
        ]
    )
    assert stale.code == 2
    assert "last price of AAA is from 2024-02-29, 1 days before 2024-03-01" in stale.stderr
    done = run_cli(
        [
            "orders",
            "submit",
            home / "plan.json",
            "--broker",
            "paper",
            "--json",
            "--prices",
            home / "prices.csv",
            "--price-buffer-bps",
            "0",
        ]
    )
    assert done.code == 0, done.stderr
    # the venue's prices (the 2024-02-29 row) moved 10 bps against each order
    got = {o["symbol"]: o["average_price"] for o in done.json()["orders"]}
    assert got == pytest.approx({"AAA": 110 * 0.999, "BBB": 60 * 1.001, "CCC": 30 * 1.001})
