"""poise's backtest against bt 1.4 on the same data, in the same run.

skfolio's 20 S&P 500 stocks × 8,313 days (1990-2022), equal weights, 100,000 invested on the
first day, fractional shares, no costs:

(a) monthly calendar rebalancing (goal: ≥ 50× faster than bt);
(b) 25% relative bands checked daily (goal: ≥ 100× faster than bt). In bt,
    ``RunIfOutOfBounds`` comes after ``WeighSpecified``, or bt rebalances every day.

Both tools must end at the same value. Then the full tax-lot path (taxable account, FIFO
lots, 35%/15% tax paid every year, 1,000 contributed monthly, monthly calendar; goal ≤ 150 ms
with harvesting), which bt cannot do.

Issue 15's anchors, in the same run: vectorbt (monthly, ``Portfolio.from_orders`` with target
percentages; its first call compiles, timed apart), a numba loop over the same arithmetic (the
compiled reference: weights, trigger, every holding to target), the same two rules with costs
(5 bps spread, 1.00 commission) and whole shares (goal ≤ 10 ms), the volatility rule on 25%
bands (goal: no slower than the threshold rule, (d)), and poise's first backtest in
a new process (imports excluded and included). A result builds its tables and metrics on first
read: "every part read" times the run plus reading all of them and its JSON. poise's compiled
loop needs the ``fast`` extra (numba); ``POISE_JIT=0`` turns it off. ``--profile`` prints the
10 hottest functions of (a), the run alone and with every part read.

Run: ``python benchmarks/backtest.py`` (bt and vectorbt from the ``bench`` extra:
``pip install -e .[bench,fast]``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from poise.backtest import ScheduledFlow, run_backtest
from poise.data import load_dataset
from poise.model import Account, AccountKind, Household, LotMethod, TaxRules, TradingRules
from poise.policy import CalendarPolicy, Frequency, ThresholdPolicy, VolatilityPolicy

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


def poise_household(
    policy: object,
    kind: AccountKind,
    tax: TaxRules | None = None,
    trading: TradingRules | None = None,
) -> Household:
    prices = load_dataset("sp500")
    weights = {s: 1.0 / prices.shape[1] for s in prices.columns}
    return Household(
        name="bench",
        accounts=(Account("acct", kind),),
        targets=weights,
        policy=policy,  # type: ignore[arg-type]
        tax=tax or TaxRules(),
        trading=trading or TradingRules(),
    )


def bt_run(prices: pd.DataFrame, algos: list[Any]) -> float:
    import bt

    strategy = bt.Strategy("s", algos)
    test = bt.Backtest(
        strategy, prices, initial_capital=INITIAL, integer_positions=False, progress_bar=False
    )
    return float(bt.run(test).backtests["s"].strategy.values.iloc[-1])


def reference_loop() -> Callable[..., float] | None:
    """The compiled reference: a numba loop over the same arithmetic (fractional, no costs):
    each day the weights, the rule's trigger, and on a trigger every holding to target."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True)
    def loop(p: Any, month: Any, target: Any, relative: float, initial: float) -> float:
        n_days, n = p.shape
        q = np.zeros(n)
        cash = initial
        value = initial
        for d in range(n_days):
            value = cash
            for j in range(n):
                value += q[j] * p[d, j]
            if d == 0:
                fire = True
            elif relative <= 0.0:
                fire = month[d] != month[d - 1]
            else:
                fire = abs(cash / value - target[n]) > relative * target[n] + 1e-12
                for j in range(n):
                    w = q[j] * p[d, j] / value
                    if abs(w - target[j]) > relative * target[j] + 1e-12:
                        fire = True
            if fire:
                for j in range(n):
                    q[j] = target[j] * value / p[d, j]
                cash = target[n] * value
        return value

    return loop  # type: ignore[no-any-return]


def vectorbt_monthly(prices: pd.DataFrame) -> Callable[[], float] | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    n = prices.shape[1]
    month = prices.index.to_period("M")
    first = np.r_[True, month[1:] != month[:-1]]
    size = pd.DataFrame(
        np.where(np.repeat(first[:, None], n, axis=1), 1.0 / n, np.nan),
        index=prices.index,
        columns=prices.columns,
    )

    def run() -> float:
        pf = vbt.Portfolio.from_orders(
            prices,
            size,
            size_type="targetpercent",
            group_by=True,
            cash_sharing=True,
            call_seq="auto",
            init_cash=INITIAL,
            freq="D",
        )
        return float(pf.value().iloc[-1])

    return run


_COLD = """
import time
t0 = time.process_time()
from poise.backtest import run_backtest
from poise.data import load_dataset
from poise.model import Account, AccountKind, Household
from poise.policy import CalendarPolicy, Frequency
prices = load_dataset("sp500")
hh = Household(name="cold", accounts=(Account("a", AccountKind.TAX_DEFERRED),),
               targets={s: 1 / prices.shape[1] for s in prices.columns},
               policy=CalendarPolicy(Frequency.MONTHLY))
times = [t0, time.process_time()]
for _ in range(4):
    run_backtest(hh, prices)
    times.append(time.process_time())
print(*(b - a for a, b in zip(times, times[1:])))
"""


