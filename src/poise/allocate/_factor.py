"""A statistical (principal-component) factor model prior for large universes.

Σ ≈ B Σ_f Bᵀ + D with B the top ``n_factors`` eigenvectors of the sample covariance, Σ_f their
eigenvalues and D the residual variances, chosen so that each asset's own variance is the
sample variance. skfolio's optimisers then use the factor square root (n × k plus a diagonal)
instead of a dense n × n Cholesky factor, which makes a 500-asset problem several times
faster to solve. Expected returns are the sample means.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skfolio.prior import BasePrior, FactorModel, ReturnDistribution

__all__ = ["StatisticalFactorPrior"]


class StatisticalFactorPrior(BasePrior):
    """Principal-component factor model of the covariance (skfolio prior estimator).

    Parameters
    ----------
    n_factors : int, default=10
        Principal components kept; capped at the number of assets − 1.

    Attributes
    ----------
    return_distribution_ : ReturnDistribution
        With ``factor_model`` set, so optimisers use its low-rank square root.
    explained_variance_ : float
        Share of the total variance the factors explain.
    """

    return_distribution_: ReturnDistribution
    explained_variance_: float

    def __init__(self, n_factors: int = 10) -> None:
        self.n_factors = n_factors

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> StatisticalFactorPrior:
        import scipy.linalg
        import sklearn.utils.validation as skv

        X = skv.validate_data(self, X)
        returns = np.asarray(X, dtype=float)
        n_obs, n_assets = returns.shape
        k = max(1, min(int(self.n_factors), n_assets - 1))
        mu = returns.mean(axis=0)
        centred = returns - mu
        sample = centred.T @ centred / (n_obs - 1)
        values, vectors = scipy.linalg.eigh(sample, subset_by_index=[n_assets - k, n_assets - 1])
        values = np.clip(values[::-1], 0.0, None)
        loadings = vectors[:, ::-1]
        systematic = (loadings**2) @ values
        variances = np.diag(sample)
        idio = np.maximum(variances - systematic, 1e-6 * variances)
        covariance = (loadings * values) @ loadings.T + np.diag(idio)
        self.explained_variance_ = float(values.sum() / variances.sum())
        names = np.array([f"pc{i + 1}" for i in range(k)])
        factor_model = FactorModel(
            observations=np.arange(n_obs).astype(str),
            asset_names=np.array([f"x{i}" for i in range(n_assets)]),
            factor_names=names,
            factor_families=None,
            loading_matrix=loadings,
            exposures=None,
            factor_covariance=np.diag(values),
            factor_mu=loadings.T @ mu,
            factor_returns=None,
            idio_covariance=idio,
            idio_mu=None,
            idio_returns=None,
            idio_variances=None,
        )
        self.return_distribution_ = ReturnDistribution(
            mu=mu, covariance=covariance, returns=returns, factor_model=factor_model
        )
        return self
