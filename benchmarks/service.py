"""The service under load: 1,000 households (3 accounts × 20 symbols each) in the store;
``GET /drift`` for the whole book and ``POST /households/{id}/plans`` for one household,
from 20 concurrent clients over loopback against a real ``poise serve`` process, on SQLite
and on PostgreSQL; beside the same plan and drift computed in this process without HTTP or
database (the service's overhead).

Bounded: each phase stops after ``--requests`` requests or ``--seconds`` seconds. Reported per
phase: p50 / p95 / p99 latency (ms), requests per second, and the server's CPU time per
request (from /proc). Goals (issue 11): plan p95 ≤ 50 ms; drift of 1,000 households ≤ 300 ms.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres) for the PostgreSQL run (a database of its
own is created and dropped). Run: ``python benchmarks/service.py [--households 1000]
[--clients 20] [--requests 400] [--seconds 60] [--backends sqlite,postgresql]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from poise.app import rebalance, stored_request
from poise.data import load_dataset
from poise.model import Holdings, Lot
from poise.store import (
    FirmScope,
    Household,
    SqlHouseholdStore,
    SqlLedgerStore,
    make_engine,
    read_session,
    upgrade,
    write_session,
)
from poise.store._admin import create_firm, create_user

PLAN_P95_GOAL_MS = 50.0
DRIFT_GOAL_MS = 300.0
PASSWORD = "benchmark password"
EMAIL = "bench@bench.test"
ACCOUNTS = (("brokerage", "taxable"), ("ira", "tax_deferred"), ("roth", "tax_free"))


def household_document(i: int, symbols: list[str], weights: np.ndarray) -> dict[str, object]:
    return {
        "name": f"household {i:04d}",
        "accounts": [{"id": a, "kind": k} for a, k in ACCOUNTS],
        "targets": {s: float(w) for s, w in zip(symbols, weights, strict=True) if w > 0},
        "policy": {"kind": "threshold", "absolute": 0.05, "relative": 0.25},
        "trading": {"fractional": False, "min_trade_value": 50.0, "cash_reserve": 100.0},
        "tax": {"lot_method": "tax_min", "short_term_rate": 0.35, "long_term_rate": 0.15},
    }


def populate(url: str, households: int) -> list[str]:
    """The firm, its user and ``households`` households with holdings; returns their ids."""
    prices = load_dataset("sp500")
    symbols = list(prices.columns)
    last = prices.iloc[-1]
    rng = np.random.default_rng(11)
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        create_firm(session, "Bench")
        create_user(session, EMAIL, firm="Bench", role="advisor", password=PASSWORD)
        firm_id = session.scalar(__import__("sqlalchemy").text("SELECT id FROM firms"))
    ids = []
    batch = 100
    for start in range(0, households, batch):
        with write_session(engine) as session:
            scope = FirmScope(session, int(firm_id), "benchmark")
            ledger = SqlLedgerStore(scope)
            for i in range(start, min(start + batch, households)):
                units = rng.multinomial(2000, rng.dirichlet(np.ones(len(symbols)) * 2))
                targets = units / 2000.0  # weights in steps of 0.05%, summing to 1
                row = scope.add(
                    Household(
                        name=f"household {i:04d}",
                        document=household_document(i, symbols, targets),
                        version=1,
                    )
                )
                value = 300_000 * rng.uniform(0.5, 2.0)
                held = targets * rng.uniform(0.6, 1.4, len(symbols))
                lots = []
                for j, symbol in enumerate(symbols):
                    account = ACCOUNTS[j % 3][0]
                    quantity = float(np.floor(value * held[j] / float(last[symbol])))
                    if quantity <= 0:
                        continue
                    basis = quantity * float(last[symbol]) * rng.uniform(0.6, 1.3)
                    acquired = date(2020, 1, 2) + timedelta(days=int(rng.integers(0, 900)))
                    lots.append(Lot(account, symbol, quantity, basis, acquired))
                ledger.save_holdings(
                    row.id, Holdings(tuple(lots), {a: 2_000.0 for a, _ in ACCOUNTS})
                )
                ids.append(row.id)
    engine.dispose()
    return ids


def direct_figures(
    url: str, household_id: str, repeats: int
) -> tuple[list[float], list[float], float, float]:
    """Plan latency through app/ (stored request built once) and drift of the whole book
    computed in-process from the store (no HTTP), in ms."""
    from poise.service._book import drift_rows

    engine = make_engine(url)
    frame = load_dataset("sp500")
    plan_ms, drift_ms, plan_cpu, drift_cpu = [], [], [], []
    with read_session(engine) as session:
        firm_id = int(session.scalar(__import__("sqlalchemy").text("SELECT id FROM firms")) or 0)
        scope = FirmScope(session, firm_id, "benchmark")
        stored = stored_request(
            SqlHouseholdStore(scope), SqlLedgerStore(scope), household_id, frame
        )
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            rebalance(stored.request)
            plan_ms.append((time.perf_counter() - t) * 1000)
            plan_cpu.append((time.process_time() - c) * 1000)
        for _ in range(max(3, repeats // 20)):
            t, c = time.perf_counter(), time.process_time()
            drift_rows(scope, None, None)
            drift_ms.append((time.perf_counter() - t) * 1000)
            drift_cpu.append((time.process_time() - c) * 1000)
    engine.dispose()
    return plan_ms, drift_ms, statistics.median(plan_cpu), statistics.median(drift_cpu)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    base: str,
    token: str,
    clients: int,
    requests: int,
    seconds: float,
    send: Callable[[httpx.Client, int], httpx.Response],
) -> tuple[list[float], float, int]:
    """``requests`` calls of ``send`` from ``clients`` threads (at most ``seconds``); the
    latencies (ms), the wall time and the number of failed calls."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal failures
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as http:
            while time.monotonic() < stop:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                t = time.perf_counter()
                r = send(http, n)
                elapsed = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(elapsed)
                    if r.status_code >= 300:
                        failures += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, time.perf_counter() - start, failures


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[list[str]]:
    rows: list[list[str]] = []
    home = Path(tempfile.mkdtemp(prefix="poise-bench-"))
    dbname = f"poise_bench_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        url = f"sqlite:///{home / 'poise.db'}"
    else:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')  # type: ignore[arg-type]
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}"
    proc = None
    try:
        t = time.perf_counter()
        ids = populate(url, args.households)
        console.print(
            f"[{backend}] stored {len(ids)} households in {time.perf_counter() - t:.1f} s"
        )
        plan_direct, drift_direct, plan_cpu, drift_cpu = direct_figures(url, ids[0], args.direct)
        port = free_port()
        env = {**os.environ, "POISE_HOME": str(home)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "poise",
                "serve",
                "--port",
                str(port),
                "--database-url",
                url,
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 180
        while True:
            try:
                r = httpx.post(f"{base}/auth/token", data={"username": EMAIL, "password": PASSWORD})
                if r.status_code == 200:
                    token = r.json()["access_token"]
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"[{backend}] poise serve did not start")
            time.sleep(0.5)
        rng = np.random.default_rng(3)
        picks = [ids[int(i)] for i in rng.integers(0, len(ids), args.requests)]
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300
        ) as http:
            warm = http.get("/drift", params={"limit": args.households})  # parse and cache once
            assert warm.status_code == 200, warm.text
            assert warm.json()["total"] == len(ids)
            http.post(f"/households/{ids[0]}/plans", json={})

        phases: list[tuple[str, int, int, Callable[[httpx.Client, int], httpx.Response]]] = [
            (
                "POST /plans",
                1,
                min(args.requests, 100),
                lambda h, n: h.post(f"/households/{picks[n]}/plans", json={}),
            ),
            (
                "POST /plans",
                args.clients,
                args.requests,
                lambda h, n: h.post(f"/households/{picks[n]}/plans", json={}),
            ),
            (
                "GET /drift",
                1,
                max(5, args.requests // 40),
                lambda h, n: h.get("/drift", params={"limit": args.households}),
            ),
            (
                "GET /drift",
                args.clients,
                max(20, args.requests // 10),
                lambda h, n: h.get("/drift", params={"limit": args.households}),
            ),
        ]
        for name, clients, count, send in phases:
            cpu0 = cpu_seconds(proc.pid)
            lat, wall, failed = load(base, token, clients, count, args.seconds, send)
            cpu = cpu_seconds(proc.pid) - cpu0
            goal = PLAN_P95_GOAL_MS if "plans" in name else DRIFT_GOAL_MS
            rows.append(
                [
                    backend,
                    name,
                    str(clients),
                    str(len(lat)),
                    f"{pct(lat, 50):.1f}",
                    f"{pct(lat, 95):.1f}",
                    f"{pct(lat, 99):.1f}",
                    f"{len(lat) / wall:.1f}",
                    f"{cpu / max(len(lat), 1) * 1000:.1f}",
                    str(failed),
                    f"p95 ≤ {goal:.0f}",
                ]
            )
        for name, values, cpu, goal in (
            ("plan via app/", plan_direct, plan_cpu, PLAN_P95_GOAL_MS),
            ("drift via app/+store", drift_direct, drift_cpu, DRIFT_GOAL_MS),
        ):
            rows.append(
                [
                    backend,
                    name,
                    "1",
                    str(len(values)),
                    f"{pct(values, 50):.1f}",
                    f"{pct(values, 95):.1f}",
                    f"{pct(values, 99):.1f}",
                    f"{1000 / statistics.mean(values):.1f}",
                    f"{cpu:.1f} (median)",
                    "0",
                    f"p95 ≤ {goal:.0f}",
                ]
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if backend == "postgresql":
            import psycopg

            with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')  # type: ignore[arg-type]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--direct", type=int, default=100, help="plans timed through app/")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=1, help="poise serve --workers")
    args = parser.parse_args()
    console = Console(width=160)
    table = Table(title=f"poise service: {args.households} households, loopback")
    for column in (
        "database",
        "request",
        "clients",
        "n",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "req/s",
        "CPU ms/req",
        "failed",
        "goal",
    ):
        table.add_column(column, justify="left" if column in ("database", "request") else "right")
    for backend in args.backends.split(","):
        for row in run_backend(backend.strip(), args, console):
            table.add_row(*row)
    console.print(table)
    console.print(
        "Latency under 20 clients includes queueing behind the server's processes "
        f"(--workers {args.workers}); the 1-client rows and the CPU per request (the server "
        "process's, from /proc) are the cost of one request, and read true on a loaded "
        "machine where wall-clock latency does not. app/ rows: the same work in-process "
        "(drift: the first call reads and parses every household, later calls reuse them)."
    )


if __name__ == "__main__":
    main()
