"""Model weights against independent references: closed forms in numpy and skfolio itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poise._errors import DataError, InputError
from poise.allocate import (
    Constraints,
    CovarianceName,
    GroupLimit,
    ModelName,
    ModelSpec,
    daily_returns,
    fit_model,
    parse_view,
    risk_contributions,
)
from poise.allocate._fit import SOLVER_PARAMS
from poise.data import load_dataset

DEFENSIVE = ["JNJ", "KO", "PG", "WMT", "XOM"]
EIGHT = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ"]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")


def window(prices: pd.DataFrame, symbols: list[str], days: int = 500) -> pd.DataFrame:
    return daily_returns(prices[symbols].iloc[-(days + 1) :])


def closed_form_min_variance(returns: pd.DataFrame) -> np.ndarray:
    cov = np.cov(returns.to_numpy(), rowvar=False, ddof=1)
    x = np.linalg.solve(cov, np.ones(cov.shape[0]))
    return x / x.sum()


def as_array(weights: dict[str, float], symbols: list[str]) -> np.ndarray:
    return np.array([weights[s] for s in symbols])


def test_long_only_min_variance_equals_closed_form_when_interior(prices):
    returns = window(prices, DEFENSIVE)
    expected = closed_form_min_variance(returns)
    assert expected.min() > 0.05  # the premise: no long-only bound binds
    fit = fit_model(returns, ModelSpec())
    np.testing.assert_allclose(as_array(fit.weights, DEFENSIVE), expected, atol=1e-4)


def test_unconstrained_min_variance_equals_closed_form_with_shorts(prices):
    returns = window(prices, EIGHT, 250)
    expected = closed_form_min_variance(returns)
    assert expected.min() < 0  # shorts are needed
    spec = ModelSpec(constraints=Constraints(min_weight=-10.0, max_weight=10.0))
    fit = fit_model(returns, spec)
    np.testing.assert_allclose(as_array(fit.weights, EIGHT), expected, atol=1e-4)
    cov = np.cov(returns.to_numpy(), rowvar=False, ddof=1)
    assert fit.volatility == pytest.approx(np.sqrt(expected @ cov @ expected * 252), rel=1e-6)


def test_bounded_min_variance_with_group_cap_matches_skfolio(prices):
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk

    symbols = list(prices.columns[:10])
    returns = window(prices, symbols)
    spec = ModelSpec(
        constraints=Constraints(
            max_weight=0.25,
            asset_max={"JNJ": 0.1},
            groups=(GroupLimit("tech", ("AAPL", "AMD"), 0.1, 0.15),),
        )
    )
    fit = fit_model(returns, spec)
    reference = MeanRisk(
        risk_measure=RiskMeasure.VARIANCE,
        solver_params=SOLVER_PARAMS,
        max_weights={**dict.fromkeys(symbols, 0.25), "JNJ": 0.1},
        groups={s: ["tech" if s in {"AAPL", "AMD"} else "other"] for s in symbols},
        linear_constraints=["tech <= 0.15", "tech >= 0.1"],
    ).fit(returns)
    np.testing.assert_allclose(as_array(fit.weights, symbols), reference.weights_, atol=1e-4)
    assert fit.weights["JNJ"] <= 0.1 + 1e-6
    assert 0.1 - 1e-6 <= fit.weights["AAPL"] + fit.weights["AMD"] <= 0.15 + 1e-6


@pytest.mark.parametrize(
    ("name", "estimator"),
    [("ledoit_wolf", "LedoitWolf"), ("ewma", "EWCovariance")],
)
def test_covariance_estimators_match_skfolio(prices, name, estimator):
    import skfolio.moments as moments
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk
    from skfolio.prior import EmpiricalPrior

    returns = window(prices, [*DEFENSIVE, "AAPL"])
    kwargs = {"half_life": 40, "min_observations": 1} if name == "ewma" else {}
    reference = MeanRisk(
        risk_measure=RiskMeasure.VARIANCE,
        solver_params=SOLVER_PARAMS,
        prior_estimator=EmpiricalPrior(covariance_estimator=getattr(moments, estimator)(**kwargs)),
    ).fit(returns)
    fit = fit_model(returns, ModelSpec(covariance=CovarianceName(name)))
    np.testing.assert_allclose(
        as_array(fit.weights, list(returns.columns)), reference.weights_, atol=1e-4
    )


def test_max_sharpe_matches_skfolio(prices):
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    returns = window(prices, list(prices.columns[:12]), 750)
    spec = ModelSpec(model=ModelName.MAX_SHARPE, risk_free_rate=0.02)
    fit = fit_model(returns, spec)
    reference = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_measure=RiskMeasure.VARIANCE,
        risk_free_rate=0.02 / 252,
        solver_params=SOLVER_PARAMS,
    ).fit(returns)
    np.testing.assert_allclose(
        as_array(fit.weights, list(returns.columns)), reference.weights_, atol=1e-4
    )
    mu = returns.mean().to_numpy() * 252
    assert fit.expected_return == pytest.approx(as_array(fit.weights, list(returns.columns)) @ mu)
    assert fit.sharpe == pytest.approx((fit.expected_return - 0.02) / fit.volatility)


def test_hrp_matches_skfolio(prices):
    from skfolio.optimization import HierarchicalRiskParity

    returns = window(prices, list(prices.columns[:10]))
    fit = fit_model(returns, ModelSpec(model=ModelName.HRP))
    reference = HierarchicalRiskParity().fit(returns)
    np.testing.assert_allclose(
        as_array(fit.weights, list(returns.columns)), reference.weights_, atol=1e-6
    )


def test_risk_parity_contributions_are_equal(prices):
    returns = window(prices, list(prices.columns[:8]))
    fit = fit_model(returns, ModelSpec(model=ModelName.RISK_PARITY))
    w = as_array(fit.weights, list(returns.columns))
    cov = np.cov(returns.to_numpy(), rowvar=False, ddof=1)
    contributions = w * (cov @ w) / (w @ cov @ w)
    np.testing.assert_allclose(contributions, np.full(8, 1 / 8), atol=1e-4)
    reported = as_array(fit.risk_contributions, list(returns.columns))
    np.testing.assert_allclose(reported, contributions, atol=1e-9)


def test_risk_budgets_set_contributions(prices):
    symbols = list(prices.columns[:5])
    returns = window(prices, symbols)
    spec = ModelSpec(model=ModelName.RISK_PARITY, risk_budget={symbols[0]: 3.0, symbols[1]: 2.0})
    fit = fit_model(returns, spec)
    budget = np.array([3, 2, 1, 1, 1]) / 8
    np.testing.assert_allclose(as_array(fit.risk_contributions, symbols), budget, atol=1e-4)


def test_black_litterman_posterior_matches_closed_form(prices):
    symbols = [*DEFENSIVE, "AAPL"]
    returns = window(prices, symbols)
    views = (
        parse_view("AAPL=0.25@0.7", symbols),
        parse_view("KO-PG=0.03@0.4", symbols),
    )
    spec = ModelSpec(model=ModelName.BLACK_LITTERMAN, views=views, tau=0.05)
    fit = fit_model(returns, spec)
    # Black & Litterman (1991) with Idzorek confidences, written out in numpy
    cov = np.cov(returns.to_numpy(), rowvar=False, ddof=1)
    n = len(symbols)
    pi = 2.5 * cov @ np.full(n, 1 / n)
    p = np.zeros((2, n))
    p[0, symbols.index("AAPL")] = 1
    p[1, symbols.index("KO")], p[1, symbols.index("PG")] = 1, -1
    q = np.array([0.25, 0.03]) / 252
    alpha = 1 / np.array([0.7, 0.4]) - 1
    omega = np.diag(0.05 * alpha * np.diag(p @ cov @ p.T))
    tsp = 0.05 * cov @ p.T
    posterior = pi + tsp @ np.linalg.solve(p @ tsp + omega, q - p @ pi)
    np.testing.assert_allclose(fit.mu, posterior, rtol=1e-8, atol=1e-12)
    assert fit.weights["AAPL"] > 1 / n  # the bullish view tilts towards AAPL


def test_black_litterman_matches_skfolio(prices):
    from skfolio.measures import RiskMeasure
    from skfolio.moments import EquilibriumMu
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import BlackLitterman, EmpiricalPrior

    symbols = [*DEFENSIVE, "AAPL"]
    returns = window(prices, symbols)
    spec = ModelSpec(model=ModelName.BLACK_LITTERMAN, views=(parse_view("AAPL-JNJ=0.05", symbols),))
    fit = fit_model(returns, spec)
    reference = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        risk_measure=RiskMeasure.VARIANCE,
        solver_params=SOLVER_PARAMS,
        prior_estimator=BlackLitterman(
            views=[f"AAPL - JNJ == {0.05 / 252}"],
            prior_estimator=EmpiricalPrior(mu_estimator=EquilibriumMu(risk_aversion=2.5)),
        ),
    ).fit(returns)
    np.testing.assert_allclose(as_array(fit.weights, symbols), reference.weights_, atol=1e-4)


def test_target_volatility_caps_the_model_volatility(prices):
    returns = window(prices, list(prices.columns[:10]), 750)
    spec = ModelSpec(model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.22))
    fit = fit_model(returns, spec)
    assert fit.volatility == pytest.approx(0.22, abs=1e-4)
    unconstrained = fit_model(returns, ModelSpec(model=ModelName.MAX_SHARPE))
    assert fit.expected_return >= fit_model(returns, ModelSpec()).expected_return
    assert unconstrained.volatility > 0


def test_risk_contributions_sum_to_one():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    w = np.array([0.1, 0.2, 0.3, 0.4])
    rc = risk_contributions(w, cov)
    assert rc.sum() == pytest.approx(1.0)
    assert rc[2] == pytest.approx(0.3 * (cov @ w)[2] / (w @ cov @ w))


def test_infeasible_target_volatility_names_the_constraint(prices):
    returns = window(prices, DEFENSIVE)
    spec = ModelSpec(model=ModelName.MEAN_VARIANCE, constraints=Constraints(target_volatility=0.01))
    with pytest.raises(InputError, match=r"target_volatility: target volatility 1\.00%.*least"):
        fit_model(returns, spec)


def test_conflicting_groups_are_named(prices):
    returns = window(prices, DEFENSIVE)
    groups = (
        GroupLimit("staples", ("KO", "PG"), 0.6, 1.0),
        GroupLimit("other", ("JNJ", "WMT"), 0.6, 1.0),
    )
    with pytest.raises(InputError, match=r"groups: the group limits conflict.*staples ≥ 0\.6"):
        fit_model(returns, ModelSpec(constraints=Constraints(groups=groups)))


def test_unreachable_target_return_is_named(prices):
    returns = window(prices, DEFENSIVE)
    # 95% a year is a valid fraction but beyond every defensive stock's mean return.
    spec = ModelSpec(model=ModelName.MIN_VARIANCE, constraints=Constraints(target_return=0.95))
    with pytest.raises(InputError, match=r"target_return: target return 95\.00%"):
        fit_model(returns, spec)


def test_too_few_returns_and_flat_assets_are_data_errors(prices):
    with pytest.raises(DataError, match="too few"):
        fit_model(window(prices, DEFENSIVE, 10), ModelSpec())
    returns = window(prices, DEFENSIVE, 60).copy()
    returns["KO"] = 0.0
    with pytest.raises(DataError, match="KO did not move"):
        fit_model(returns, ModelSpec())


def test_factor_covariance_matches_a_numpy_principal_component_model(prices):
    returns = window(prices, list(prices.columns), 500)
    x = returns.to_numpy()
    sample = np.cov(x, rowvar=False)
    values, vectors = np.linalg.eigh(sample)
    top_values, top_vectors = values[-3:], vectors[:, -3:]
    systematic = top_vectors @ np.diag(top_values) @ top_vectors.T
    expected = systematic + np.diag(np.diag(sample) - np.diag(systematic))
    spec = ModelSpec(
        covariance=CovarianceName.FACTOR,
        factors=3,
        constraints=Constraints(min_weight=-10.0, max_weight=10.0),
    )
    fit = fit_model(returns, spec)
    np.testing.assert_allclose(fit.cov, expected, rtol=1e-8, atol=1e-12)
    assert np.diag(fit.cov) == pytest.approx(np.diag(sample))
    # minimum variance under the factor covariance, closed form
    inverse_ones = np.linalg.solve(expected, np.ones(len(returns.columns)))
    np.testing.assert_allclose(
        as_array(fit.weights, list(returns.columns)),
        inverse_ones / inverse_ones.sum(),
        atol=1e-4,
    )
    assert any("3 principal components explain" in note for note in fit.notes)
