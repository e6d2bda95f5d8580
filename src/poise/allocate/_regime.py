"""A learned, volatility-regime-aware covariance estimator (skfolio-compatible).

The plain sample covariance averages calm and turbulent days alike. ``RegimeCovariance``
learns two volatility regimes from the fitting window with a Gaussian mixture (scikit-learn,
EM) on the log realised volatility of the equal-weight portfolio, then returns the
covariance *of the regime the market is in on the last day of the window*: a mixture of the
per-regime covariances (each a sample covariance weighted by the days' regime
probabilities), mixed by the last day's regime probabilities.

Timing: every feature on day *t* uses returns up to *t* only, and the estimator sees only the
window it is given, so walk-forward fits never look ahead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from skfolio.moments import BaseCovariance, EmpiricalCovariance

__all__ = ["RegimeCovariance"]


class RegimeCovariance(BaseCovariance):
    """Regime-conditional covariance learned with a two-state Gaussian mixture.

    Parameters
    ----------
    n_regimes : int, default=2
        Number of volatility regimes.
    vol_window : int, default=21
        Trading days in the realised-volatility feature.
    min_observations : int, default=126
        Below this many days with a feature, the estimator falls back to the sample
        covariance (``regime_probabilities_`` is then None).
    random_state : int, default=0
        Seed of the mixture's k-means initialisation (results are deterministic).
    nearest, higham, higham_max_iteration
        As in skfolio's covariance estimators (nearest positive-definite repair).

    Attributes
    ----------
    covariance_ : ndarray of shape (n_assets, n_assets)
        The covariance of the current regime (daily).
    regime_probabilities_ : ndarray of shape (n_regimes,) or None
        Probability of each regime on the last day, regimes ordered calm → turbulent.
    regime_volatility_ : ndarray of shape (n_regimes,) or None
        Annualised volatility of the equal-weight portfolio typical of each regime.
    regime_share_ : ndarray of shape (n_regimes,) or None
        Fraction of the window's days attributed to each regime.
    """

    regime_probabilities_: NDArray[np.float64] | None
    regime_volatility_: NDArray[np.float64] | None
    regime_share_: NDArray[np.float64] | None

    def __init__(
        self,
        n_regimes: int = 2,
        vol_window: int = 21,
        min_observations: int = 126,
        random_state: int = 0,
        nearest: bool = True,
        higham: bool = False,
        higham_max_iteration: int = 100,
    ) -> None:
        super().__init__(
            assume_centered=False,
            nearest=nearest,
            higham=higham,
            higham_max_iteration=higham_max_iteration,
        )
        self.n_regimes = n_regimes
        self.vol_window = vol_window
        self.min_observations = min_observations
        self.random_state = random_state

    def fit(self, X: Any, y: None = None, **fit_params: Any) -> RegimeCovariance:
        """Learn the regimes on ``X`` (daily returns, no missing values) and set
        ``covariance_`` to the current regime's covariance."""
        import sklearn.utils.validation as skv
        from sklearn.mixture import GaussianMixture

        X = skv.validate_data(self, X)
        returns = np.asarray(X, dtype=float)
        feature = _log_realised_vol(returns.mean(axis=1), self.vol_window)
        usable = returns[self.vol_window - 1 :]
        self.regime_probabilities_ = None
        self.regime_volatility_ = None
        self.regime_share_ = None
        if feature.size < max(self.min_observations, 10 * self.n_regimes):
            self._set_covariance(EmpiricalCovariance().fit(returns).covariance_)
            return self
        # start EM from evenly spaced quantiles of the feature: deterministic and, unlike
        # k-means initialisation, cheap
        quantiles = np.arange(1, self.n_regimes + 1) / (self.n_regimes + 1)
        mixture = GaussianMixture(
            n_components=self.n_regimes,
            means_init=np.quantile(feature, quantiles)[:, None],
            random_state=self.random_state,
        ).fit(feature[:, None])
        order = np.argsort(mixture.means_.ravel())
        responsibilities = mixture.predict_proba(feature[:, None])[:, order]
        current = responsibilities[-1]
        covariance = np.zeros((returns.shape[1], returns.shape[1]))
        for k in range(self.n_regimes):
            weight = responsibilities[:, k]
            if current[k] < 1e-6:
                continue
            if 1.0 / float(np.sum((weight / weight.sum()) ** 2)) < returns.shape[1] + 2:
                # too few effective days in this regime for a covariance: use all days
                weight = np.ones_like(weight)
            cov_k = EmpiricalCovariance().fit(usable, sample_weight=weight).covariance_
            covariance += current[k] * cov_k
        covariance /= current[current >= 1e-6].sum()
        self.regime_probabilities_ = current
        self.regime_volatility_ = np.exp(mixture.means_.ravel()[order]) * np.sqrt(252)
        self.regime_share_ = responsibilities.mean(axis=0)
        self._set_covariance(covariance)
        return self


def _log_realised_vol(series: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Log of the trailing ``window``-day standard deviation, for days window-1 … end."""
    if series.size < window:
        return np.empty(0)
    windows = np.lib.stride_tricks.sliding_window_view(series, window)
    vol = windows.std(axis=1, ddof=1)
    return np.log(np.maximum(vol, 1e-12))
