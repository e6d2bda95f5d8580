"""Allocation-model speed, with the anchors measured side by side in the same run.

(a) 500-asset long-only mean-variance (goal ≤ 0.3 s). 500 assets × 756 days are synthesised
    reproducibly from the bundled data: each asset is a seeded random long-only mix of the 20
    real S&P 500 stocks' daily returns plus seeded idiosyncratic noise (so the covariance has
    the real market's structure). poise's ``fit_model`` (skfolio MeanRisk, Clarabel; risk
    aversion 5, at a 25% volatility target, minimum variance; sample covariance, and the
    10-component factor covariance) against the anchors: skfolio's MeanRisk called directly
    with its defaults, and a hand-written cvxpy + Clarabel QP.

(b) 30-year monthly walk-forward re-fitting minimum variance on the 20 stocks (goal ≤ 5 s):
    ``poise.backtest.run_backtest`` on a household whose ``[allocation]`` is min_variance
    (756-day lookback, monthly re-fit, calendar-monthly policy), 1993-2022; anchor: the same
    backtest with static equal-weight targets (so the difference is the cost of re-fitting),
    and, as a yardstick poise does not use, one parametrised cvxpy problem re-solved each month
    (no per-fit problem construction). Also the re-fitting loop alone
    (``poise.allocate.walk_forward``).

Times are the best of ``--repeat`` runs, after one warm-up (imports, first solve).

Run: ``python benchmarks/optimize.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise.allocate import (
    Constraints,
    CovarianceName,
    ModelAllocation,
    ModelName,
    ModelSpec,
    daily_returns,
    fit_model,
    walk_forward,
)
from poise.data import load_dataset
from poise.io import household_from_dict

START, END = date(1993, 1, 1), date(2022, 12, 31)


CPU: list[float] = [0.0]
"""CPU seconds of the best run of the last ``best_of`` (less sensitive to a busy machine)."""


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up
    best, out = float("inf"), None
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        out = fn()
        took = time.perf_counter() - began
        if took < best:
            best, CPU[0] = took, time.process_time() - cpu
    return best, out


def synthetic_returns(n_assets: int = 500, days: int = 756, seed: int = 42) -> pd.DataFrame:
    base = daily_returns(load_dataset("sp500")).iloc[-days:]
    rng = np.random.default_rng(seed)
    mix = rng.dirichlet(np.full(base.shape[1], 0.3), size=n_assets)  # (500, 20), long-only
    noise = rng.normal(0.0, 0.012, size=(days, n_assets))
    drift = rng.normal(0.0002, 0.0003, size=n_assets)
    values = base.to_numpy() @ mix.T + noise + drift
    return pd.DataFrame(values, index=base.index, columns=[f"S{i:03d}" for i in range(n_assets)])


def cvxpy_anchor(returns: pd.DataFrame, risk_aversion: float) -> np.ndarray:
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


def part_a(repeat: int) -> None:
    returns = synthetic_returns()
    print(f"(a) 500-asset long-only mean-variance on {returns.shape[0]} days (goal ≤ 0.3 s)")
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    utility = ModelSpec(model=ModelName.MEAN_VARIANCE, risk_aversion=5.0)
    factor = ModelSpec(
        model=ModelName.MEAN_VARIANCE, risk_aversion=5.0, covariance=CovarianceName.FACTOR
    )
    target = ModelSpec(
        model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.25)
    )
    runs = {
        "poise fit_model, max utility (λ=5)": lambda: fit_model(returns, utility),
        "poise fit_model, max return at 25% volatility": lambda: fit_model(returns, target),
        "poise fit_model, min variance": lambda: fit_model(returns, ModelSpec()),
        "poise fit_model, max utility, factor covariance (10 PCs)": lambda: fit_model(
            returns, factor
        ),
        "anchor: skfolio MeanRisk direct, max utility": lambda: MeanRisk(
            objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
            risk_measure=RiskMeasure.VARIANCE,
            risk_aversion=5.0,
        ).fit(returns),
        "anchor: cvxpy + Clarabel QP, max utility": lambda: cvxpy_anchor(returns, 5.0),
    }
    results = {}
    for name, fn in runs.items():
        seconds, out = best_of(fn, repeat)
        results[name] = out
        print(f"  {name:<58} {seconds:7.3f} s wall  {CPU[0]:7.3f} s CPU")
    poise_w = np.array(list(results["poise fit_model, max utility (λ=5)"].weights.values()))
    cvx_w = results["anchor: cvxpy + Clarabel QP, max utility"]
    print(f"  max |poise − cvxpy anchor| weight difference: {np.abs(poise_w - cvx_w).max():.2e}")


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


def dpp_anchor(prices: pd.DataFrame) -> int:
    """Not used by poise: one cvxpy problem with the covariance factor as a parameter,
    re-solved at each month's first trading day (what skipping skfolio's per-fit problem
    construction would buy)."""
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


def part_b(repeat: int) -> None:
    prices = load_dataset("sp500")
    print(
        f"\n(b) {START.year}-{END.year} monthly walk-forward, min_variance re-fitted on the 20 "
        "stocks (goal ≤ 5 s)"
    )
    try:
        from poise.backtest import run_backtest
    except ImportError:
        run_backtest = None
    if run_backtest is not None:
        fitted = min_variance_household(static=False)
        static = min_variance_household(static=True)
        seconds, result = best_of(
            lambda: run_backtest(fitted, prices, start=START, end=END), repeat
        )
        cpu = CPU[0]
        anchor, _ = best_of(lambda: run_backtest(static, prices, start=START, end=END), repeat)
        print(
            f"  run_backtest, [allocation] min_variance refit monthly  {seconds:7.2f} s wall "
            f"{cpu:7.2f} s CPU ({len(result.rebalances)} rebalances)"
        )
        print(
            f"  anchor: run_backtest, static equal-weight targets       {anchor:7.2f} s wall "
            f"{CPU[0]:7.2f} s CPU"
        )
    else:
        print("  poise.backtest.run_backtest is not available: timing the re-fit loop only")
    seconds, solves = best_of(lambda: dpp_anchor(prices), repeat)
    print(
        f"  anchor (not poise): one parametrised cvxpy problem re-solved {solves} times "
        f"{seconds:6.2f} s wall {CPU[0]:6.2f} s CPU"
    )
    allocation = ModelAllocation(ModelSpec(), tuple(prices.columns), lookback_days=756)
    seconds, wf = best_of(lambda: walk_forward(prices, allocation, START, END), repeat)
    fits = len(wf.targets)
    print(
        f"  walk_forward re-fit loop alone: {fits} fits in {seconds:.2f} s wall, "
        f"{CPU[0]:.2f} s CPU ({1000 * seconds / fits:.1f} ms wall per fit)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    args = parser.parse_args()
    if args.part in {"a", "both"}:
        part_a(args.repeat)
    if args.part in {"b", "both"}:
        part_b(args.repeat)


if __name__ == "__main__":
    main()
