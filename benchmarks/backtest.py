"""poise's backtest against bt 1.4 on the same data, in the same run.

skfolio's 20 S&P 500 stocks × 8,313 days (1990-2022), equal weights, 100,000 invested on the
first day, fractional shares, no costs:

(a) monthly calendar rebalancing (goal: ≥ 50× faster than bt);
(b) 25% relative bands checked daily (goal: ≥ 100× faster than bt). In bt,
    ``RunIfOutOfBounds`` comes after ``WeighSpecified``, or bt rebalances every day.

Both tools must end at the same value. Then the full tax-lot path (taxable account, FIFO
lots, 35%/15% tax paid every year, 1,000 contributed monthly, monthly calendar; goal ≤ 1 s),
which bt cannot do.

Run: ``python benchmarks/backtest.py`` (bt from the ``bench`` extra: ``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from poise.backtest import ScheduledFlow, run_backtest
from poise.data import load_dataset
from poise.model import Account, AccountKind, Household, LotMethod, TaxRules
from poise.policy import CalendarPolicy, Frequency, ThresholdPolicy

INITIAL = 100_000.0


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall-clock and best CPU seconds over ``repeat`` runs, and the last result. CPU time
    is the fairer figure on a shared machine (it does not count time waiting for a core)."""
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, out


def poise_household(policy: object, kind: AccountKind, tax: TaxRules | None = None) -> Household:
    prices = load_dataset("sp500")
    weights = {s: 1.0 / prices.shape[1] for s in prices.columns}
    return Household(
        name="bench",
        accounts=(Account("acct", kind),),
        targets=weights,
        policy=policy,  # type: ignore[arg-type]
        tax=tax or TaxRules(),
    )


def bt_run(prices: pd.DataFrame, algos: list[Any]) -> float:
    import bt

    strategy = bt.Strategy("s", algos)
    test = bt.Backtest(
        strategy, prices, initial_capital=INITIAL, integer_positions=False, progress_bar=False
    )
    return float(bt.run(test).backtests["s"].strategy.values.iloc[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="poise runs per case (best)")
    parser.add_argument("--bt-repeat", type=int, default=1, help="bt runs per case (best)")
    args = parser.parse_args()
    prices = load_dataset("sp500")
    weights = {s: 1.0 / prices.shape[1] for s in prices.columns}
    try:
        import bt
    except ImportError:
        bt = None

    cases = [
        (
            "(a) monthly calendar",
            50.0,
            CalendarPolicy(Frequency.MONTHLY),
            lambda: [
                bt.algos.RunMonthly(run_on_first_date=True),
                bt.algos.SelectAll(),
                bt.algos.WeighSpecified(**weights),
                bt.algos.Rebalance(),
            ],
        ),
        (
            "(b) 25% relative bands, daily",
            100.0,
            ThresholdPolicy(None, 0.25),
            lambda: [
                bt.algos.SelectAll(),
                bt.algos.WeighSpecified(**weights),
                bt.algos.RunIfOutOfBounds(0.25),
                bt.algos.Rebalance(),
            ],
        ),
    ]
    console = Console(width=170)
    table = Table(
        title=f"Backtest: {prices.shape[1]} stocks × {prices.shape[0]:,} days (sp500), "
        "fractional, no costs"
    )
    for col in (
        "case",
        "rebalances",
        "poise s (cpu)",
        "bt s (cpu)",
        "speed-up (cpu)",
        "goal",
        "poise final value",
        "bt final value",
        "rel. diff",
    ):
        table.add_column(col, justify="left" if col == "case" else "right")
    for label, goal, policy, algos in cases:
        hh = poise_household(policy, AccountKind.TAX_DEFERRED)
        seconds, cpu, result = best_of(lambda hh=hh: run_backtest(hh, prices), args.repeat)
        if bt is not None:
            bt_seconds, bt_cpu, bt_final = best_of(
                lambda algos=algos: bt_run(prices, algos()), args.bt_repeat
            )
            diff = abs(result.final_value / bt_final - 1)
            cells = [
                f"{bt_seconds:.2f} ({bt_cpu:.2f})",
                f"{bt_seconds / seconds:.0f}× ({bt_cpu / cpu:.0f}×)",
                f"≥ {goal:.0f}×",
                f"{result.final_value:,.2f}",
                f"{bt_final:,.2f}",
                f"{diff:.1e}",
            ]
        else:
            cells = ["–", "–", f"≥ {goal:.0f}×", f"{result.final_value:,.2f}", "–", "–"]
        table.add_row(label, str(result.metrics.rebalances), f"{seconds:.3f} ({cpu:.3f})", *cells)
        console.print(f"done: {label}")

    tax = TaxRules(LotMethod.FIFO, short_term_rate=0.35, long_term_rate=0.15)
    hh = poise_household(CalendarPolicy(Frequency.MONTHLY), AccountKind.TAXABLE, tax)
    flows = [ScheduledFlow(1_000.0, "month")]
    seconds, cpu, result = best_of(lambda: run_backtest(hh, prices, flows=flows), args.repeat)
    table.add_row(
        "(c) tax lots, taxable, +1,000/month, monthly",
        str(result.metrics.rebalances),
        f"{seconds:.3f} ({cpu:.3f})",
        "n/a",
        "",
        "≤ 1 s",
        f"{result.final_value:,.2f}",
        f"taxes paid {result.taxes_paid:,.0f}",
        "",
    )
    console.print(table)
    if bt is None:
        console.print("bt is not installed: pip install -e '.[bench]' to compare")


if __name__ == "__main__":
    main()
