"""A fast path for the mean-variance family: cvxpy with Clarabel, called directly.

skfolio still estimates the moments (its prior estimators give the expected returns μ, the
covariance Σ and a square root of it); only the optimiser is replaced, for the models whose
problem is one of these (daily units, ``w`` the weights):

==============  ==========================================  =====================================
objective       problem                                     models
==============  ==========================================  =====================================
minimum risk    min wᵀΣw                                    min_variance; mean_variance at a
                                                            target_return
utility         max μᵀw − λ wᵀΣw                            mean_variance with risk_aversion
return          max μᵀw  s.t. √(wᵀΣw) ≤ σ                   mean_variance at a target_volatility
ratio           max (μ − r_f)ᵀw / √(wᵀΣw)                   max_sharpe, black_litterman
==============  ==========================================  =====================================

each with Σw = 1, per-asset bounds, group limits and, where the model takes them, a return floor
μᵀw ≥ r and a volatility cap √(wᵀΣw) ≤ σ. These are the problems skfolio's ``MeanRisk`` solves
for the same options (the ratio by the same Charnes-Cooper change of variables, y = κw); the
weights agree with skfolio's to solver precision (tests/allocate/test_fast.py).

Why it is faster than going through skfolio's ``MeanRisk``:

* Risk is written with a square root F of Σ (FFᵀ = Σ: skfolio's own ``covariance_sqrt``,
  the Cholesky factor, or for the ``factor`` covariance the n × k loadings plus a diagonal)
  as ‖Fᵀw‖² in a QP objective, or as a second-order cone ‖Fᵀw‖ ≤ σ for a volatility cap.
* Problems of up to ``REUSE_MAX_PARAMETERS`` entries of F are parametrised (DPP: F, μ and
  the scaled targets are cvxpy ``Parameter`` s) and compiled once per formulation, then
  re-solved with new values (``ProblemCache``). An allocation re-fitted walk-forward owns one;
  one-off fits share a module-wide one (``SHARED``).
* Larger problems are built once per fit with constants. When the risk is only in the
  objective and F is dense (500 assets, sample covariance), Σ itself is the QP's quadratic
  term: Clarabel factorises that KKT system fastest (measured on 500 assets: 0.2 s against
  0.5 s with the Cholesky factor as constraints).
* The problem is scaled so that Σ has unit mean variance (daily variances are ~1e-4), which
  keeps the solver well conditioned at ordinary tolerances; the scale does not change the
  solution.

Whatever the fast path cannot solve to optimality (an infeasible target, a stalled solver)
returns None, and ``fit_model`` falls back to skfolio, which solves it or raises the explained
error exactly as before. ``ENABLED = False`` sends every fit to skfolio (benchmarks).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from poise.allocate._types import TRADING_DAYS, ModelName, ModelSpec

__all__ = [
    "ENABLED",
    "SHARED",
    "Formulation",
    "Objective",
    "ProblemCache",
    "formulation",
]

ENABLED = True
"""Whether ``fit_model`` tries the fast path before skfolio."""

REUSE_MAX_PARAMETERS = 20_000
"""Largest square root (entries of F) kept as a cvxpy Parameter for re-solving. Beyond it
(a dense factor of more than ~140 assets) compiling the parametrised problem costs more than
building a plain one, and the solve dominates anyway: each re-fit then builds afresh."""

DENSE_FACTOR_SHARE = 0.25
"""A square root with at least this many columns per asset counts as dense."""

SOLVER_PARAMS: dict[str, float] = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}
"""Clarabel tolerances for the scaled problems (tighter than its 1e-8 defaults; skfolio's
unscaled daily problems need 1e-10 to 1e-11, where a volatility cap can stall short of them)."""

DENSE_SOLVER_PARAMS: dict[str, float | bool] = {
    **SOLVER_PARAMS,
    "iterative_refinement_enable": False,
}
"""For Σ as the quadratic term: the scaled KKT system is well conditioned, and skipping
Clarabel's iterative refinement saves a fifth of a 500-asset solve. The solution is as
accurate (measured), since optimality is judged on the residuals; a solve that stalls
falls back to skfolio like any other."""

_MIN_KAPPA = 1e-12
"""Smallest Charnes-Cooper scale accepted for the ratio (as skfolio)."""


class Objective(StrEnum):
    """What the optimiser does (see the module docstring)."""

    MIN_RISK = "min_risk"
    UTILITY = "utility"
    RETURN = "return"
    RATIO = "ratio"


@dataclass(frozen=True, slots=True)
class Formulation:
    """One fast-path problem, in daily units, apart from the moments.

    A compiled problem depends on this and on the shape of the covariance square root only,
    so two fits with equal formulations can share one parametrised problem.
    """

    objective: Objective
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    group_rows: tuple[tuple[float, ...], ...] = ()
    group_bounds: tuple[float, ...] = ()
    risk_aversion: float = 0.0
    max_volatility: float | None = None
    min_return: float | None = None
    risk_free_rate: float = 0.0

    @property
    def n_assets(self) -> int:
        return len(self.lows)


def formulation(spec: ModelSpec, symbols: Sequence[str]) -> Formulation | None:
    """The fast-path problem for ``spec`` (already checked), or None when skfolio must fit it
    (models outside the mean-variance family, or ``ENABLED`` off)."""
    if not ENABLED:
        return None
    model, c = spec.model, spec.constraints
    target_vol = (
        None if c.target_volatility is None else c.target_volatility / math.sqrt(TRADING_DAYS)
    )
    target_ret = None if c.target_return is None else c.target_return / TRADING_DAYS
    if model is ModelName.MIN_VARIANCE:
        objective = Objective.MIN_RISK
    elif model is ModelName.MEAN_VARIANCE:
        if target_vol is not None:
            objective = Objective.RETURN
        elif spec.risk_aversion is not None:
            objective = Objective.UTILITY
        else:
            objective = Objective.MIN_RISK
    elif model in {ModelName.MAX_SHARPE, ModelName.BLACK_LITTERMAN}:
        objective = Objective.RATIO
    else:
        return None
    index = {s: i for i, s in enumerate(symbols)}
    rows: list[tuple[float, ...]] = []
    bounds: list[float] = []
    for g in c.groups:
        member = np.zeros(len(symbols))
        member[[index[s] for s in g.symbols]] = 1.0
        if g.max_weight < 1.0:
            rows.append(tuple(member.tolist()))
            bounds.append(g.max_weight)
        if g.min_weight > 0.0:
            rows.append(tuple((-member).tolist()))
            bounds.append(-g.min_weight)
    return Formulation(
        objective=objective,
        lows=tuple(float(c.lower(s)) for s in symbols),
        highs=tuple(float(c.upper(s)) for s in symbols),
        group_rows=tuple(rows),
        group_bounds=tuple(bounds),
        risk_aversion=float(spec.risk_aversion or 0.0),
        max_volatility=target_vol,
        min_return=target_ret,
        risk_free_rate=spec.risk_free_rate / TRADING_DAYS if objective is Objective.RATIO else 0.0,
    )


class _Moments:
    """Expected returns μ, covariance Σ and its square root F (Σ = Σᵢ FᵢFᵢᵀ + diag(d)²) from a
    fitted skfolio ``ReturnDistribution``; ``scale`` = 1 / mean variance. F is skfolio's own
    (``covariance_sqrt``: the Cholesky factor, or the factor model's loadings and diagonal),
    computed only when a problem asks for it."""

    def __init__(
        self, distribution: Any, mu: NDArray[np.float64], covariance: NDArray[np.float64]
    ) -> None:
        self.distribution = distribution
        self.mu = mu
        self.covariance = covariance
        self.scale = 1.0 / float(np.mean(np.diag(covariance)))
        self._root: tuple[tuple[NDArray[np.float64], ...], NDArray[np.float64] | None] | None
        self._root = None

    @classmethod
    def of(cls, distribution: Any) -> _Moments | None:
        """None if a number is not finite or the variances are not positive."""
        mu = np.asarray(distribution.mu, dtype=float)
        covariance = np.asarray(distribution.covariance, dtype=float)
        if not (np.isfinite(mu).all() and np.isfinite(covariance).all()):
            return None
        if not float(np.mean(np.diag(covariance))) > 0:
            return None
        return cls(distribution, mu, covariance)

    @property
    def widths(self) -> tuple[tuple[int, ...], bool]:
        """Columns of each component of F, and whether F has a diagonal part."""
        if getattr(self.distribution, "factor_model", None) is None:
            return (len(self.mu),), False  # skfolio's Cholesky factor
        components, diagonal = self.root()
        return tuple(a.shape[1] for a in components), diagonal is not None

    def root(self) -> tuple[tuple[NDArray[np.float64], ...], NDArray[np.float64] | None]:
        """F's components and diagonal (raises ``_NoRoot`` if skfolio cannot factor Σ)."""
        if self._root is None:
            try:
                root = self.distribution.covariance_sqrt
            except (ArithmeticError, np.linalg.LinAlgError, ValueError) as exc:
                raise _NoRoot from exc
            components = tuple(np.asarray(a, dtype=float) for a in root.components)
            diagonal = None if root.diagonal is None else np.asarray(root.diagonal, dtype=float)
            parts = [*components, *([] if diagonal is None else [diagonal])]
            if not all(np.isfinite(a).all() for a in parts):
                raise _NoRoot
            self._root = components, diagonal
        return self._root


class _NoRoot(Exception):
    """skfolio gave no finite square root of the covariance."""


class _Program:
    """A compiled cvxpy problem for one formulation and one square-root shape.

    ``parametrize``: the moments are cvxpy Parameters (DPP), so ``solve`` re-solves the
    compiled problem with new values; otherwise they are constants and the program is used
    once. ``dense``: the risk is the quadratic form of the scaled Σ (constants only).
    """

    def __init__(
        self,
        form: Formulation,
        moments: _Moments,
        *,
        parametrize: bool,
        dense: bool,
    ) -> None:
        import cvxpy as cp

        self.form = form
        self.parametrize = parametrize
        self.settings = DENSE_SOLVER_PARAMS if dense else SOLVER_PARAMS
        n = form.n_assets
        ratio = form.objective is Objective.RATIO
        self.w = cp.Variable(n)
        self.kappa = cp.Variable(nonneg=True) if ratio else None
        scale: Any = 1.0 if self.kappa is None else self.kappa
        self.params: dict[str, Any] = {}

        values = self._values(moments, root=not dense)

        def value(name: str) -> Any:
            array = values[name]
            if not parametrize:
                return float(array) if np.ndim(array) == 0 else array
            param = cp.Parameter(np.shape(array), name=name)
            self.params[name] = param
            return param

        mu = value("mu") if "mu" in values else None
        w = self.w
        constraints: list[Any] = [cp.sum(w) == scale]
        lows, highs = np.array(form.lows), np.array(form.highs)
        constraints.append(w >= lows * scale)
        # w ≤ 1 already follows from Σw = 1 when no weight may be negative
        upper = np.flatnonzero(highs < 1.0) if lows.min() >= 0 else np.arange(n)
        if upper.size:
            constraints.append(w[upper] <= highs[upper] * scale)
        if form.group_rows:
            constraints.append(np.array(form.group_rows) @ w <= np.array(form.group_bounds) * scale)
        if form.min_return is not None:
            assert mu is not None
            constraints.append(mu @ w >= value("floor") * scale)
        if ratio:
            constraints.append(mu @ w - value("rf") * scale == 1.0)

        if dense:
            import scipy.sparse as sp

            # a sparse matrix compiles faster than the same dense array
            scaled = sp.csc_matrix(moments.scale * moments.covariance)
            risk = cp.quad_form(w, cp.psd_wrap(scaled))
        else:
            widths, diagonal = moments.widths
            terms = [value(f"f{i}").T @ w for i in range(len(widths))]
            if diagonal:
                terms.append(cp.multiply(value("d"), w))
            root = terms[0] if len(terms) == 1 else cp.hstack(terms)
            risk = cp.sum_squares(root)
            if form.max_volatility is not None:
                constraints.append(cp.SOC(value("sigma") * scale, root))

        objective: Any
        if form.objective is Objective.UTILITY:
            objective = cp.Maximize(mu @ w - form.risk_aversion * risk)
        elif form.objective is Objective.RETURN:
            objective = cp.Maximize(mu @ w)
        else:
            objective = cp.Minimize(risk)
        self.problem = cp.Problem(objective, constraints)

    def _values(self, moments: _Moments, *, root: bool = True) -> dict[str, Any]:
        """The numbers the problem takes from ``moments``, scaled, by parameter name
        (without the square root F unless ``root``)."""
        form, c = self.form, moments.scale
        root_c = math.sqrt(c)
        out: dict[str, Any] = {}
        if root:
            components, diagonal = moments.root()
            out.update({f"f{i}": root_c * a for i, a in enumerate(components)})
            if diagonal is not None:
                out["d"] = root_c * diagonal
        if form.objective is not Objective.MIN_RISK or form.min_return is not None:
            out["mu"] = c * moments.mu
        if form.min_return is not None:
            out["floor"] = np.array(c * form.min_return)
        if form.objective is Objective.RATIO:
            out["rf"] = np.array(c * form.risk_free_rate)
        if form.max_volatility is not None:
            out["sigma"] = np.array(root_c * form.max_volatility)
        return out

    def assign(self, moments: _Moments) -> None:
        """Set the parameters to ``moments`` (parametrised programs)."""
        values = self._values(moments)
        for name, param in self.params.items():
            param.value = values[name]

    def solve(self) -> NDArray[np.float64] | None:
        """Solve; the weights, or None unless the solver reports an optimal solution."""
        import cvxpy as cp

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # no warm start: the result must not depend on the previous solve
                self.problem.solve(solver="CLARABEL", warm_start=False, **self.settings)
        except (cp.SolverError, ArithmeticError):
            return None
        if self.problem.status != cp.OPTIMAL or self.w.value is None:
            return None
        weights = np.asarray(self.w.value, dtype=float)
        if self.kappa is not None:
            kappa = self.kappa.value
            if kappa is None or not float(kappa) > _MIN_KAPPA:
                return None
            weights = weights / float(kappa)
        if not np.isfinite(weights).all():
            return None
        return weights


def _dense(moments: _Moments, form: Formulation) -> bool:
    """Whether Σ as the quadratic term beats the square root: dense root, risk only in the
    objective."""
    widths, _ = moments.widths
    return (
        form.max_volatility is None
        and form.objective is not Objective.RETURN
        and sum(widths) >= DENSE_FACTOR_SHARE * form.n_assets
    )


class ProblemCache:
    """Compiled, parametrised cvxpy problems, re-solved with each fit's moments.

    An allocation owns one holding a single problem (``ModelAllocation.problems``): the
    walk-forward compiles it at the first fit and only assigns new values at each re-fit.
    Fits given no cache share a module-wide one (``SHARED``), so repeated one-off fits of
    the same problem compile once too. Problems whose square root has more than
    ``REUSE_MAX_PARAMETERS`` entries are built afresh for each fit instead, with constants.

    The weights depend only on the moments and the formulation, never on which cache or
    earlier fits were used: every solve starts the solver from scratch (no warm start), and
    a parametrised problem hands Clarabel bit-for-bit the same data however often it was
    re-solved. Thread-safe; copies and pickles start empty.
    """

    def __init__(self, size: int = 1) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._programs: dict[tuple[Any, ...], _Program] = {}
        self.builds = 0
        """Problems compiled so far (a re-solve compiles nothing)."""
        self.solves = 0

    def solve(self, form: Formulation, distribution: Any) -> NDArray[np.float64] | None:
        """Weights for ``form`` under a fitted skfolio ``ReturnDistribution``; None when the
        fast path finds no optimal solution."""
        moments = _Moments.of(distribution)
        if moments is None:
            return None
        try:
            widths, diagonal = moments.widths
            if form.n_assets * (sum(widths) + int(diagonal)) > REUSE_MAX_PARAMETERS:
                dense = _dense(moments, form)
                return _Program(form, moments, parametrize=False, dense=dense).solve()
            key = (form, widths, diagonal)
            with self._lock:
                program = self._programs.pop(key, None)
                if program is None:
                    program = _Program(form, moments, parametrize=True, dense=False)
                    self.builds += 1
                self._programs[key] = program  # the most recently used last
                while len(self._programs) > self.size:
                    del self._programs[next(iter(self._programs))]
                program.assign(moments)
                self.solves += 1
                return program.solve()
        except _NoRoot:
            return None

    def __repr__(self) -> str:
        return f"ProblemCache(size={self.size}, builds={self.builds}, solves={self.solves})"

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state.get("size", 1))  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> ProblemCache:
        return ProblemCache(self.size)


SHARED = ProblemCache(size=16)
"""The cache of fits that bring none (``fit_model`` without ``problems``)."""
