"""The crash matrix: every failpoint × every leg of a 3-leg plan, and a venue that times out
after accepting or fails before accepting. ``poise orders submit`` runs as a real process, is
killed at the failpoint (exit 137), and runs again: exactly one venue order per leg, every fill
recorded once, and the book equal to the plan's holdings at the fill prices (worked by hand in
``plan3.py``). The last test shows that a sender resending under a fresh id fails the same
check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from poise.broker import PaperVenue
from poise.execute import (
    FAILPOINTS,
    MemoryOrderStore,
    MockBroker,
    Order,
    OrderSender,
    OrderState,
    PreTradeRules,
    VenueOrder,
    orders_for_trades,
    plan_digest,
)
from poise.io import parse_plan
from poise.store import SqlOrderStore, make_engine
from tests.conftest import Result, run_cli
from tests.databases import database_url
from tests.execute.plan3 import (
    EXPECTED_CASH,
    EXPECTED_LOTS,
    EXPECTED_PRICES,
    LEGS,
    PLAN,
    SLIPPAGE_BPS,
    write_plan,
)

DIGEST = plan_digest(PLAN)
IDS = [f"poise-{DIGEST}-00{k}" for k in (1, 2, 3)]


def _run(folder: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "POISE_HOME": str(folder),
        "POISE_DATABASE_URL": url,
        "POISE_PAPER_SLIPPAGE_BPS": str(SLIPPAGE_BPS),
        **env,
    }
    for name in ("POISE_FAILPOINT", "POISE_PAPER_FAULT"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "poise",
            "orders",
            "submit",
            str(folder / "plan.json"),
            "--broker",
            "paper",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def check_book(venue_orders: list[VenueOrder], store: object, book: str) -> None:
    """Exactly one venue order per leg, every fill recorded once, the book as worked by hand."""
    per_id = Counter(o.client_order_id for o in venue_orders)
    per_symbol = Counter(o.symbol for o in venue_orders)
    assert per_symbol == Counter(LEGS), f"venue orders per symbol: {dict(per_symbol)}"
    assert all(n == 1 for n in per_id.values())
    fills = store.fills()  # type: ignore[attr-defined]
    assert len({f.execution_id for f in fills}) == len(fills) == 3
    assert {f.symbol: f.price for f in fills} == pytest.approx(EXPECTED_PRICES)
    intents = store.intents()  # type: ignore[attr-defined]
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    held = store.holdings(book)  # type: ignore[attr-defined]
    assert held.cash == pytest.approx({"ira": EXPECTED_CASH})
    for lot in held.lots:
        quantity, basis = EXPECTED_LOTS[(lot.account, lot.symbol)]
        assert (lot.quantity, lot.cost_basis) == pytest.approx((quantity, basis))
    assert len(held.lots) == 2


def _check_after(folder: Path, url: str) -> None:
    venue = PaperVenue(f"sqlite:///{folder / 'paper.db'}")
    engine = make_engine(url)
    try:
        check_book(venue.orders(), SqlOrderStore(engine), DIGEST)
    finally:
        engine.dispose()
        venue.engine.dispose()


CASES = [("failpoint", name, leg) for name in FAILPOINTS for leg in (1, 2, 3)] + [
    ("venue", fault, leg)
    for fault in ("timeout_after_accept", "unavailable_before_accept")
    for leg in (1, 2, 3)
]


def _run_here(folder: Path, url: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> Result:
    """The same command in this process (the run after the crash: no import time to pay)."""
    with monkeypatch.context() as patch:
        patch.setenv("POISE_HOME", str(folder))
        patch.setenv("POISE_DATABASE_URL", url)
        patch.setenv("POISE_PAPER_SLIPPAGE_BPS", str(SLIPPAGE_BPS))
        patch.delenv("POISE_FAILPOINT", raising=False)
        patch.delenv("POISE_PAPER_FAULT", raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        return run_cli(["orders", "submit", folder / "plan.json", "--broker", "paper"])


def _crash_and_rerun(
    tmp_path: Path, url: str, kind: str, name: str, leg: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plan(tmp_path)
    if kind == "failpoint":
        first = _run(tmp_path, url, POISE_FAILPOINT=f"{name}:{leg}")
        assert first.returncode == 137, first.stderr
    else:  # the venue misbehaves; poise does not crash
        first_here = _run_here(tmp_path, url, monkeypatch, POISE_PAPER_FAULT=f"{name}:{leg}")
        assert first_here.code == 0, first_here.stderr
    again = _run_here(tmp_path, url, monkeypatch)
    assert again.code == 0, again.stderr + again.stdout
    _check_after(tmp_path, url)
    # a finished plan sends nothing
    third = _run_here(tmp_path, url, monkeypatch)
    assert third.code == 0, third.stderr
    _check_after(tmp_path, url)


@pytest.mark.parametrize(("kind", "name", "leg"), CASES)
def test_crash_matrix_sqlite(tmp_path, kind, name, leg, monkeypatch):
    with database_url("sqlite", tmp_path) as url:
        _crash_and_rerun(tmp_path, url, kind, name, leg, monkeypatch)


@pytest.mark.parametrize(("kind", "name", "leg"), [c for c in CASES if c[2] == 2])
def test_crash_matrix_postgresql(tmp_path, kind, name, leg, monkeypatch):
    with database_url("postgresql", tmp_path) as url:
        _crash_and_rerun(tmp_path, url, kind, name, leg, monkeypatch)


def test_paper_orders_json_lists_the_venue_orders(tmp_path):
    with database_url("sqlite", tmp_path) as url:
        write_plan(tmp_path)
        assert _run(tmp_path, url).returncode == 0
        out = subprocess.run(
            [sys.executable, "-m", "poise", "paper", "orders", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "POISE_HOME": str(tmp_path)},
            check=True,
        )
        rows = json.loads(out.stdout)
        assert [(r["client_order_id"], r["symbol"], r["side"]) for r in rows] == [
            (IDS[0], "AAA", "sell"),
            (IDS[1], "BBB", "buy"),
            (IDS[2], "CCC", "buy"),
        ]
        assert all(r["quantity"] == r["filled_quantity"] for r in rows)
        assert {r["status"] for r in rows} == {"filled"}


class _CrashAfterSend(MockBroker):
    """The venue accepts the order; the process then dies before recording anything."""

    crash_on: str | None = None

    def submit(self, order: Order) -> VenueOrder:
        answer = super().submit(order)
        if order.client_order_id == self.crash_on:
            self.crash_on = None
            raise SystemExit(137)
        return answer


class _FreshIdSender(OrderSender):
    """A design that, on restart, resends an order it is unsure of under a new id."""

    restarted = False

    def _send(self, intent):  # type: ignore[no-untyped-def]
        if self.restarted and intent.state is OrderState.SUBMITTING:
            from dataclasses import replace

            fresh = replace(intent.order, client_order_id=intent.client_order_id + "-retry")
            answer = self.venue.submit(fresh)
            self._adopt(intent, answer, acknowledged_at=self.clock())
            return
        super()._send(intent)

    def recover(self, plan=None):  # type: ignore[no-untyped-def]
        return []  # it trusts its own records instead of asking the venue


@pytest.mark.parametrize("design", [OrderSender, _FreshIdSender])
def test_resending_under_a_fresh_id_fails_the_matrix(design):
    plan = parse_plan(PLAN)
    venue = _CrashAfterSend({"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}, slippage_bps=SLIPPAGE_BPS)
    venue.crash_on = IDS[1]
    store = MemoryOrderStore()
    rules = PreTradeRules(price_buffer_bps=SLIPPAGE_BPS)
    sender = design(store, venue, rules, poll_interval=0.0, timeout=5.0)
    orders = orders_for_trades(plan.trades, DIGEST)
    sender.add_plan(DIGEST, DIGEST, plan.as_of, orders, plan.holdings)
    with pytest.raises(SystemExit):
        sender.run(DIGEST)
    again = design(store, venue, rules, poll_interval=0.0, timeout=5.0)
    again.restarted = True
    again.run(DIGEST)
    views = [venue._view(m) for m in venue.orders.values()]
    if design is OrderSender:
        check_book(views, store, DIGEST)
    else:
        with pytest.raises(AssertionError, match="venue orders per symbol"):
            check_book(views, store, DIGEST)
