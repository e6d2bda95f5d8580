"""The learned regime covariance recovers the covariance of the regime the data ends in."""

from __future__ import annotations

import numpy as np
import pytest

from poise.allocate import RegimeCovariance


def regimes(seed: int, end_turbulent: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alternating calm (vol 0.8%, corr 0.1) and turbulent (vol 2.5%, corr 0.7) spells."""
    rng = np.random.default_rng(seed)
    n = 4

    def cov(vol: float, corr: float) -> np.ndarray:
        c = np.full((n, n), corr)
        np.fill_diagonal(c, 1.0)
        return c * vol**2

    calm, turbulent = cov(0.008, 0.1), cov(0.025, 0.7)
    spells = [(calm, 300), (turbulent, 120), (calm, 300), (turbulent, 120), (calm, 200)]
    if end_turbulent:
        spells.append((turbulent, 150))
    blocks = [rng.multivariate_normal(np.zeros(n), c, size=k) for c, k in spells]
    return np.vstack(blocks), calm, turbulent


@pytest.mark.parametrize("end_turbulent", [False, True])
def test_covariance_of_the_current_regime(end_turbulent):
    returns, calm, turbulent = regimes(3, end_turbulent)
    estimator = RegimeCovariance().fit(returns)
    truth = turbulent if end_turbulent else calm
    other = calm if end_turbulent else turbulent
    assert estimator.regime_probabilities_ is not None
    current = estimator.regime_probabilities_[-1 if end_turbulent else 0]
    assert current > 0.9
    error = np.linalg.norm(estimator.covariance_ - truth) / np.linalg.norm(truth)
    sample = np.cov(returns, rowvar=False)
    assert error < 0.25
    # much closer to the current regime than the all-days sample covariance is
    assert error < 0.5 * np.linalg.norm(sample - truth) / np.linalg.norm(truth)
    assert np.linalg.norm(estimator.covariance_ - other) > np.linalg.norm(truth - other) / 2
    assert estimator.regime_volatility_[0] < estimator.regime_volatility_[1]


def test_short_window_falls_back_to_sample_covariance():
    returns, _, _ = regimes(4, False)
    short = returns[:100]
    estimator = RegimeCovariance().fit(short)
    assert estimator.regime_probabilities_ is None
    np.testing.assert_allclose(estimator.covariance_, np.cov(short, rowvar=False), rtol=1e-10)


def test_deterministic():
    returns, _, _ = regimes(5, True)
    a = RegimeCovariance().fit(returns).covariance_
    b = RegimeCovariance().fit(returns).covariance_
    np.testing.assert_array_equal(a, b)
