"""Time one full rebalancing plan: 3 accounts, 30 symbols, 300 tax lots.

Goal (issue 2): median ≤ 10 ms. Run: ``python benchmarks/plan.py``.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import numpy as np
from rich.console import Console
from rich.table import Table

from poise.model import (
    Account,
    AccountKind,
    Holdings,
    Household,
    Lot,
    LotMethod,
    TaxRules,
    TradingRules,
)
from poise.plan import CashFlow, plan_rebalance
from poise.policy import ThresholdPolicy

GOAL_MS = 10.0
AS_OF = date(2024, 6, 3)


def build(fractional: bool, method: LotMethod) -> tuple[Household, Holdings, dict[str, float]]:
    rng = np.random.default_rng(7)
    symbols = [f"S{i:02d}" for i in range(30)]
    weights = rng.dirichlet(np.ones(30))
    prices = {s: float(p) for s, p in zip(symbols, rng.uniform(20, 400, 30), strict=True)}
    accounts = (
        Account("brokerage", AccountKind.TAXABLE),
        Account("ira", AccountKind.TAX_DEFERRED),
        Account("roth", AccountKind.TAX_FREE),
    )
    lots = []
    for i in range(300):
        sym = symbols[i % 30]
        acc = accounts[i % 3].id
        q = float(rng.uniform(1, 50))
        basis = q * prices[sym] * float(rng.uniform(0.5, 1.5))
        lots.append(Lot(acc, sym, q, basis, AS_OF - timedelta(days=int(rng.integers(1, 2500)))))
    hh = Household(
        name="bench",
        accounts=accounts,
        targets=dict(zip(symbols, weights.tolist(), strict=True)),
        policy=ThresholdPolicy(0.05, 0.25),
        trading=TradingRules(fractional=fractional, spread_bps=5, min_trade_value=10),
        tax=TaxRules(lot_method=method, short_term_rate=0.35, long_term_rate=0.15),
    )
    cash = {"brokerage": 5000.0, "ira": 2000.0, "roth": 1000.0}
    return hh, Holdings(tuple(lots), cash), prices


def median_ms(fn, repeat: int = 200) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    table = Table(title="poise plan: 3 accounts × 30 symbols × 300 lots (median of 200)")
    for col in ("case", "trades", "median ms", "goal ms", "vs goal"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for fractional in (True, False):
        for method in (LotMethod.FIFO, LotMethod.TAX_MIN):
            hh, holdings, prices = build(fractional, method)
            for label, flows in (("rebalance", []), ("deposit", [CashFlow("ira", 10_000.0)])):
                plan = plan_rebalance(hh, holdings, prices, AS_OF, force=not flows, flows=flows)
                ms = median_ms(
                    lambda hh=hh, holdings=holdings, prices=prices, flows=flows: plan_rebalance(
                        hh, holdings, prices, AS_OF, force=not flows, flows=flows
                    )
                )
                case = f"{label}, {'fractional' if fractional else 'whole'}, {method}"
                table.add_row(
                    case,
                    str(len(plan.trades)),
                    f"{ms:.2f}",
                    f"{GOAL_MS:.0f}",
                    f"{GOAL_MS / ms:.1f}×",
                )
    Console().print(table)


if __name__ == "__main__":
    main()
