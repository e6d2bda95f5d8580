"""Fit an allocation model on daily returns (skfolio, or poise's mean-variance fast path),
and explain infeasible problems.

skfolio is imported inside the functions, so importing poise stays fast.

Units: the returns are daily; every figure a ``FitResult`` reports is annual (252 days).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from poise._errors import DataError, InputError
from poise.allocate import _fast
from poise.allocate._fast import ProblemCache
from poise.allocate._types import (
    TRADING_DAYS,
    Constraints,
    CovarianceName,
    ModelName,
    ModelSpec,
)

__all__ = [
    "MIN_OBSERVATIONS",
    "FitResult",
    "FrontierPoint",
    "efficient_frontier",
    "fit_model",
    "price_returns",
    "risk_contributions",
]

MIN_OBSERVATIONS = 20
"""Fewest daily returns a model is fitted on."""

BL_RISK_AVERSION = 2.5
"""Risk aversion of the Black-Litterman equilibrium prior (equal-weight market portfolio)."""

SOLVER_PARAMS: dict[str, float] = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-11}
"""Clarabel tolerances, tighter than its defaults (1e-8): with daily returns the constraints
are tiny numbers, and default-tolerance weights can be off by a few 1e-4 on flat objectives
such as the maximum Sharpe ratio."""

Label = Callable[[str], str]


def _same(key: str) -> str:
    return key


@dataclass(frozen=True, slots=True)
class FitResult:
    """A fitted allocation.

    Attributes
    ----------
    weights : dict
        symbol → weight, summing to 1.
    risk_contributions : dict
        symbol → share of the portfolio variance under the model's covariance (sums to 1).
    expected_return, volatility : float
        Annual, under the model's expected returns and covariance.
    sharpe : float or None
        (expected_return − risk_free_rate) / volatility.
    start, end : date
        First and last day of the returns fitted on; ``observations`` daily returns.
    notes : tuple of str
        Anything the reader should know (solver warnings, the regime found).
    """

    model: ModelName
    covariance: CovarianceName
    weights: dict[str, float]
    risk_contributions: dict[str, float]
    expected_return: float
    volatility: float
    sharpe: float | None
    start: date
    end: date
    observations: int
    notes: tuple[str, ...] = ()
    mu: NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False)
    cov: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 0)), repr=False)


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    """One portfolio on the efficient frontier (annual figures)."""

    expected_return: float
    volatility: float
    weights: dict[str, float]


def price_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Simple daily returns of a wide price table; days with any missing price are dropped."""
    values = prices.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = values[1:] / values[:-1] - 1.0
    keep = np.isfinite(returns).all(axis=1)
    return pd.DataFrame(returns[keep], index=prices.index[1:][keep], columns=prices.columns)


