"""Time one full rebalancing plan: 3 accounts, 30 symbols, 300 tax lots.

Goal (issue 2): median ≤ 10 ms; the 3 × 30 × 300 household ≤ 1 ms and a 30,000-lot household
≤ 30 ms (issue 15, planning linear in lots: printed in a second table). CPU time
(``time.process_time``). Run: ``python benchmarks/plan.py``.
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


LOTS_GOAL_MS = {30_000: 30.0, 300: 1.0}  # issue 15: planning linear in lots


def many_lots(n_lots: int) -> tuple[Household, Holdings, dict[str, float]]:
    """One taxable account, 10 symbols, ``n_lots`` lots all bought long ago at a gain; the
    first symbol far over its target, so that a rebalance sells most of its lots (FIFO)."""
    rng = np.random.default_rng(3)
    symbols = [f"S{i:02d}" for i in range(10)]
    prices = {s: 100.0 for s in symbols}
    lots = []
    for i in range(n_lots):
        sym = symbols[0] if i < n_lots // 2 else symbols[1 + i % 9]
        q = float(rng.uniform(1, 3))
        lots.append(Lot("brokerage", sym, q, q * 60.0, AS_OF - timedelta(days=800 + i % 900)))
    hh = Household(
        name="lots",
        accounts=(Account("brokerage", AccountKind.TAXABLE),),
        targets={s: 0.1 for s in symbols},
        policy=ThresholdPolicy(0.05),
        tax=TaxRules(lot_method=LotMethod.FIFO, short_term_rate=0.35, long_term_rate=0.15),
    )
    return hh, Holdings(tuple(lots), {"brokerage": 0.0}), prices


def lots_table() -> Table:
    table = Table(title="planning linear in lots (CPU time, median)")
    for col in ("case", "lots sold", "median ms", "goal ms", "vs goal"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for n_lots in (30_000, 3_000, 300):
        hh, holdings, prices = many_lots(n_lots)
        plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
        sold = sum(len(t.lot_sales) for t in plan.trades)
        ms = median_ms(
            lambda hh=hh, holdings=holdings, prices=prices: plan_rebalance(
                hh, holdings, prices, AS_OF, force=True
            ),
            repeat=5 if n_lots > 3000 else 30,
        )
        goal = LOTS_GOAL_MS.get(n_lots)
        table.add_row(
            f"1 account × 10 symbols × {n_lots:,} lots",
            str(sold),
            f"{ms:.2f}",
            f"{goal:g}" if goal else "",
            f"{goal / ms:.2f}×" if goal else "",
        )
    return table


def median_ms(fn, repeat: int = 200) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1e3)
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
    Console().print(lots_table())


if __name__ == "__main__":
    main()
