"""Execution throughput, latency added by poise, and the cost of durability.

100 plans × 20 orders (5 sells, then 15 buys) go through the paper venue (its own SQLite file)
with the order intents in:

- ``memory``: the in-memory store (the anchor: no durability at all);
- ``sqlite``: poise's store on an SQLite file (WAL; one write transaction per state change);
- ``postgresql``: poise's store on a fresh database at 127.0.0.1:5432 (skipped if unreachable).

Reported per store, in the same run: orders per second (wall and CPU), the p50/p95 per-order
latency poise adds between committing the intent and committing its fill (that span less the
time spent inside the venue's calls), and the durability cost per order (wall and CPU time inside
the store's ``add_plan``/``save``/``record_fills``) beside the in-memory anchor.

Run: python benchmarks/execution.py [--plans 100] [--orders 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from poise.broker import PaperVenue
from poise.execute import (
    MemoryOrderStore,
    OrderSender,
    OrderState,
    PreTradeRules,
    orders_for_trades,
)
from poise.model import Holdings, Lot, Side, Trade


class TimedVenue:
    """The paper venue, with the time spent inside each call summed per order."""

    def __init__(self, venue: PaperVenue) -> None:
        self.venue = venue
        self.name = venue.name
        self.spent: dict[str, float] = defaultdict(float)

    def _timed(self, cid: str, call: Any, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.spent[cid] += time.perf_counter() - start

    def submit(self, order: Any) -> Any:
        return self._timed(order.client_order_id, self.venue.submit, order)

    def lookup(self, cid: str) -> Any:
        return self._timed(cid, self.venue.lookup, cid)

    def cancel(self, cid: str) -> None:
        self.venue.cancel(cid)

    def latest_quote(self, symbols: Any) -> Any:
        return self.venue.latest_quote(symbols)  # the sender asks once per plan, as in use

    def market_open(self) -> bool:
        return True


class TimedStore:
    """A store, with the time inside it summed, and each order's intent→fill span."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.inside = 0.0
        self.inside_cpu = 0.0
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _timed(self, call: Any, *args: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return call(*args)
        finally:
            self.inside += time.perf_counter() - start
            self.inside_cpu += time.process_time() - cpu

    def add_plan(self, *args: Any) -> bool:
        return bool(self._timed(self.store.add_plan, *args))

    def save(self, intent: Any) -> None:
        if intent.state is OrderState.SUBMITTING:
            self.started.setdefault(intent.client_order_id, time.perf_counter())
        self._timed(self.store.save, intent)

    def record_fills(self, intent: Any, fills: Any) -> int:
        count = int(self._timed(self.store.record_fills, intent, fills))
        if intent.state.ended:
            self.finished[intent.client_order_id] = time.perf_counter()
        return count


def make_plan(k: int, orders: int) -> tuple[list[Trade], Holdings]:
    sells = max(orders // 4, 1)
    trades, lots = [], []
    for j in range(sells):
        sym = f"S{j:02d}"
        trades.append(Trade("ira", sym, Side.SELL, 10.0, 50.0, 0.0, "sell"))
        lots.append(Lot("ira", sym, 10.0, 400.0, date(2020, 1, 2)))
    for j in range(orders - sells):
        trades.append(Trade("ira", f"B{j:02d}", Side.BUY, 3.0 + k % 5, 40.0, 0.0, "buy"))
    return trades, Holdings.of(lots, {"ira": 20_000.0})


def run(store: Any, folder: Path, plans: int, orders: int) -> dict[str, float]:
    venue = TimedVenue(PaperVenue(f"sqlite:///{folder / f'paper-{uuid.uuid4().hex[:6]}.db'}"))
    timed = TimedStore(store)
    sender = OrderSender(timed, venue, PreTradeRules(price_buffer_bps=0.0), poll_interval=0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    for k in range(plans):
        digest = f"{k:012x}"
        trades, book = make_plan(k, orders)
        sender.add_plan(digest, digest, date(2024, 3, 1), orders_for_trades(trades, digest), book)
        intents = sender.run(digest)
        assert all(i.state is OrderState.FILLED for i in intents), "every order fills"
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = plans * orders
    added = np.array(
        [(timed.finished[c] - timed.started[c] - venue.spent[c]) * 1000.0 for c in timed.finished]
    )
    return {
        "orders": n,
        "orders_per_s_wall": n / wall,
        "orders_per_s_cpu": n / cpu,
        "added_p50_ms": float(np.percentile(added, 50)),
        "added_p95_ms": float(np.percentile(added, 95)),
        "durability_ms_per_order": timed.inside / n * 1000.0,
        "durability_cpu_ms_per_order": timed.inside_cpu / n * 1000.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=100)
    parser.add_argument("--orders", type=int, default=20)
    args = parser.parse_args()
    from poise.store import SqlOrderStore, make_engine, upgrade

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results["memory"] = run(MemoryOrderStore(), folder, args.plans, args.orders)
        engine = make_engine(f"sqlite:///{folder / 'poise.db'}")
        upgrade(engine)
        results["sqlite"] = run(SqlOrderStore(engine), folder, args.plans, args.orders)
        engine.dispose()
        try:
            import sys

            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from tests.databases import postgres_database

            with postgres_database("poise_bench") as url:
                engine = make_engine(url)
                upgrade(engine)
                results["postgresql"] = run(SqlOrderStore(engine), folder, args.plans, args.orders)
                engine.dispose()
        except Exception as exc:  # PostgreSQL down: report the others
            print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
    print(f"{args.plans} plans × {args.orders} orders through the paper venue")
    header = (
        f"{'store':<11}{'orders/s wall':>14}{'orders/s CPU':>14}"
        f"{'added p50 ms':>14}{'added p95 ms':>14}{'store ms/order':>16}{'vs memory':>11}"
        f"{'store CPU ms/order':>20}"
    )
    print(header)
    base = results["memory"]["durability_ms_per_order"]
    for name, r in results.items():
        extra = r["durability_ms_per_order"] - base
        print(
            f"{name:<11}{r['orders_per_s_wall']:>14.1f}{r['orders_per_s_cpu']:>14.1f}"
            f"{r['added_p50_ms']:>14.3f}{r['added_p95_ms']:>14.3f}"
            f"{r['durability_ms_per_order']:>16.3f}{extra:>+11.3f}"
            f"{r['durability_cpu_ms_per_order']:>20.3f}"
        )
    print("wall figures include waiting for the disk and the server; CPU figures do not")


if __name__ == "__main__":
    main()
