"""Whole shares: how close the plan comes to the best integer allocation (issue 10, kind 6).

Random small accounts (all cash, 2–6 assets, shares of 50–3,000, 1,000–20,000 to invest, no
costs) are invested to target with whole shares by ``plan_rebalance``. Each is compared with
the best integer allocation: the share counts that minimise the tracking error (root of the
summed squared weight errors, cash included) within the cash. For up to 4 assets the best is
found exhaustively over every count within 4 shares of the ideal (fractional) count; for 5
and 6 assets, exhaustively within 1 share (3^n combinations; a bound, not a proof). A check
on a subsample with the full box (every count the cash allows) confirms the window.

Run: ``python benchmarks/whole_shares.py [--cases 3000] [--rule half_share]``; ``--rule``
picks the engine's top-up rule (``marginal``, the default, the earlier ``half_share``, or
``local``: marginal, then also one share fewer while that helps; the general path's only, so
it is studied with the array kernel off) so that all three distributions are printed from the
same run with ``--compare``.
"""

from __future__ import annotations

import argparse
import itertools
from datetime import date

import numpy as np

from poise.model import Account, AccountKind, Holdings, Household, TradingRules
from poise.plan import _engine, plan_rebalance
from poise.policy import ThresholdPolicy

DAY = date(2024, 6, 3)


def case(rng: np.random.Generator) -> tuple[dict[str, float], dict[str, float], float]:
    n = int(rng.integers(2, 7))
    symbols = [f"S{i}" for i in range(n)]
    weights = rng.dirichlet(np.ones(n))
    prices = np.exp(rng.uniform(np.log(50), np.log(3000), n))
    cash = float(rng.uniform(1000, 20000))
    return (
        dict(zip(symbols, weights.tolist(), strict=True)),
        dict(zip(symbols, prices.tolist(), strict=True)),
        cash,
    )


def tracking_error(counts: np.ndarray, price: np.ndarray, target: np.ndarray, cash: float) -> float:
    invested = counts @ price
    w = np.append(counts * price, cash - invested) / cash
    return float(np.sqrt(((w - np.append(target, 0.0)) ** 2).sum()))


def best(price: np.ndarray, target: np.ndarray, cash: float, window: int | None) -> np.ndarray:
    """The counts of least tracking error within the cash (exhaustive over the window)."""
    ideal = target * cash / price
    if window is None:
        ranges = [range(int(cash // p) + 1) for p in price]
    else:
        ranges = [
            range(max(0, int(np.floor(x)) - window), int(np.floor(x)) + window + 1) for x in ideal
        ]
    grid = np.array(list(itertools.product(*ranges)), dtype=float)
    invested = grid @ price
    grid = grid[invested <= cash + 1e-9]
    invested = grid @ price
    w = np.column_stack([grid * price, cash - invested]) / cash
    err = ((w - np.append(target, 0.0)) ** 2).sum(axis=1)
    return grid[int(np.argmin(err))]


def planned(targets: dict[str, float], prices: dict[str, float], cash: float) -> np.ndarray:
    hh = Household(
        "study",
        (Account("ira", AccountKind.TAX_DEFERRED),),
        targets,
        ThresholdPolicy(0.05),
        TradingRules(fractional=False),
    )
    plan = plan_rebalance(hh, Holdings((), {"ira": cash}), prices, DAY, force=True)
    held = plan.holdings_after.symbol_quantities()
    return np.array([held.get(s, 0.0) for s in targets])


def study(cases: int, rule: str, seed: int = 11) -> dict[str, np.ndarray]:
    _engine.TOPUP_RULE = rule
    _engine._USE_KERNEL = rule != "local"  # the kernel plans "marginal" (and "half_share")
    rng = np.random.default_rng(seed)
    te_plan, te_best, cash_plan, cash_best = [], [], [], []
    for _ in range(cases):
        targets, prices, cash = case(rng)
        price = np.array(list(prices.values()))
        target = np.array(list(targets.values()))
        counts = planned(targets, prices, cash)
        top = best(price, target, cash, 4 if len(price) <= 4 else 1)
        te_plan.append(tracking_error(counts, price, target, cash))
        te_best.append(tracking_error(top, price, target, cash))
        cash_plan.append((cash - counts @ price) / cash)
        cash_best.append((cash - top @ price) / cash)
    return {
        "te_plan": np.array(te_plan),
        "te_best": np.array(te_best),
        "cash_plan": np.array(cash_plan),
        "cash_best": np.array(cash_best),
    }


def window_check(samples: int = 40, seed: int = 5) -> int:
    """Cases (of ``samples`` with ≤ 3 assets) where the full box beats the ±4-share window."""
    rng = np.random.default_rng(seed)
    misses = 0
    checked = 0
    while checked < samples:
        targets, prices, cash = case(rng)
        if len(prices) > 3 or cash / min(prices.values()) > 150:
            continue
        price = np.array(list(prices.values()))
        target = np.array(list(targets.values()))
        full = tracking_error(best(price, target, cash, None), price, target, cash)
        window = tracking_error(best(price, target, cash, 4), price, target, cash)
        misses += full < window - 1e-12
        checked += 1
    return misses


def show(name: str, r: dict[str, np.ndarray]) -> None:
    gap = r["te_plan"] - r["te_best"]
    q = [50, 90, 99, 100]
    print(f"\n{name}: {len(gap)} accounts")
    print("  percentiles          " + "  ".join(f"p{p:<6}" for p in q))
    for label, values, scale in (
        ("tracking error (pp)", r["te_plan"], 100),
        ("  best integer (pp)", r["te_best"], 100),
        ("  gap (pp)", gap, 100),
        ("cash left (%)", r["cash_plan"], 100),
        ("  best integer (%)", r["cash_best"], 100),
    ):
        cells = "  ".join(f"{np.percentile(values, p) * scale:7.3f}" for p in q)
        print(f"  {label:<20} {cells}")
    print(f"  at the best (gap < 1e-9): {(gap < 1e-9).mean():.1%}")
    print(f"  mean gap closed vs best: tracking error {gap.mean() * 100:.4f}pp")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--rule", default="marginal", choices=["marginal", "half_share", "local"])
    parser.add_argument("--compare", action="store_true", help="print both rules")
    args = parser.parse_args()
    rules = ["half_share", "marginal", "local"] if args.compare else [args.rule]
    for rule in rules:
        show(f"top-up rule {rule!r}", study(args.cases, rule))
    print(f"\nwindow check: the full box beat the ±4 window in {window_check()} of 40 cases")


if __name__ == "__main__":
    main()