def risk_contributions(
    weights: NDArray[np.float64], cov: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each asset's share of the portfolio variance: w_i (Σw)_i / wᵀΣw."""
    marginal = cov @ weights
    total = float(weights @ marginal)
    if total <= 0:
        return np.full(weights.shape, np.nan)
    return np.asarray(weights * marginal / total, dtype=float)


def _covariance_estimator(spec: ModelSpec) -> Any:
    from skfolio.moments import EmpiricalCovariance, EWCovariance, LedoitWolf

    if spec.covariance is CovarianceName.LEDOIT_WOLF:
        return LedoitWolf()
    if spec.covariance is CovarianceName.EWMA:
        return EWCovariance(half_life=spec.half_life, min_observations=1)
    if spec.covariance is CovarianceName.REGIME:
        from poise.allocate._regime import RegimeCovariance

        return RegimeCovariance()
    return EmpiricalCovariance()


def _prior(spec: ModelSpec, symbols: Sequence[str]) -> Any:
    from skfolio.moments import EquilibriumMu
    from skfolio.prior import BlackLitterman, EmpiricalPrior

    if spec.covariance is CovarianceName.FACTOR:
        from poise.allocate._factor import StatisticalFactorPrior

        return StatisticalFactorPrior(n_factors=spec.factors)
    if spec.model is not ModelName.BLACK_LITTERMAN:
        return EmpiricalPrior(covariance_estimator=_covariance_estimator(spec))
    # skfolio parses views as equations over names; plain aliases avoid symbols like BRK-B.
    alias = {s: f"a{i}" for i, s in enumerate(symbols)}
    rf = spec.risk_free_rate
    equations = []
    for v in spec.views:
        if v.short is None:
            equations.append(f"{alias[v.long]} = {(v.annual_return - rf) / TRADING_DAYS!r}")
        else:
            equations.append(
                f"{alias[v.long]} - {alias[v.short]} = {v.annual_return / TRADING_DAYS!r}"
            )
    confidences = (
        None
        if any(v.confidence is None for v in spec.views)
        else [float(v.confidence) for v in spec.views if v.confidence is not None]
    )
    return BlackLitterman(
        views=equations,
        groups=[[alias[s] for s in symbols]],
        prior_estimator=EmpiricalPrior(
            mu_estimator=EquilibriumMu(
                risk_aversion=BL_RISK_AVERSION, covariance_estimator=_covariance_estimator(spec)
            ),
            covariance_estimator=_covariance_estimator(spec),
        ),
        tau=spec.tau,
        view_confidences=confidences,
        risk_free_rate=rf / TRADING_DAYS,
    )


def _bounds(
    c: Constraints, symbols: Sequence[str], relax: frozenset[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if "bounds" in relax:
        return np.zeros(len(symbols)), np.ones(len(symbols))
    lows = np.array([c.lower(s) for s in symbols], dtype=float)
    highs = np.array([c.upper(s) for s in symbols], dtype=float)
    return lows, highs


def _inequalities(
    c: Constraints, symbols: Sequence[str], relax: frozenset[str]
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None]:
    if "groups" in relax or not c.groups:
        return None, None
    rows: list[NDArray[np.float64]] = []
    rhs: list[float] = []
    index = {s: i for i, s in enumerate(symbols)}
    for g in c.groups:
        member = np.zeros(len(symbols))
        member[[index[s] for s in g.symbols]] = 1.0
        if g.max_weight < 1.0:
            rows.append(member)
            rhs.append(g.max_weight)
        if g.min_weight > 0.0:
            rows.append(-member)
            rhs.append(-g.min_weight)
    if not rows:
        return None, None
    return np.vstack(rows), np.asarray(rhs)


def _estimator(spec: ModelSpec, symbols: Sequence[str], relax: frozenset[str] = frozenset()) -> Any:
    """The skfolio estimator for ``spec`` (constraints named in ``relax`` left out)."""
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import (
        EqualWeighted,
        HierarchicalRiskParity,
        InverseVolatility,
        MeanRisk,
        ObjectiveFunction,
        RiskBudgeting,
    )

    model, c = spec.model, spec.constraints
    if model is ModelName.EQUAL_WEIGHT:
        return EqualWeighted()
    prior = _prior(spec, symbols)
    if model is ModelName.INVERSE_VOLATILITY:
        return InverseVolatility(prior_estimator=prior)
    lows, highs = _bounds(c, symbols, relax)
    if model is ModelName.HRP:
        return HierarchicalRiskParity(
            risk_measure=RiskMeasure.VARIANCE,
            prior_estimator=prior,
            min_weights=lows,
            max_weights=highs,
        )
    left, right = _inequalities(c, symbols, relax)
    common: dict[str, Any] = {
        "solver_params": dict(SOLVER_PARAMS),
        "prior_estimator": prior,
        "min_weights": lows,
        "max_weights": highs,
        "left_inequality": left,
        "right_inequality": right,
    }
    if model is ModelName.RISK_PARITY:
        budget = np.array([spec.risk_budget.get(s, 1.0) for s in symbols], dtype=float)
        return RiskBudgeting(
            risk_measure=RiskMeasure.VARIANCE, risk_budget=budget / budget.sum(), **common
        )
    target_vol = None if "target_volatility" in relax else c.target_volatility
    target_ret = None if "target_return" in relax else c.target_return
    if target_vol is not None:
        common["max_standard_deviation"] = target_vol / math.sqrt(TRADING_DAYS)
    if target_ret is not None:
        common["min_return"] = target_ret / TRADING_DAYS
    rf = spec.risk_free_rate / TRADING_DAYS
    if model is ModelName.MIN_VARIANCE:
        # minimising the standard deviation has the same solution as minimising the
        # variance and is faster to set up in cvxpy
        return MeanRisk(risk_measure=RiskMeasure.STANDARD_DEVIATION, **common)
    if model in {ModelName.MAX_SHARPE, ModelName.BLACK_LITTERMAN}:
        return MeanRisk(
            objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
            risk_measure=RiskMeasure.STANDARD_DEVIATION,
            risk_free_rate=rf,
            **common,
        )
    # mean_variance
    if target_vol is not None:
        return MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RETURN, **common)
    if spec.risk_aversion is not None:
        return MeanRisk(
            objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
            risk_measure=RiskMeasure.VARIANCE,
            risk_aversion=spec.risk_aversion,
            **common,
        )
    if target_ret is not None:
        return MeanRisk(risk_measure=RiskMeasure.STANDARD_DEVIATION, **common)
    # every mean_variance target relaxed: the least risky portfolio is a feasible stand-in
    return MeanRisk(risk_measure=RiskMeasure.STANDARD_DEVIATION, **common)


def _failures() -> tuple[type[BaseException], ...]:
    import cvxpy as cp
    from skfolio.exceptions import SkfolioError

    return (SkfolioError, cp.SolverError, ArithmeticError, np.linalg.LinAlgError)


BLAS_THREADS: int | None = 1
"""BLAS threads during a fit (None: the library's default). The matrices are small (up to a
few hundred assets), and BLAS threads competing for a busy machine's cores made a 500-asset
fit several times slower in measurements (benchmarks/optimize.py)."""

_controller: list[Any] = []


def _blas_limit() -> Any:
    if BLAS_THREADS is None:
        return contextlib.nullcontext()
    if not _controller:
        from threadpoolctl import ThreadpoolController

        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=BLAS_THREADS, user_api="blas")


def _run(estimator: Any, returns: pd.DataFrame) -> tuple[Any, list[str]]:
    with _blas_limit(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # plain arrays: skfolio validates a DataFrame much more slowly, and poise keeps the
        # names itself
        estimator.fit(returns.to_numpy())
    notes = sorted({str(w.message).split(". ")[0] for w in caught if w.category is UserWarning})
    return estimator, notes


def _fit_fast(
    returns: pd.DataFrame,
    spec: ModelSpec,
    symbols: Sequence[str],
    problems: ProblemCache | None,
) -> tuple[NDArray[np.float64], Any, list[str]] | None:
    """Raw weights, fitted prior and notes from the fast path; None when it does not apply
    or finds no optimal solution (skfolio then fits and, if need be, explains)."""
    form = _fast.formulation(spec, symbols)
    if form is None:
        return None
    try:
        prior, notes = _run(_prior(spec, symbols), returns)
    except _failures():
        return None
    dist = prior.return_distribution_
    with _blas_limit():
        weights = (_fast.SHARED if problems is None else problems).solve(form, dist)
    if weights is None:
        return None
    return weights, prior, notes


def _moments(
    estimator: Any, spec: ModelSpec, symbols: Sequence[str], returns: pd.DataFrame
) -> tuple[NDArray[np.float64], NDArray[np.float64], Any]:
    prior = getattr(estimator, "prior_estimator_", None)
    if prior is None:
        prior = _prior(replace(spec, model=ModelName.MIN_VARIANCE), symbols).fit(returns.to_numpy())
    dist = prior.return_distribution_
    return np.asarray(dist.mu, dtype=float), np.asarray(dist.covariance, dtype=float), prior


def _clean(weights: NDArray[np.float64], lows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Clip solver noise below long-only bounds and rescale to a sum of exactly 1."""
    w = np.where((lows >= 0) & (weights < 0), 0.0, weights)
    return np.asarray(w / w.sum(), dtype=float)


def fit_model(
    returns: pd.DataFrame,
    spec: ModelSpec,
    *,
    source: str | None = None,
    label: Label = _same,
    problems: ProblemCache | None = None,
) -> FitResult:
    """Fit ``spec`` on daily ``returns`` (one column per asset, no missing values).

    The mean-variance family (minimum variance, mean-variance, maximum Sharpe,
    Black-Litterman) is optimised by poise's fast path (cvxpy and Clarabel, see
    ``poise.allocate._fast``) on skfolio's moment estimates, every other model by skfolio;
    a problem the fast path cannot solve to optimality goes to skfolio as well. Give
    ``problems`` (one per allocation) to re-solve one compiled problem at each re-fit.

    Raises
    ------
    InputError
        The options do not suit the model or the constraints cannot all hold; the message
        names the conflicting constraint (``label`` renders option names for the user).
    DataError
        Too few returns to fit on.
    """
    symbols = [str(s) for s in returns.columns]
    spec.check(symbols, source=source, label=label)
    if len(returns) < MIN_OBSERVATIONS:
        raise DataError(
            f"{len(returns)} daily returns are too few to fit {spec.model}; "
            f"give at least {MIN_OBSERVATIONS} days of prices for {', '.join(symbols)}"
        )
    flat = returns.columns[(returns.std(ddof=1) <= 0).to_numpy()]
    if len(flat):
        raise DataError(
            f"{', '.join(map(str, flat))} did not move over the fitting window "
            f"({returns.index[0].date()} to {returns.index[-1].date()}); "
            "drop it or use a longer window"
        )
    fast = _fit_fast(returns, spec, symbols, problems)
    if fast is None:
        try:
            estimator, notes = _run(_estimator(spec, symbols), returns)
        except _failures() as exc:
            raise _explain(exc, returns, spec, symbols, source, label) from None
        raw = np.asarray(estimator.weights_, dtype=float)
        mu, cov, prior = _moments(estimator, spec, symbols, returns)
    else:
        raw, prior, notes = fast
        dist = prior.return_distribution_
        mu, cov = np.asarray(dist.mu, dtype=float), np.asarray(dist.covariance, dtype=float)
    weights = _clean(raw, _bounds(spec.constraints, symbols, frozenset())[0])
    contributions = risk_contributions(weights, cov)
    vol = math.sqrt(max(float(weights @ cov @ weights), 0.0) * TRADING_DAYS)
    ret = float(weights @ mu) * TRADING_DAYS
    sharpe = (ret - spec.risk_free_rate) / vol if vol > 0 else None
    explained = getattr(prior, "explained_variance_", None)
    if explained is not None:
        notes.append(
            f"factor model: {spec.factors} principal components explain {explained:.0%} "
            "of the variance"
        )
    cov_est = getattr(prior, "covariance_estimator_", None)
    probs = getattr(cov_est, "regime_probabilities_", None)
    if probs is not None and cov_est is not None:
        vols = cov_est.regime_volatility_
        notes.append(
            f"regime covariance: P(calm)={probs[0]:.2f}, P(turbulent)={probs[-1]:.2f} "
            f"(typical equal-weight volatility {vols[0]:.1%} vs {vols[-1]:.1%})"
        )
    return FitResult(
        model=spec.model,
        covariance=spec.covariance,
        weights={s: float(w) for s, w in zip(symbols, weights, strict=True)},
        risk_contributions={s: float(r) for s, r in zip(symbols, contributions, strict=True)},
        expected_return=ret,
        volatility=vol,
        sharpe=sharpe,
        start=returns.index[0].date(),
        end=returns.index[-1].date(),
        observations=len(returns),
        notes=tuple(notes),
        mu=mu,
        cov=cov,
    )


def _explain(
    exc: BaseException,
    returns: pd.DataFrame,
    spec: ModelSpec,
    symbols: Sequence[str],
    source: str | None,
    label: Label,
) -> InputError:
    """Find which constraint makes the problem infeasible by relaxing one at a time."""
    c = spec.constraints
    candidates = [
        ("target_volatility", c.target_volatility is not None),
        ("target_return", c.target_return is not None),
        ("groups", bool(c.groups)),
        ("bounds", c.bounded),
    ]
    fails = _failures()
    for name, present in candidates:
        if not present:
            continue
        try:
            _run(_estimator(spec, symbols, frozenset({name})), returns)
        except fails:
            continue
        return InputError(
            _conflict(name, returns, spec, symbols), source=source, field=label(_key(name))
        )
    if spec.model in {ModelName.MAX_SHARPE, ModelName.BLACK_LITTERMAN}:
        try:
            mu, _, _ = _moments(
                _estimator(replace(spec, model=ModelName.MIN_VARIANCE), symbols).fit(
                    returns.to_numpy()
                ),
                spec,
                symbols,
                returns,
            )
            best = float(mu.max()) * TRADING_DAYS
            if best <= spec.risk_free_rate:
                return InputError(
                    f"no asset's expected return ({best:.2%} at best) exceeds the risk-free "
                    f"rate {spec.risk_free_rate:.2%}, so the maximum Sharpe ratio is undefined; "
                    "use another model, a longer window or a lower risk-free rate",
                    source=source,
                    field=label("model"),
                )
        except fails:
            pass
    return InputError(
        f"the optimiser found no solution for {spec.model} ({exc}); loosen the constraints",
        source=source,
        field=label("model"),
    )


def _key(name: str) -> str:
    return {"bounds": "max_weight"}.get(name, name)


def _conflict(name: str, returns: pd.DataFrame, spec: ModelSpec, symbols: Sequence[str]) -> str:
    c = spec.constraints
    rest = f"with the other constraints of {spec.model}"
    expected: tuple[type[BaseException], ...] = (InputError, DataError, *_failures())
    try:
        if name == "target_volatility":
            relaxed = replace(
                spec,
                model=ModelName.MIN_VARIANCE,
                constraints=replace(c, target_volatility=None, target_return=None),
                views=(),
                risk_aversion=None,
            )
            low = fit_model(returns, relaxed).volatility
            return (
                f"target volatility {c.target_volatility:.2%} cannot be reached {rest}: the "
                f"least volatile portfolio has {low:.2%}; raise the target or loosen the "
                "other constraints"
            )
        if name == "target_return":
            return (
                f"target return {c.target_return:.2%} a year cannot be reached {rest}; the "
                f"assets' expected returns are {_range(returns, spec, symbols)}; lower the "
                "target or loosen the other constraints"
            )
    except expected:
        pass
    if name == "groups":
        return f"the group limits conflict {rest} ({_groups(c)}); loosen them"
    if name == "bounds":
        return (
            f"the weight bounds (min {c.min_weight:g}, max {c.max_weight:g}"
            f"{', per-asset limits' if c.asset_min or c.asset_max else ''}) conflict {rest}; "
            "loosen them"
        )
    return f"the {name.replace('_', ' ')} cannot be met {rest}"


def _range(returns: pd.DataFrame, spec: ModelSpec, symbols: Sequence[str]) -> str:
    mu, _, _ = _moments(
        _estimator(replace(spec, model=ModelName.EQUAL_WEIGHT), symbols).fit(returns.to_numpy()),
        spec,
        symbols,
        returns,
    )
    return f"{mu.min() * TRADING_DAYS:.2%} to {mu.max() * TRADING_DAYS:.2%} a year"


def _groups(c: Constraints) -> str:
    parts = []
    for g in c.groups:
        bounds = []
        if g.min_weight > 0:
            bounds.append(f"≥ {g.min_weight:g}")
        if g.max_weight < 1:
            bounds.append(f"≤ {g.max_weight:g}")
        parts.append(f"{g.name} {' and '.join(bounds) or 'unbounded'}")
    return "; ".join(parts)


def efficient_frontier(
    returns: pd.DataFrame, spec: ModelSpec, points: int = 30
) -> tuple[FrontierPoint, ...]:
    """The mean-variance efficient frontier under ``spec``'s estimator, views, weight bounds
    and group limits (targets left out): ``points`` portfolios from least to most risky."""
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk

    symbols = [str(s) for s in returns.columns]
    relax = frozenset({"target_volatility", "target_return"})
    bounded = spec.model in {
        ModelName.MIN_VARIANCE,
        ModelName.MAX_SHARPE,
        ModelName.MEAN_VARIANCE,
        ModelName.RISK_PARITY,
        ModelName.BLACK_LITTERMAN,
        ModelName.HRP,
    }
    if not bounded:
        relax |= {"bounds", "groups"}
    lows, highs = _bounds(spec.constraints, symbols, relax)
    left, right = _inequalities(spec.constraints, symbols, relax)
    estimator = MeanRisk(
        risk_measure=RiskMeasure.VARIANCE,
        efficient_frontier_size=points,
        solver_params=dict(SOLVER_PARAMS),
        prior_estimator=_prior(spec, symbols),
        min_weights=lows,
        max_weights=highs,
        left_inequality=left,
        right_inequality=right,
    )
    try:
        estimator, _ = _run(estimator, returns)
    except _failures() as exc:
        raise InputError(f"the efficient frontier could not be computed ({exc})") from None
    dist = estimator.prior_estimator_.return_distribution_
    mu, cov = np.asarray(dist.mu), np.asarray(dist.covariance)
    out = []
    for row in np.atleast_2d(estimator.weights_):
        w = _clean(np.asarray(row, dtype=float), lows)
        out.append(
            FrontierPoint(
                expected_return=float(w @ mu) * TRADING_DAYS,
                volatility=math.sqrt(max(float(w @ cov @ w), 0.0) * TRADING_DAYS),
                weights={s: float(x) for s, x in zip(symbols, w, strict=True)},
            )
        )
    return tuple(out)
