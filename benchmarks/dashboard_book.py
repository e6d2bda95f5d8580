"""Server time of the dashboard's book page for a firm of 1,000 households.

Goal (issue 14): the page (``GET /households``, every household valued, its bands asked of its
policy, sorted worst first, rendered) in ≤ 500 ms of server time. Anchor, same run, same data:
the JSON API's ``GET /api/v1/drift`` (every household with its worst drift, no HTML), which
since issue 14 reads the same valuation as the page (``load_book``): uncached it costs the
page's valuation without the HTML, cached it is a second look.

The store is SQLite in a temporary folder; the households are the example household with each
lot's quantity scaled by a seeded random factor (so drifts differ); prices are skfolio's
bundled S&P 500 set. Requests go through the whole ASGI app in this process (FastAPI's test
client), so CPU time is this process's. "uncached" clears the dashboard's valuation cache before
each request (a book whose every household changed); "cached" is a second look at an unchanged
book. Run: ``python benchmarks/dashboard_book.py [--households N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("POISE_ARGON2_PROFILE", "test")

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 500.0
PASSWORD = "benchmark password 1"


def build_store(url: str, households: int) -> None:
    from poise.io import household_from_dict, read_holdings
    from poise.model import Holdings, Lot
    from poise.store import (
        FirmScope,
        HouseholdRow,
        SqlLedgerStore,
        make_engine,
        upgrade,
        write_session,
    )
    from poise.store._admin import create_firm, create_user

    engine = make_engine(url)
    upgrade(engine)
    document = tomllib.loads((ROOT / "examples" / "household.toml").read_text())
    household = household_from_dict(document)
    base = read_holdings(ROOT / "examples" / "holdings.csv", household)
    rng = np.random.default_rng(14)
    with write_session(engine) as session:
        firm = create_firm(session, "Benchmark firm")
        create_user(
            session, "advisor@bench.test", firm="Benchmark firm", role="advisor", password=PASSWORD
        )
        scope = FirmScope(session, firm.id, "benchmark")
        ledger = SqlLedgerStore(scope)
        for i in range(households):
            name = f"Household {i:04d}"
            row = scope.add(
                HouseholdRow(name=name, document={**document, "name": name}, prices=None, version=1)
            )
            factors = rng.uniform(0.5, 1.5, len(base.lots))
            lots = [
                Lot(lot.account, lot.symbol, lot.quantity * f, lot.cost_basis * f, lot.acquired)
                for lot, f in zip(base.lots, factors, strict=True)
            ]
            ledger.save_holdings(row.id, Holdings.of(lots, base.cash))
    engine.dispose()


def timed(
    call: Callable[[], object], repeat: int, before: Callable[[], None]
) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(repeat):
        before()
        w, c = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from poise.service import Settings, create_app
    from poise.service.web import _data

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'poise.db'}"
        start = time.perf_counter()
        build_store(url, args.households)
        print(f"store of {args.households} households built in {time.perf_counter() - start:.1f} s")
        app = create_app(Settings(database_url=url, home=Path(tmp), migrate=False))
        with TestClient(app) as client:
            page = client.get("/login")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
            assert token is not None
            client.post(
                "/login",
                data={
                    "username": "advisor@bench.test",
                    "password": PASSWORD,
                    "csrf_token": token.group(1),
                },
            )
            api = client.post(
                "/api/v1/auth/token", data={"username": "advisor@bench.test", "password": PASSWORD}
            )
            bearer = {"Authorization": f"Bearer {api.json()['access_token']}"}

            def book() -> None:
                r = client.get("/households")
                assert r.status_code == 200, r.status_code
                assert (
                    r.text.count('<tr class="breached">') + r.text.count("<tr>") >= args.households
                )

            def drift() -> None:
                r = client.get(f"/api/v1/drift?limit={args.households}", headers=bearer)
                assert r.status_code == 200
                assert r.json()["total"] == args.households

            first_w, first_c = timed(book, 1, _data._cache.clear)
            rows = [("book page, first request (prices loaded)", first_w, first_c)]
            rows.append(("book page, uncached", *timed(book, args.repeat, _data._cache.clear)))
            rows.append(("book page, cached", *timed(book, args.repeat, lambda: None)))
            rows.append(
                (
                    "anchor: GET /api/v1/drift, uncached",
                    *timed(drift, args.repeat, _data._cache.clear),
                )
            )
            rows.append(
                ("anchor: GET /api/v1/drift, cached", *timed(drift, args.repeat, lambda: None))
            )

    print(f"\n{args.households} households; median of {args.repeat} (ms)")
    print(f"{'':44} {'wall':>8} {'CPU':>8}")
    for label, walls, cpus in rows:
        print(f"{label:44} {statistics.median(walls):8.1f} {statistics.median(cpus):8.1f}")
    cpu = statistics.median(rows[1][2])
    verdict = "met" if cpu <= GOAL_MS else "NOT met"
    print(f"\ngoal: uncached book page ≤ {GOAL_MS:.0f} ms CPU: {cpu:.0f} ms, {verdict}")


if __name__ == "__main__":
    main()
