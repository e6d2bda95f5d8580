"""Allocation-model speed against the goals of issue 4, with the anchors measured in the same run.

(a) 500-asset long-only mean-variance (goal ≤ 0.3 s). 500 assets × 756 days are synthesised
    reproducibly from the bundled data: each asset is a seeded random long-only mix of the 20
    real S&P 500 stocks' daily returns plus seeded idiosyncratic noise (so the covariance has
    the real market's structure). The figure: poise's ``fit_model`` maximising return − 5 ×
    variance on the sample covariance (poise's fast path: cvxpy + Clarabel, Σ as the QP's
    quadratic term). Also timed: minimum variance, maximum return at a 25% volatility
    target, the 10-component factor covariance. Anchors: skfolio's ``MeanRisk`` called
    directly on the same problem (its defaults), poise with the fast path off (``fit_model``
    through skfolio, as before the fast path), and a hand-written cvxpy + Clarabel QP with the
    Cholesky factor, ``sum_squares(Lᵀw)``.

(b) 30-year monthly walk-forward re-fitting minimum variance on the 20 stocks (goal ≤ 5 s):
    ``poise.backtest.run_backtest`` on a household whose ``[allocation]`` is min_variance
    (756-day lookback, monthly re-fit, calendar-monthly policy), 1993-2022: 360 re-fits, each
    re-solving the allocation's one parametrised cvxpy problem. Anchors: the same backtest
    with the fast path off (every re-fit fits skfolio's ``MeanRisk`` directly, which builds a
    new cvxpy problem each time), the same backtest with static equal-weight targets (the
    cost of the backtest without re-fitting), and, as a yardstick, a bare parametrised cvxpy
    problem re-solved 360 times (numpy covariance, no skfolio, no backtest). Also the re-fit
    loop alone (``poise.allocate.walk_forward``) both ways, and how far apart their targets
    are.

Each figure is the best of ``--repeat`` runs after one warm-up (imports, first solve), as wall
seconds and CPU seconds (``time.process_time``): the machine is shared, and CPU time does not
count waiting for a core, so the goals are judged on CPU time. The skfolio anchors of (b) are
run ``--anchor-repeat`` times (they take 7-8 s each).

Run: ``python benchmarks/optimize.py [--repeat 3] [--anchor-repeat 1] [--part a|b|both]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from poise.allocate import (
    Constraints,
    CovarianceName,
    ModelAllocation,
    ModelName,
    ModelSpec,
    _fast,
    daily_returns,
    fit_model,
    walk_forward,
)
from poise.data import load_dataset
from poise.io import household_from_dict

START, END = date(1993, 1, 1), date(2022, 12, 31)
GOAL_A, GOAL_B = 0.3, 5.0
console = Console(width=110)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    result: Any


def best_of(fn: Callable[[], Any], repeat: int, warm_up: bool = True) -> Timing:
    """Best wall and best CPU seconds over ``repeat`` runs, and the last result."""
    if warm_up:
        fn()
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - began)
        cpu = min(cpu, time.process_time() - began_cpu)
    return Timing(wall, cpu, out)


@contextmanager
def skfolio_only() -> Iterator[None]:
    """Every fit through skfolio's optimisers, as before poise's fast path."""
    _fast.ENABLED = False
    try:
        yield
    finally:
        _fast.ENABLED = True


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def verdict(timing: Timing, goal: float) -> str:
    met = timing.cpu <= goal
    colour = "green" if met else "red"
    return f"[{colour}]{'met' if met else 'missed'}[/{colour}] ({timing.cpu:.3g} s CPU)"


def synthetic_returns(n_assets: int = 500, days: int = 756, seed: int = 42) -> pd.DataFrame:
    base = daily_returns(load_dataset("sp500")).iloc[-days:]
    rng = np.random.default_rng(seed)
    mix = rng.dirichlet(np.full(base.shape[1], 0.3), size=n_assets)  # (500, 20), long-only
    noise = rng.normal(0.0, 0.012, size=(days, n_assets))
    drift = rng.normal(0.0002, 0.0003, size=n_assets)
    values = base.to_numpy() @ mix.T + noise + drift
    return pd.DataFrame(values, index=base.index, columns=[f"S{i:03d}" for i in range(n_assets)])


def cvxpy_cholesky_qp(returns: pd.DataFrame, risk_aversion: float) -> np.ndarray:
    """The hand-written anchor: max μᵀw − λ‖Lᵀw‖², L the Cholesky factor of Σ."""
    import cvxpy as cp

    x = returns.to_numpy()
    mu = x.mean(axis=0)
    factor = np.linalg.cholesky(np.cov(x, rowvar=False))
    w = cp.Variable(x.shape[1])
    problem = cp.Problem(
        cp.Maximize(mu @ w - risk_aversion * cp.sum_squares(factor.T @ w)),
        [cp.sum(w) == 1, w >= 0],
    )
    problem.solve(solver="CLARABEL")
    return np.asarray(w.value)


def timing_table(title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("run")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("note")
    return table


def part_a(repeat: int) -> None:
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    returns = synthetic_returns()
    utility = ModelSpec(model=ModelName.MEAN_VARIANCE, risk_aversion=5.0)
    runs: dict[str, tuple[Callable[[], Any], str]] = {
        "poise fit_model, max utility (λ=5)": (
            lambda: fit_model(returns, utility),
            f"the figure; goal ≤ {GOAL_A} s",
        ),
        "poise fit_model, min variance": (lambda: fit_model(returns, ModelSpec()), ""),
        "poise fit_model, max return at 25% volatility": (
            lambda: fit_model(
                returns,
                ModelSpec(
                    model=ModelName.MEAN_VARIANCE,
                    constraints=Constraints(target_volatility=0.25),
                ),
            ),
            "second-order cone with the Cholesky factor",
        ),
        "poise fit_model, max utility, factor covariance (10 PCs)": (
            lambda: fit_model(
                returns,
                ModelSpec(
                    model=ModelName.MEAN_VARIANCE,
                    risk_aversion=5.0,
                    covariance=CovarianceName.FACTOR,
                ),
            ),
            "",
        ),
        "anchor: skfolio MeanRisk direct, max utility": (
            lambda: MeanRisk(
                objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
                risk_measure=RiskMeasure.VARIANCE,
                risk_aversion=5.0,
            ).fit(returns),
            "skfolio's defaults",
        ),
        "anchor: poise fit_model via skfolio (fast path off), max utility": (
            lambda: _via_skfolio(lambda: fit_model(returns, utility)),
            "poise before the fast path",
        ),
        "anchor: cvxpy + Clarabel QP, Cholesky factor, max utility": (
            lambda: cvxpy_cholesky_qp(returns, 5.0),
            "hand-written, sum_squares(Lᵀw)",
        ),
    }
    table = timing_table(
        f"(a) 500-asset long-only mean-variance, {returns.shape[0]} days (load {load()})"
    )
    results: dict[str, Timing] = {}
    for name, (fn, note) in runs.items():
        results[name] = timing = best_of(fn, repeat)
        table.add_row(name, f"{timing.wall:.3f}", f"{timing.cpu:.3f}", note)
    console.print(table)
    figure = results["poise fit_model, max utility (λ=5)"]
    ours = np.array(list(figure.result.weights.values()))
    direct = np.asarray(results["anchor: skfolio MeanRisk direct, max utility"].result.weights_)
    via = results["anchor: poise fit_model via skfolio (fast path off), max utility"].result
    via_w = np.array(list(via.weights.values()))
    console.print(
        f"  goal ≤ {GOAL_A} s: {verdict(figure, GOAL_A)}; max |Δw| against skfolio direct "
        f"(its default tolerances) {np.abs(ours - direct).max():.1e}, against poise's "
        f"tightly solved skfolio path {np.abs(ours - via_w).max():.1e}"
    )


def _via_skfolio(fn: Callable[[], Any]) -> Any:
    with skfolio_only():
        return fn()


def min_variance_household(static: bool) -> Any:
    symbols = list(load_dataset("sp500").columns)
    table: dict[str, Any] = {
        "name": "bench",
        "accounts": [{"id": "acct", "kind": "tax_free"}],
        "policy": {"kind": "calendar", "frequency": "monthly"},
    }
    if static:
        table["targets"] = {s: 1 / len(symbols) for s in symbols}
    else:
        table["allocation"] = {
            "model": "min_variance",
            "symbols": symbols,
            "lookback_days": 756,
            "refit": "monthly",
        }
    return household_from_dict(table, source="<benchmark>")


def dpp_yardstick(prices: pd.DataFrame) -> int:
    """One bare parametrised cvxpy problem re-solved at each month's first trading day
    (numpy covariance and Cholesky factor; no skfolio, no backtest)."""
    import cvxpy as cp

    returns = daily_returns(prices)
    values = returns.to_numpy()
    n = values.shape[1]
    factor = cp.Parameter((n, n))
    w = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(factor.T @ w)), [cp.sum(w) == 1, w >= 0])
    days = returns.index
    inside = days[(days >= pd.Timestamp(START)) & (days <= pd.Timestamp(END))]
    firsts = inside[np.r_[True, inside.month[1:] != inside.month[:-1]]]
    for day in firsts:
        end = int(days.searchsorted(day, side="right"))
        window = values[max(0, end - 756) : end]
        factor.value = np.linalg.cholesky(np.cov(window, rowvar=False))
        problem.solve(solver="CLARABEL")
    return len(firsts)


def part_b(repeat: int, anchor_repeat: int) -> None:
    from poise.backtest import run_backtest

    prices = load_dataset("sp500")
    fitted = min_variance_household(static=False)
    static = min_variance_household(static=True)

    def backtest(household: Any) -> Any:
        return run_backtest(household, prices, start=START, end=END)

    def loop() -> Any:
        allocation = ModelAllocation(ModelSpec(), tuple(prices.columns), lookback_days=756)
        return walk_forward(prices, allocation, START, END)

    table = timing_table(
        f"(b) {START.year}-{END.year} monthly walk-forward, min_variance re-fitted on the 20 "
        f"stocks (load {load()})"
    )
    figure = best_of(lambda: backtest(fitted), repeat)
    rebalances = len(figure.result.rebalances)
    table.add_row(
        "poise run_backtest, \\[allocation] min_variance",
        f"{figure.wall:.2f}",
        f"{figure.cpu:.2f}",
        f"the figure; goal ≤ {GOAL_B} s; {rebalances} rebalances",
    )
    with skfolio_only():
        before = best_of(lambda: backtest(fitted), anchor_repeat, warm_up=False)
    table.add_row(
        "anchor: same, fast path off (skfolio MeanRisk per fit)",
        f"{before.wall:.2f}",
        f"{before.cpu:.2f}",
        "poise before the fast path",
    )
    plain = best_of(lambda: backtest(static), repeat)
    table.add_row(
        "anchor: same backtest, static equal-weight targets",
        f"{plain.wall:.2f}",
        f"{plain.cpu:.2f}",
        "no re-fitting",
    )
    bare = best_of(lambda: dpp_yardstick(prices), repeat)
    table.add_row(
        f"yardstick: bare parametrised cvxpy problem × {bare.result}",
        f"{bare.wall:.2f}",
        f"{bare.cpu:.2f}",
        "no skfolio, no backtest",
    )
    fast_loop = best_of(loop, repeat)
    fits = len(fast_loop.result.targets)
    table.add_row(
        "poise walk_forward re-fit loop alone",
        f"{fast_loop.wall:.2f}",
        f"{fast_loop.cpu:.2f}",
        f"{fits} fits, {1000 * fast_loop.cpu / fits:.1f} ms CPU per fit",
    )
    with skfolio_only():
        slow_loop = best_of(loop, anchor_repeat, warm_up=False)
    table.add_row(
        "anchor: same loop, fast path off",
        f"{slow_loop.wall:.2f}",
        f"{slow_loop.cpu:.2f}",
        f"{1000 * slow_loop.cpu / fits:.1f} ms CPU per fit",
    )
    console.print(table)
    gap = np.abs(fast_loop.result.targets - slow_loop.result.targets).to_numpy().max()
    console.print(
        f"  goal ≤ {GOAL_B} s: {verdict(figure, GOAL_B)}; {before.cpu / figure.cpu:.1f}× less "
        f"CPU than through skfolio; max |Δ target| fast path vs skfolio over {fits} re-fits "
        f"{gap:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--anchor-repeat", type=int, default=1)
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    args = parser.parse_args()
    console.print(f"cores {os.cpu_count()}, load average {load()}")
    if args.part in {"a", "both"}:
        part_a(args.repeat)
    if args.part in {"b", "both"}:
        part_b(args.repeat, args.anchor_repeat)


if __name__ == "__main__":
    main()
