"""Tax-aware plan speed and quality: heuristic vs optimising plan on the same households.

Households: 3 accounts (taxable, tax-deferred, tax-free), 30 symbols, 300 tax lots with gains
and losses, short- and long-term, drifted off target so that every plan rebalances. For each
household both plans run on the same holdings; the table compares tax (estimated on the
plan's realized gains), drift left (Σ|w − target|, cash included), trading cost and time.

Goals (issue 5): tax-aware heuristic ≤ 10 ms, optimising plan ≤ 200 ms. The anchor in the same
run is the plain (tax-unaware, fifo) heuristic on the same holdings.

Run: python benchmarks/tax_plan.py [--households N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

import numpy as np
from rich.console import Console
from rich.table import Table

from poise.model import (
    CASH,
    Account,
    AccountKind,
    HarvestRules,
    Holdings,
    Household,
    Lot,
    LotMethod,
    PlanMethod,
    TaxRules,
    TradingRules,
)
from poise.plan import plan_rebalance
from poise.policy import ThresholdPolicy

AS_OF = date(2024, 6, 3)
N_SYMBOLS, N_LOTS = 30, 300


SCENARIOS = {
    # share of lots per account (taxable, IRA, Roth); basis as a fraction of today's value
    "mixed": ((0.5, 0.3, 0.2), (0.5, 1.25)),
    "gain-heavy taxable": ((0.85, 0.1, 0.05), (0.3, 1.05)),
}


def household(
    method: PlanMethod, lot_method: LotMethod, seed: int, scenario: str = "mixed"
) -> tuple[Household, Holdings, dict[str, float]]:
    """A seeded household: 300 lots over 30 symbols and 3 accounts, drifted off target."""
    shares, (low, high) = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    symbols = [f"S{i:02d}" for i in range(N_SYMBOLS)]
    weights = rng.dirichlet(np.full(N_SYMBOLS, 5.0)) * 0.98
    targets = {s: float(w) for s, w in zip(symbols, weights, strict=True)}
    targets[CASH] = 1.0 - sum(targets.values())
    accounts = (
        Account("brokerage", AccountKind.TAXABLE),
        Account("ira", AccountKind.TAX_DEFERRED),
        Account("roth", AccountKind.TAX_FREE),
    )
    prices = {s: float(p) for s, p in zip(symbols, rng.uniform(20, 300, N_SYMBOLS), strict=True)}
    # Lots: value drawn around a drifted target; basis ±40% of today's price; ages 0-6 years.
    drift = rng.lognormal(0.0, 0.35, N_SYMBOLS)
    lots = []
    sym_of_lot = rng.integers(0, N_SYMBOLS, N_LOTS)
    account_of_lot = rng.choice(3, N_LOTS, p=list(shares))
    total = 1_000_000.0
    for k in range(N_LOTS):
        s = symbols[sym_of_lot[k]]
        count = max(int((sym_of_lot == sym_of_lot[k]).sum()), 1)
        value = total * targets[s] * drift[sym_of_lot[k]] / count
        quantity = value / prices[s]
        basis = value * rng.uniform(low, high)
        acquired = AS_OF - timedelta(days=int(rng.integers(1, 6 * 365)))
        lots.append(Lot(accounts[account_of_lot[k]].id, s, quantity, basis, acquired))
    cash = {"brokerage": 5_000.0, "ira": 3_000.0, "roth": 2_000.0}
    hh = Household(
        name=f"bench-{seed}",
        accounts=accounts,
        targets=targets,
        policy=ThresholdPolicy(0.0),
        trading=TradingRules(spread_bps=5.0),
        tax=TaxRules(
            lot_method=lot_method, short_term_rate=0.35, long_term_rate=0.15, defer_days=30
        ),
        harvest=HarvestRules(),
        plan_method=method,
    )
    return hh, Holdings(tuple(lots), cash), prices


def drift_left(plan) -> float:
    return float(sum(abs(plan.weights_after[s] - plan.targets[s]) for s in plan.targets))


def run(hh, holdings, prices, repeat: int, transactions=None):
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True, transactions=transactions)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True, transactions=transactions)
        times.append(time.perf_counter() - start)
    return plan, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    variants = [
        ("plain heuristic (fifo; anchor)", PlanMethod.HEURISTIC, LotMethod.FIFO, None),
        ("tax-aware heuristic (tax_min, defer, wash)", PlanMethod.HEURISTIC, LotMethod.TAX_MIN, ()),
        ("optimising plan (cvxpy + Clarabel)", PlanMethod.OPTIMIZE, LotMethod.TAX_MIN, ()),
    ]
    for scenario in SCENARIOS:
        for seed in range(args.households):
            for label, method, lot_method, txs in variants:
                hh, holdings, prices = household(method, lot_method, seed, scenario)
                plan, seconds = run(hh, holdings, prices, args.repeat, txs)
                rows.setdefault(f"{scenario}: {label}", []).append(
                    (plan.estimated_tax, drift_left(plan), plan.total_cost, seconds)
                )
    table = Table(
        title=f"Tax-aware plans: {args.households} households × 3 accounts, {N_SYMBOLS} symbols, "
        f"{N_LOTS} lots (median of {args.repeat} runs each)"
    )
    columns = ("plan", "tax (mean)", "drift left Σ|Δw| (mean)", "cost (mean)", "time median")
    for column in (*columns, "time max"):
        table.add_column(column, justify="left" if column == "plan" else "right")
    for label, values in rows.items():
        arr = np.array(values)
        table.add_row(
            label,
            f"{arr[:, 0].mean():,.0f}",
            f"{arr[:, 1].mean() * 100:.3f}pp",
            f"{arr[:, 2].mean():,.0f}",
            f"{np.median(arr[:, 3]) * 1e3:.1f} ms",
            f"{arr[:, 3].max() * 1e3:.1f} ms",
        )
    Console(width=150).print(table)
    print("Goals: tax-aware heuristic ≤ 10 ms; optimising plan ≤ 200 ms.")


if __name__ == "__main__":
    main()
