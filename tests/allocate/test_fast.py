"""poise's own mean-variance fast path (cvxpy + Clarabel) against skfolio called directly.

Every reference here is skfolio's ``MeanRisk`` built in the test from the documented options
(not through poise), fitted on the same returns. ``no_skfolio_optimiser`` makes any attempt
by poise to build a skfolio optimiser fail, so a passing comparison proves the fast path
produced the weights.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from poise._errors import InputError
from poise.allocate import (
    Constraints,
    CovarianceName,
    GroupLimit,
    ModelAllocation,
    ModelName,
    ModelSpec,
    _fast,
    daily_returns,
    fit_model,
    parse_view,
)
from poise.allocate import _fit as fit_module
from poise.data import load_dataset

TEN = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO"]
TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
"""skfolio's reference, solved tightly: its defaults leave ~5e-5 on these daily problems."""
ATOL = 1e-4


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")


@pytest.fixture
def no_skfolio_optimiser(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fast path fell back to skfolio's optimiser")

    monkeypatch.setattr(fit_module, "_estimator", refuse)


def window(
    prices: pd.DataFrame, symbols: list[str], days: int, end: int | None = None
) -> pd.DataFrame:
    table = prices[symbols] if end is None else prices[symbols].iloc[:end]
    return daily_returns(table.iloc[-(days + 1) :])


def weights(fit: object, symbols: list[str]) -> np.ndarray:
    return np.array([fit.weights[s] for s in symbols])  # type: ignore[attr-defined]


def skfolio_weights(returns: pd.DataFrame, **options: object) -> np.ndarray:
    from skfolio.optimization import MeanRisk

    reference = MeanRisk(solver_params=TIGHT, **options).fit(returns)
    return np.asarray(reference.weights_, dtype=float)


def test_long_only_min_variance_matches_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure

    returns = window(prices, TEN, 750)
    fit = fit_model(returns, ModelSpec())
    expected = skfolio_weights(returns, risk_measure=RiskMeasure.VARIANCE)
    assert expected.min() < 1e-6  # the premise: long-only bounds bind
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)
    assert sum(fit.weights.values()) == pytest.approx(1.0, abs=1e-12)


def test_min_variance_with_bounds_matches_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure

    returns = window(prices, TEN, 500)
    spec = ModelSpec(
        constraints=Constraints(
            min_weight=0.02, max_weight=0.2, asset_max={"KO": 0.1}, asset_min={"AMD": 0.05}
        )
    )
    fit = fit_model(returns, spec)
    lows = np.array([0.05 if s == "AMD" else 0.02 for s in TEN])
    highs = np.array([0.1 if s == "KO" else 0.2 for s in TEN])
    expected = skfolio_weights(
        returns, risk_measure=RiskMeasure.VARIANCE, min_weights=lows, max_weights=highs
    )
    assert np.isclose(expected, highs, atol=1e-6).any()  # an upper bound binds
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)


def test_min_variance_with_shorts_matches_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure

    returns = window(prices, TEN, 250)
    spec = ModelSpec(constraints=Constraints(min_weight=-0.3, max_weight=0.6))
    fit = fit_model(returns, spec)
    expected = skfolio_weights(
        returns, risk_measure=RiskMeasure.VARIANCE, min_weights=-0.3, max_weights=0.6
    )
    assert expected.min() < -1e-3  # the premise: a short position
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)


def test_min_variance_with_group_caps_matches_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure

    returns = window(prices, TEN, 750)
    groups = (
        GroupLimit("banks", ("BAC", "JPM"), 0.15, 0.3),
        GroupLimit("staples", ("JNJ", "KO"), 0.0, 0.35),
    )
    fit = fit_model(returns, ModelSpec(constraints=Constraints(max_weight=0.4, groups=groups)))
    expected = skfolio_weights(
        returns,
        risk_measure=RiskMeasure.VARIANCE,
        max_weights=0.4,
        groups={
            s: ["banks" if s in {"BAC", "JPM"} else "staples" if s in {"JNJ", "KO"} else "x"]
            for s in TEN
        },
        linear_constraints=["banks >= 0.15", "banks <= 0.3", "staples <= 0.35"],
    )
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)
    w = fit.weights
    assert w["BAC"] + w["JPM"] >= 0.15 - 1e-6
    assert w["JNJ"] + w["KO"] <= 0.35 + 1e-6
    assert w["JNJ"] + w["KO"] == pytest.approx(0.35, abs=1e-4)  # the cap binds


@pytest.mark.parametrize("target", [0.22, 0.26])
def test_target_volatility_matches_skfolio(prices, no_skfolio_optimiser, target):
    from skfolio.optimization import ObjectiveFunction

    returns = window(prices, TEN, 750)
    spec = ModelSpec(
        model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=target)
    )
    fit = fit_model(returns, spec)
    expected = skfolio_weights(
        returns,
        objective_function=ObjectiveFunction.MAXIMIZE_RETURN,
        max_standard_deviation=target / math.sqrt(252),
    )
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)
    assert fit.volatility == pytest.approx(target, abs=1e-5)


