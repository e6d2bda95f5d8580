"""Monte Carlo speed: 10,000 paths × 30 years of monthly steps, a threshold rule and monthly
contributions, on the 20 stocks of skfolio's bundled S&P 500 data (equal weights).

Goal: ≤ 10 s on 2 cores. The anchor, in the same run, is the same simulation one path at a
time (``chunk=1``: no vectorisation across paths), timed on a few hundred paths and scaled
to 10,000; both runs must give the same values on the paths they share.

Run: ``python benchmarks/montecarlo.py [--paths N] [--repeat K]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from poise.data import load_dataset
from poise.model import Account, AccountKind, Household, TradingRules
from poise.policy import ThresholdPolicy
from poise.risk import MonteCarloSettings, monte_carlo
from poise.risk._montecarlo import STEP_DAYS, simulate_paths, step_gross_table, step_rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--anchor-paths", type=int, default=50)
    args = parser.parse_args()

    prices = load_dataset("sp500")
    symbols = list(prices.columns)
    targets = dict.fromkeys(symbols, 1.0 / len(symbols))
    household = Household(
        name="bench",
        accounts=(Account("brokerage", AccountKind.TAXABLE),),
        targets=targets,
        policy=ThresholdPolicy(absolute=0.02, relative=0.25),
        trading=TradingRules(spread_bps=5.0),
    )
    settings = MonteCarloSettings(paths=args.paths, years=args.years, contribution=1_000.0, seed=1)

    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = monte_carlo(household, prices, settings, initial_value=100_000.0)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    best = min(times)

    # Anchor: the same paths, one at a time.
    history = prices[symbols].dropna().to_numpy()
    table = np.column_stack([step_gross_table(history), np.ones(len(history) - STEP_DAYS)])
    target = np.append(np.full(len(symbols), 1.0 / len(symbols)), 0.0)
    starts = result.block_starts[: args.anchor_paths]
    block = settings.block_months

    def gross(t: int, rows: slice) -> np.ndarray:
        b, m = divmod(t - 1, block)
        return table[starts[rows, b] + STEP_DAYS * m]

    t0 = time.perf_counter()
    anchor = simulate_paths(
        gross,
        len(starts),
        settings.steps,
        target,
        step_rule(household.policy, target),
        result.step_dates,
        initial_values=target * 100_000.0,
        contribution=settings.contribution,
        spread_bps=5.0,
        chunk=1,
    )
    anchor_time = (time.perf_counter() - t0) * args.paths / len(starts)
    same = np.allclose(anchor["values"], result.values[: len(starts)], rtol=1e-12, atol=0)

    cells = args.paths * settings.steps * (len(symbols) + 1)
    print(
        f"Monte Carlo: {args.paths:,} paths × {settings.steps} monthly steps × "
        f"{len(symbols)} assets + cash, threshold 2pp/25%, contribution 1,000/month"
    )
    print(
        f"  poise (vectorised): {best:6.2f} s wall, {min(cpu):.2f} s CPU   (best of "
        f"{args.repeat}: {', '.join(f'{t:.2f}' for t in times)}); goal ≤ 10 s"
    )
    print(f"  one path at a time: {anchor_time:6.2f} s   (timed on {len(starts)} paths, scaled)")
    print(f"  speed-up {anchor_time / best:5.1f}×; {cells / best / 1e6:.1f} M asset-steps/s")
    print(f"  same values on the shared paths: {same}")
    print(
        f"  median terminal value {np.median(result.terminal):,.0f}; "
        f"rebalances/year {result.rebalances.mean() / args.years:.2f}"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  machine: {os.cpu_count()} cores, load average {load:.2f} during the run")


if __name__ == "__main__":
    main()
