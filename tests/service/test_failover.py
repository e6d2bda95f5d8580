"""Failover on loopback: two real ``poise serve`` processes share one store (SQLite, and a
PostgreSQL database of its own) and one paper venue. The one holding the sender lease dies
mid-plan (a failpoint exits it with status 137, as SIGKILL would); the other takes the lease
over within seconds, looks up every order that may have been sent by its id, and finishes
the plan: exactly one venue order per leg, every venue execution recorded (and audited) once,
and the request that asked for the sending, made to the surviving server, answered 201."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from poise.broker import PaperVenue, paper_url
from poise.store import AuditEvent, OrderFillRow, SenderLease, make_engine
from tests.conftest import EXAMPLES
from tests.databases import database_url
from tests.service.conftest import household_body
from tests.service.test_serve import _free_port, _poise

PASSWORD = "a long enough password"


@contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "poise", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "poise serve did not start"
                time.sleep(0.2)
            yield proc, base
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _holder(lease: SenderLease) -> str | None:
    current = lease.current()
    return None if current is None else current[0]


def _wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _partly_filled(home: Path) -> bool:
    if not (home / "paper.db").exists():
        return False
    orders = PaperVenue(paper_url(home)).orders()
    return any(0 < o.filled_quantity < o.quantity for o in orders)


def _set_up(http: httpx.Client) -> tuple[dict[str, Any], str]:
    login = http.post("/auth/token", data={"username": "ana@acme.test", "password": PASSWORD})
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    hid = http.post("/households", json=household_body()).json()["id"]
    r = http.put(
        f"/households/{hid}/holdings",
        content=(EXAMPLES / "holdings.csv").read_bytes(),
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    plan = http.post(f"/households/{hid}/plans", json={"prices": "sp500", "force": True}).json()
    assert len(plan["trades"]) >= 3, "the example plan must trade several legs"
    assert http.post(f"/plans/{plan['id']}/approve").status_code == 200
    conn = http.post("/broker-connections", json={"kind": "paper"})
    assert conn.status_code == 201, conn.text
    return plan, str(conn.json()["id"])


@pytest.mark.parametrize(
    ("backend", "failpoint"),
    [("sqlite", "after_send:2"), ("postgresql", "before_fill_commit:1"), ("sqlite", "SIGKILL")],
)
def test_the_other_server_takes_over_mid_plan(tmp_path: Path, backend: str, failpoint: str) -> None:
    """``SIGKILL``: orders fill in 40 slices (one per look-up), and the test kills the
    sender with SIGKILL once the venue holds a partly filled order."""
    home = tmp_path / "home"
    with ExitStack() as stack:
        url = stack.enter_context(database_url(backend, tmp_path))
        env = {
            **os.environ,
            "POISE_HOME": str(home),
            "POISE_DATABASE_URL": url,
            "POISE_ARGON2_PROFILE": "test",
        }
        env.pop("POISE_SECRET_KEY", None)
        env.pop("POISE_FAILPOINT", None)
        env.pop("POISE_PAPER_URL", None)
        assert _poise(env, "db", "upgrade").returncode == 0
        assert _poise(env, "admin", "create-firm", "Acme Advisers").returncode == 0
        made = _poise(
            env,
            *("admin", "create-user", "ana@acme.test", "--firm", "Acme Advisers"),
            *("--role", "admin", "--password-stdin"),
            stdin=PASSWORD + "\n",
        )
        assert made.returncode == 0, made.stderr
        engine = make_engine(url)
        stack.callback(engine.dispose)
        lease = SenderLease(engine, "the test (never acquires)")

        # A starts first and takes the lease; it will die at the failpoint while sending
        if failpoint == "SIGKILL":
            env["POISE_PAPER_SLICES"] = "40"
            doomed, _ = stack.enter_context(_server(env, tmp_path / "a.log"))
        else:
            doomed, _ = stack.enter_context(
                _server({**env, "POISE_FAILPOINT": failpoint}, tmp_path / "a.log")
            )
        _wait_for(lambda: f":{doomed.pid}:" in (_holder(lease) or ""), 20, "A never took the lease")
        survivor, base = stack.enter_context(_server(env, tmp_path / "b.log"))
        assert f":{doomed.pid}:" in (_holder(lease) or ""), "B must not take a held lease"

        with httpx.Client(base_url=f"{base}/api/v1", timeout=120) as http:
            plan, conn = _set_up(http)
            started = time.monotonic()
            if failpoint == "SIGKILL":
                with ThreadPoolExecutor(1) as pool:
                    request = pool.submit(
                        http.post, f"/plans/{plan['id']}/orders", json={"connection": conn}
                    )
                    _wait_for(lambda: _partly_filled(home), 60, "no order got partly filled")
                    doomed.send_signal(signal.SIGKILL)
                    sent = request.result()
                assert doomed.wait(timeout=30) == -signal.SIGKILL
            else:
                sent = http.post(f"/plans/{plan['id']}/orders", json={"connection": conn})
                assert doomed.wait(timeout=30) == 137, (tmp_path / "a.log").read_text()
            took = time.monotonic() - started
            assert f":{survivor.pid}:" in (_holder(lease) or ""), "B must hold the lease now"
            assert sent.status_code == 201, sent.text + (tmp_path / "b.log").read_text()
            body = sent.json()
            if body["status"] != "filled":  # B answered before it finished: it goes on
                deadline = time.monotonic() + 30
                while body["status"] != "filled" and time.monotonic() < deadline:
                    time.sleep(0.2)
                    body = http.get(f"/plans/{plan['id']}/orders").json()
            assert body["status"] == "filled", body
            audit = http.get("/audit?limit=500").json()["items"]

        legs = len(plan["trades"])
        digest = hashlib.sha256(plan["id"].encode()).hexdigest()[:12]
        expected = [f"poise-{digest}-{leg:03d}" for leg in range(1, legs + 1)]
        assert [o["client_order_id"] for o in body["orders"]] == expected
        assert all(o["state"] == "filled" for o in body["orders"])
        # exactly one venue order per leg
        venue = PaperVenue(paper_url(home))
        at_venue = [o for o in venue.orders() if o.client_order_id.startswith(f"poise-{digest}")]
        assert sorted(o.client_order_id for o in at_venue) == expected
        # every venue execution recorded once, with its quantity; each audited once
        executions = {f.execution_id: f.quantity for o in at_venue for f in o.fills}
        with engine.connect() as db:
            rows = db.execute(
                select(OrderFillRow.execution_id, func.count(), func.sum(OrderFillRow.quantity))
                .where(OrderFillRow.client_order_id.in_(expected))
                .group_by(OrderFillRow.execution_id)
            ).all()
        assert {r[0]: r[2] for r in rows} == executions
        assert all(r[1] == 1 for r in rows)
        for o in body["orders"]:
            venue_order = next(v for v in at_venue if v.client_order_id == o["client_order_id"])
            assert o["filled_quantity"] == pytest.approx(venue_order.filled_quantity, abs=1e-9)
            assert o["filled_quantity"] == pytest.approx(o["quantity"], abs=1e-9)
        with engine.connect() as db:
            audited = db.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "order.fill")
            ).all()
        assert sorted(d["execution_id"] for d in audited) == sorted(executions)
        assert any(e["action"] == "order.fill" for e in audit)  # and the API shows them
        print(f"\n{backend}: failpoint {failpoint}; the plan was sent and filled {took:.1f} s")