def test_utility_and_target_return_match_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import ObjectiveFunction

    returns = window(prices, TEN, 750)
    utility = fit_model(returns, ModelSpec(model=ModelName.MEAN_VARIANCE, risk_aversion=3.0))
    expected = skfolio_weights(
        returns,
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_measure=RiskMeasure.VARIANCE,
        risk_aversion=3.0,
    )
    np.testing.assert_allclose(weights(utility, TEN), expected, atol=ATOL)
    floor = fit_model(
        returns,
        ModelSpec(model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_return=0.25)),
    )
    expected = skfolio_weights(returns, risk_measure=RiskMeasure.VARIANCE, min_return=0.25 / 252)
    np.testing.assert_allclose(weights(floor, TEN), expected, atol=ATOL)
    assert floor.expected_return == pytest.approx(0.25, abs=1e-5)


def test_max_sharpe_matches_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import ObjectiveFunction

    returns = window(prices, TEN, 750)
    plain = fit_model(returns, ModelSpec(model=ModelName.MAX_SHARPE, risk_free_rate=0.03))
    expected = skfolio_weights(
        returns,
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_measure=RiskMeasure.VARIANCE,
        risk_free_rate=0.03 / 252,
    )
    np.testing.assert_allclose(weights(plain, TEN), expected, atol=ATOL)
    capped = fit_model(
        returns,
        ModelSpec(
            model=ModelName.MAX_SHARPE,
            constraints=Constraints(max_weight=0.3, target_volatility=0.24),
        ),
    )
    expected = skfolio_weights(
        returns,
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_measure=RiskMeasure.VARIANCE,
        max_weights=0.3,
        max_standard_deviation=0.24 / math.sqrt(252),
    )
    np.testing.assert_allclose(weights(capped, TEN), expected, atol=ATOL)


def test_black_litterman_matches_skfolio(prices, no_skfolio_optimiser):
    from skfolio.measures import RiskMeasure
    from skfolio.moments import EquilibriumMu
    from skfolio.optimization import ObjectiveFunction
    from skfolio.prior import BlackLitterman, EmpiricalPrior

    returns = window(prices, TEN, 500)
    views = (parse_view("AAPL=0.2@0.6", TEN), parse_view("JPM-BAC=0.03@0.5", TEN))
    fit = fit_model(returns, ModelSpec(model=ModelName.BLACK_LITTERMAN, views=views))
    prior = BlackLitterman(
        views=[f"AAPL == {0.2 / 252}", f"JPM - BAC == {0.03 / 252}"],
        view_confidences=[0.6, 0.5],
        prior_estimator=EmpiricalPrior(mu_estimator=EquilibriumMu(risk_aversion=2.5)),
    )
    expected = skfolio_weights(
        returns,
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=prior,
    )
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)


@pytest.mark.parametrize("covariance", ["ledoit_wolf", "factor"])
def test_other_covariance_estimators_match_skfolio(prices, no_skfolio_optimiser, covariance):
    from skfolio.measures import RiskMeasure
    from skfolio.moments import LedoitWolf
    from skfolio.prior import EmpiricalPrior

    from poise.allocate._factor import StatisticalFactorPrior

    returns = window(prices, TEN, 500)
    spec = ModelSpec(covariance=CovarianceName(covariance), factors=3)
    fit = fit_model(returns, spec)
    prior = (
        EmpiricalPrior(covariance_estimator=LedoitWolf())
        if covariance == "ledoit_wolf"
        else StatisticalFactorPrior(n_factors=3)
    )
    expected = skfolio_weights(returns, risk_measure=RiskMeasure.VARIANCE, prior_estimator=prior)
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)


@pytest.mark.parametrize(
    ("spec", "objective", "options"),
    [
        (ModelSpec(), "MINIMIZE_RISK", {}),
        (
            ModelSpec(model=ModelName.MEAN_VARIANCE, risk_aversion=3.0),
            "MAXIMIZE_UTILITY",
            {"risk_aversion": 3.0},
        ),
        (
            ModelSpec(
                model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.24)
            ),
            "MAXIMIZE_RETURN",
            {"max_standard_deviation": 0.24 / math.sqrt(252)},
        ),
        (
            ModelSpec(model=ModelName.MAX_SHARPE, constraints=Constraints(max_weight=0.3)),
            "MAXIMIZE_RATIO",
            {"max_weights": 0.3},
        ),
    ],
    ids=["min_variance", "utility", "target_volatility", "max_sharpe"],
)
def test_problems_built_with_constants_match_skfolio(
    prices, no_skfolio_optimiser, monkeypatch, spec, objective, options
):
    """Large problems are built afresh with constants (Σ itself as the quadratic term when
    the risk is only in the objective); forced here on a small one."""
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import ObjectiveFunction

    monkeypatch.setattr(_fast, "REUSE_MAX_PARAMETERS", 0)
    returns = window(prices, TEN, 750)
    cache = _fast.ProblemCache()
    fit = fit_model(returns, spec, problems=cache)
    assert (cache.builds, cache.solves) == (0, 0)  # nothing compiled for re-use
    expected = skfolio_weights(
        returns,
        objective_function=ObjectiveFunction[objective],
        risk_measure=RiskMeasure.VARIANCE,
        **options,
    )
    np.testing.assert_allclose(weights(fit, TEN), expected, atol=ATOL)