def cold_start() -> list[float]:
    """CPU seconds in a new process: imports and data, then each of four backtests (the
    third loads numba's cached machine code, see ``poise.backtest._compiled.WARM_UP``)."""
    out = subprocess.run(
        [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True
    ).stdout.split()
    return [float(x) for x in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="poise runs per case (best)")
    parser.add_argument("--bt-repeat", type=int, default=1, help="bt runs per case (best)")
    parser.add_argument("--no-bt", action="store_true", help="skip bt (slow)")
    parser.add_argument("--profile", action="store_true", help="top 10 hot spots of (a)")
    args = parser.parse_args()
    prices = load_dataset("sp500")
    weights = {s: 1.0 / prices.shape[1] for s in prices.columns}
    try:
        import bt
    except ImportError:
        bt = None
    if args.no_bt:
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
        bands_cpu = cpu

    # issue 15: the volatility rule (25% bands scaled by recent/long-run volatility) no slower
    hh = poise_household(VolatilityPolicy(None, 0.25), AccountKind.TAX_DEFERRED)
    seconds, cpu, result = best_of(lambda: run_backtest(hh, prices), args.repeat)
    table.add_row(
        "(d) volatility-scaled 25% bands, daily",
        str(result.metrics.rebalances),
        f"{seconds:.3f} ({cpu:.3f})",
        "n/a",
        f"{cpu / bands_cpu:.2f}× (b)",
        "≤ (b)",
        f"{result.final_value:,.2f}",
        "",
        "",
    )

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
    anchors(console, prices, args.repeat)
    if args.profile:
        hh = poise_household(CalendarPolicy(Frequency.MONTHLY), AccountKind.TAX_DEFERRED)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3):
            run_backtest(hh, prices)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(10)
        console.print(text.getvalue())
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3):
            read_everything(run_backtest(hh, prices))
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(10)
        console.print(text.getvalue())
    if bt is None:
        console.print("bt is not installed: pip install -e '.[bench]' to compare")


def read_everything(result: Any) -> Any:
    """Read every part of a result (its tables and metrics are built on first read) and its
    JSON: what a caller that uses all of it pays on top of ``run_backtest``."""
    from poise.report import backtest_result_to_dict

    for name in ("weights", "targets", "bands", "trades", "rebalances", "flows", "taxes"):
        getattr(result, name)
    backtest_result_to_dict(result)
    return result


def anchors(console: Console, prices: pd.DataFrame, repeat: int) -> None:
    """Issue 15's goals: poise beside vectorbt and the compiled reference loop, with costs and
    whole shares, and in a new process."""
    table = Table(title="Issue 15 anchors (CPU seconds, best of runs; final values checked)")
    for col in (
        "case",
        "poise",
        "goal",
        "poise, every part read",
        "vectorbt",
        "numba reference",
        "poise final",
        "rel. diff",
    ):
        table.add_column(col, justify="left" if col == "case" else "right")
    symbols = list(prices.columns)
    target = np.full(len(symbols) + 1, 1.0 / len(symbols))
    target[-1] = 0.0
    month = (prices.index.year * 12 + prices.index.month).to_numpy()
    p = np.ascontiguousarray(prices.to_numpy())
    loop = reference_loop()
    vbt_run = vectorbt_monthly(prices)
    costs = TradingRules(fractional=False, spread_bps=5.0, commission=1.0)
    cases = [
        ("monthly calendar", CalendarPolicy(Frequency.MONTHLY), None, 0.0, 0.005),
        ("25% relative bands, daily", ThresholdPolicy(None, 0.25), None, 0.25, 0.005),
        ("monthly, costs, whole shares", CalendarPolicy(Frequency.MONTHLY), costs, None, 0.010),
        ("25% bands, costs, whole shares", ThresholdPolicy(None, 0.25), costs, None, 0.010),
    ]
    for label, policy, trading, relative, goal in cases:
        hh = poise_household(policy, AccountKind.TAX_DEFERRED, trading=trading)
        run_backtest(hh, prices)  # compiled on first use (cached on disk)
        _, cpu, result = best_of(lambda hh=hh: run_backtest(hh, prices), repeat)
        _, all_cpu, _ = best_of(lambda hh=hh: read_everything(run_backtest(hh, prices)), repeat)
        ref_cell, diffs = "–", []
        if loop is not None and relative is not None:
            loop(p, month, target, relative, INITIAL)
            _, ref_cpu, ref = best_of(lambda r=relative: loop(p, month, target, r, INITIAL), 20)
            ref_cell = f"{ref_cpu * 1e3:.2f} ms ({cpu / ref_cpu:.0f}×)"
            diffs.append(abs(result.final_value / ref - 1))
        vbt_cell = "–"
        if vbt_run is not None and relative == 0.0:
            first_cpu = time.process_time()
            vbt_run()
            first_cpu = time.process_time() - first_cpu
            _, vbt_cpu, vbt_final = best_of(vbt_run, repeat)
            vbt_cell = f"{vbt_cpu * 1e3:.1f} ms ({vbt_cpu / cpu:.1f}×), 1st {first_cpu:.1f} s"
            diffs.append(abs(result.final_value / vbt_final - 1))
        table.add_row(
            label,
            f"{cpu * 1e3:.1f} ms",
            f"≤ {goal * 1e3:.0f} ms",
            f"{all_cpu * 1e3:.1f} ms",
            vbt_cell,
            ref_cell,
            f"{result.final_value:,.2f}",
            f"{max(diffs):.1e}" if diffs else "",
        )
        console.print(f"done: {label}")
    imports, *runs = cold_start()
    table.add_row(
        "new process: imports+data | 1st | 2nd | 3rd | 4th backtest",
        f"{imports:.2f} | " + " | ".join(f"{r:.3f}" for r in runs) + " s",
        "1st ≤ 0.1 s",
        "",
        "",
        "",
        "",
        "",
    )
    console.print(table)


if __name__ == "__main__":
    main()
