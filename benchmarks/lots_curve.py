"""The full tax-lot backtest path: time and peak memory against assets and years (issue 15).

A taxable account, equal targets, a monthly calendar rule, +1,000 a month, fifo lots, ST/LT
rates and tax-loss harvesting on: every contribution adds a lot per asset, so lots grow with
assets × months. The 20-asset row runs on skfolio's bundled S&P 500 stocks (the goal's case,
1990-2022); the curve runs on seeded synthetic prices (geometric Brownian motion, 252 days a
year) so that any number of assets and years can be drawn. Each case runs in its own process:
CPU time of the backtest alone, and the process's peak resident memory (ru_maxrss) less the
same process's memory just before the backtest.

Goals (issue 15): 20 stocks ≤ 150 ms; 500 assets × 30 years ≤ 3 s and ≤ 200 MB peak; time
linear in assets and in years (the last column divides each time by assets × years: flat
means linear).

Run: python benchmarks/lots_curve.py [--assets 20 50 100 200 500] [--years 10 20 30]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from rich.console import Console
from rich.table import Table

_CASE = r"""
import json, resource, sys, time
import numpy as np
import pandas as pd
from poise.backtest import ScheduledFlow, run_backtest
from poise.data import load_dataset
from poise.model import (Account, AccountKind, HarvestRules, Household, LotMethod, TaxRules)
from poise.policy import CalendarPolicy, Frequency

assets, years, bundled = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
if bundled:
    prices = load_dataset("sp500")
else:
    rng = np.random.default_rng(assets * 1000 + years)
    days = 252 * years
    drift = rng.uniform(0.02, 0.12, assets) / 252
    vol = rng.uniform(0.15, 0.45, assets) / np.sqrt(252)
    steps = drift - vol**2 / 2 + vol * rng.standard_normal((days, assets))
    index = pd.bdate_range("1990-01-02", periods=days)
    prices = pd.DataFrame(50.0 * np.exp(np.cumsum(steps, axis=0)), index=index,
                          columns=[f"S{j:03d}" for j in range(assets)])
hh = Household(
    name="curve",
    accounts=(Account("taxable", AccountKind.TAXABLE),),
    targets={s: 1.0 / prices.shape[1] for s in prices.columns},
    policy=CalendarPolicy(Frequency.MONTHLY),
    tax=TaxRules(LotMethod.FIFO, short_term_rate=0.35, long_term_rate=0.15),
    harvest=HarvestRules(enabled=True, min_loss_fraction=0.05),
)
flows = [ScheduledFlow(1_000.0, "month")]
run_backtest(hh, prices.iloc[:300], flows=flows)  # warm: imports, caches, compiled code
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.process_time()
result = run_backtest(hh, prices, flows=flows)
cpu = time.process_time() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"assets": prices.shape[1], "days": prices.shape[0], "cpu": cpu,
                  "peak_mb": max(peak - base, 0) / 1024, "rebalances": result.metrics.rebalances,
                  "final": result.final_value}))
"""


def run_case(assets: int, years: int, bundled: bool = False) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CASE, str(assets), str(years), "1" if bundled else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, nargs="+", default=[20, 50, 100, 200, 500])
    parser.add_argument("--years", type=int, nargs="+", default=[10, 30])
    args = parser.parse_args()
    console = Console()
    table = Table(title="Tax-lot backtest path: CPU and peak memory (one process a case)")
    for col in ("case", "assets", "years", "rebalances", "CPU s", "peak MB", "µs / asset-year"):
        table.add_column(col, justify="right" if col != "case" else "left")
    goal = run_case(20, 33, bundled=True)
    table.add_row(
        "sp500, 20 stocks (goal ≤ 0.150 s)",
        str(goal["assets"]),
        f"{goal['days'] / 252:.1f}",
        str(goal["rebalances"]),
        f"{goal['cpu']:.3f}",
        f"{goal['peak_mb']:.0f}",
        f"{goal['cpu'] / (goal['assets'] * goal['days'] / 252) * 1e6:.0f}",
    )
    for years in args.years:
        for assets in args.assets:
            row = run_case(assets, years)
            goal_case = (assets, years) == (500, 30)
            label = "synthetic" + (" (goal ≤ 3 s, ≤ 200 MB)" if goal_case else "")
            table.add_row(
                label,
                str(assets),
                str(years),
                str(row["rebalances"]),
                f"{row['cpu']:.3f}",
                f"{row['peak_mb']:.0f}",
                f"{row['cpu'] / (assets * years) * 1e6:.0f}",
            )
            console.print(f"[dim]{assets} assets × {years} years: {row['cpu']:.2f} s[/dim]")
    console.print(table)


if __name__ == "__main__":
    main()