@pytest.mark.parametrize(
    ("spec", "options"),
    [
        (ModelSpec(), {}),
        (
            ModelSpec(
                constraints=Constraints(
                    max_weight=0.25, groups=(GroupLimit("banks", ("BAC", "JPM"), 0.1, 0.3),)
                )
            ),
            {"max_weights": 0.25},
        ),
        (
            ModelSpec(
                model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.25)
            ),
            {"max_standard_deviation": 0.25 / math.sqrt(252)},
        ),
    ],
    ids=["min_variance", "bounds_and_groups", "target_volatility"],
)
def test_one_problem_re_solved_across_windows_equals_fresh_skfolio_fits(
    prices, no_skfolio_optimiser, spec, options
):
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import ObjectiveFunction

    if "max_standard_deviation" in options:
        options = {**options, "objective_function": ObjectiveFunction.MAXIMIZE_RETURN}
    else:
        options = {**options, "risk_measure": RiskMeasure.VARIANCE}
    if spec.constraints.groups:
        options["groups"] = {s: ["banks" if s in {"BAC", "JPM"} else "x"] for s in TEN}
        options["linear_constraints"] = ["banks >= 0.1", "banks <= 0.3"]
    cache = _fast.ProblemCache()
    # year-ends from 2006 to 2021: calm and crisis windows alike
    ends = [
        int(prices.index.searchsorted(pd.Timestamp(f"{y}-12-31"))) for y in range(2006, 2022, 3)
    ]
    for end in ends:
        returns = window(prices, TEN, 500, end)
        fit = fit_model(returns, spec, problems=cache)
        np.testing.assert_allclose(
            weights(fit, TEN), skfolio_weights(returns, **options), atol=ATOL
        )
    assert (cache.builds, cache.solves) == (1, len(ends))


def test_allocation_keeps_one_problem_across_refits(prices):
    allocation = ModelAllocation(ModelSpec(), tuple(TEN), lookback_days=250)
    days = [pd.Timestamp(f"2019-{m:02d}-15").date() for m in (1, 4, 7, 10)]
    targets = [allocation.targets_on(prices, day) for day in days]
    assert (allocation.problems.builds, allocation.problems.solves) == (1, 4)
    assert len({tuple(t.values()) for t in targets}) == 4  # the windows differ


def test_weights_do_not_depend_on_earlier_fits(prices):
    """A re-solved problem gives bit-for-bit what a fresh one gives (no warm start)."""
    cache = _fast.ProblemCache()
    spec = ModelSpec(model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.3))
    first, other = window(prices, TEN, 500), window(prices, TEN, 500, 5000)
    before = fit_model(first, spec, problems=cache).weights
    fit_model(other, spec, problems=cache)
    assert fit_model(first, spec, problems=cache).weights == before
    assert fit_model(first, spec, problems=_fast.ProblemCache()).weights == before


def test_cache_is_bounded_and_copies_start_empty(prices):
    cache = _fast.ProblemCache(size=1)
    returns = window(prices, TEN, 300)
    fit_model(returns, ModelSpec(), problems=cache)
    fit_model(returns, ModelSpec(model=ModelName.MAX_SHARPE), problems=cache)
    fit_model(returns, ModelSpec(), problems=cache)
    assert cache.builds == 3  # one slot: switching formulations recompiles
    allocation = ModelAllocation(ModelSpec(), tuple(TEN))
    allocation.targets_on(prices, pd.Timestamp("2019-06-28").date())
    copy = pickle.loads(pickle.dumps(allocation))
    assert copy == allocation
    assert copy.problems.builds == 0
    assert replace(allocation, lookback_days=100).problems is not allocation.problems


def test_unsolvable_problems_fall_back_to_skfolio_and_its_explanations(prices, monkeypatch):
    returns = window(prices, TEN[:5], 500)
    # an unreachable target: the fast path finds no solution, skfolio's path explains
    spec = ModelSpec(model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.01))
    with pytest.raises(InputError, match=r"target volatility 1\.00% cannot be reached"):
        fit_model(returns, spec)
    # a fast-path failure on a solvable problem is invisible: skfolio's weights come back
    monkeypatch.setattr(_fast._Program, "solve", lambda self: None)
    fit = fit_model(returns, ModelSpec())
    monkeypatch.setattr(_fast, "ENABLED", False)
    assert fit.weights == fit_model(returns, ModelSpec()).weights


def test_models_outside_the_family_use_skfolio(prices, no_skfolio_optimiser):
    returns = window(prices, TEN, 300)
    with pytest.raises(AssertionError, match="fell back"):
        fit_model(returns, ModelSpec(model=ModelName.RISK_PARITY))
    assert _fast.formulation(ModelSpec(model=ModelName.HRP), TEN) is None
