"""What an allocation model is asked to do: the model, its estimator, constraints and views.

These are plain configuration (frozen dataclasses and enums); fitting happens in ``_fit``.
Returns, volatilities and views are *annual* figures here (252 trading days a year);
``_fit`` converts them to the daily frequency of the returns it fits on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from poise._errors import InputError

__all__ = [
    "TRADING_DAYS",
    "Constraints",
    "CovarianceName",
    "GroupLimit",
    "ModelName",
    "ModelSpec",
    "View",
    "parse_view",
]

TRADING_DAYS = 252
"""Trading days in a year: annual = daily × 252 for returns, × √252 for volatility."""


class ModelName(StrEnum):
    """Allocation models (all fitted by skfolio)."""

    MIN_VARIANCE = "min_variance"
    MAX_SHARPE = "max_sharpe"
    MEAN_VARIANCE = "mean_variance"
    RISK_PARITY = "risk_parity"
    HRP = "hrp"
    BLACK_LITTERMAN = "black_litterman"
    EQUAL_WEIGHT = "equal_weight"
    INVERSE_VOLATILITY = "inverse_volatility"


class CovarianceName(StrEnum):
    """Covariance estimators.

    ``sample`` (empirical), ``ledoit_wolf`` (shrinkage), ``ewma`` (exponentially weighted,
    ``half_life`` days) come from skfolio; ``regime`` is poise's learned regime-conditional
    covariance (see ``RegimeCovariance``); ``factor`` is a principal-component factor model
    (``factors`` components, see ``StatisticalFactorPrior``), fast for large universes.
    """

    SAMPLE = "sample"
    LEDOIT_WOLF = "ledoit_wolf"
    EWMA = "ewma"
    REGIME = "regime"
    FACTOR = "factor"


_CONSTRAINED = {
    ModelName.MIN_VARIANCE,
    ModelName.MAX_SHARPE,
    ModelName.MEAN_VARIANCE,
    ModelName.RISK_PARITY,
    ModelName.BLACK_LITTERMAN,
}
"""Models that accept group limits (linear constraints)."""

_BOUNDED = _CONSTRAINED | {ModelName.HRP}
"""Models that accept per-asset minimum and maximum weights."""

_TARGETED = {
    ModelName.MIN_VARIANCE: {"target_return"},
    ModelName.MAX_SHARPE: {"target_return", "target_volatility"},
    ModelName.MEAN_VARIANCE: {"target_return", "target_volatility"},
    ModelName.BLACK_LITTERMAN: {"target_return", "target_volatility"},
}


@dataclass(frozen=True, slots=True)
class GroupLimit:
    """The total weight of ``symbols`` must lie in [``min_weight``, ``max_weight``]."""

    name: str
    symbols: tuple[str, ...]
    min_weight: float = 0.0
    max_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class View:
    """A Black-Litterman view: ``long`` returns ``annual_return`` a year (absolute view), or
    beats ``short`` by ``annual_return`` a year (relative view), held with ``confidence``
    in (0, 1] (Idzorek), or with the prior's own uncertainty when ``confidence`` is None.
    """

    long: str
    annual_return: float
    short: str | None = None
    confidence: float | None = None

    def __str__(self) -> str:
        left = self.long if self.short is None else f"{self.long}-{self.short}"
        conf = "" if self.confidence is None else f"@{self.confidence:g}"
        return f"{left}={self.annual_return:g}{conf}"


_VIEW = re.compile(r"^\s*(?P<left>[^=@]+?)\s*=\s*(?P<value>[^@]+?)\s*(?:@\s*(?P<conf>.+?))?\s*$")


def parse_view(
    text: str,
    symbols: Sequence[str],
    *,
    confidence: float | None = None,
    source: str | None = None,
    field: str = "view",
) -> View:
    """Parse ``"AAPL=0.10@0.6"`` (absolute) or ``"AAPL-MSFT=0.02@0.5"`` (relative).

    Returns are annual; the confidence after ``@`` is optional. Symbols that contain a dash
    are recognised because the split is checked against ``symbols``.
    """
    match = _VIEW.match(text)
    example = 'write "AAPL=0.10@0.6" (absolute) or "AAPL-MSFT=0.02@0.5" (relative)'
    if match is None:
        raise InputError(f"view {text!r} is not understood; {example}", source=source, field=field)
    left = match["left"].replace(" ", "")
    try:
        value = float(match["value"])
    except ValueError:
        raise InputError(
            f"view {text!r}: {match['value']!r} is not a number (an annual return, e.g. 0.10)",
            source=source,
            field=field,
        ) from None
    if match["conf"] is not None:
        if confidence is not None:
            raise InputError(
                f"view {text!r} gives its confidence twice", source=source, field=field
            )
        try:
            confidence = float(match["conf"])
        except ValueError:
            raise InputError(
                f"view {text!r}: confidence {match['conf']!r} is not a number in (0, 1]",
                source=source,
                field=field,
            ) from None
    if confidence is not None and not 0 < confidence <= 1:
        raise InputError(
            f"view {text!r}: confidence must be in (0, 1], got {confidence:g}",
            source=source,
            field=field,
        )
    if not math.isfinite(value):
        raise InputError(f"view {text!r}: the return must be finite", source=source, field=field)
    known = set(symbols)
    if left in known:
        return View(left, value, None, confidence)
    for i, char in enumerate(left):
        if char == "-" and left[:i] in known and left[i + 1 :] in known:
            if left[:i] == left[i + 1 :]:
                break
            return View(left[:i], value, left[i + 1 :], confidence)
    raise InputError(
        f"view {text!r} names {left!r}, which is not a symbol (or two symbols A-B) of the "
        f"universe {', '.join(symbols)}; {example}",
        source=source,
        field=field,
    )


@dataclass(frozen=True, slots=True)
class Constraints:
    """Weight constraints, long-only and fully invested by default.

    ``min_weight``/``max_weight`` apply to every asset unless ``asset_min``/``asset_max``
    name it; ``min_weight`` may be negative to allow short positions. Targets are annual.
    """

    min_weight: float = 0.0
    max_weight: float = 1.0
    asset_min: Mapping[str, float] = field(default_factory=dict)
    asset_max: Mapping[str, float] = field(default_factory=dict)
    groups: tuple[GroupLimit, ...] = ()
    target_volatility: float | None = None
    target_return: float | None = None

    def lower(self, symbol: str) -> float:
        return self.asset_min.get(symbol, self.min_weight)

    def upper(self, symbol: str) -> float:
        return self.asset_max.get(symbol, self.max_weight)

    @property
    def bounded(self) -> bool:
        """Whether any weight bound differs from long-only [0, 1]."""
        return (
            self.min_weight != 0.0
            or self.max_weight != 1.0
            or any(v != 0.0 for v in self.asset_min.values())
            or any(v != 1.0 for v in self.asset_max.values())
        )


def _default_label(key: str) -> str:
    return key


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One allocation model with its estimator, constraints and (for Black-Litterman) views.

    Attributes
    ----------
    model : ModelName
    covariance : CovarianceName
        Covariance estimator; ``half_life`` (trading days) is used by ``ewma``, ``factors``
        (principal components) by ``factor``.
    constraints : Constraints
    risk_budget : mapping
        Risk parity: each asset's share of risk, relative (unnamed assets get 1).
    views : tuple of View
        Black-Litterman views, annual. ``tau`` scales the prior's uncertainty.
    risk_aversion : float or None
        ``mean_variance`` without a target maximises return − risk_aversion × variance.
    risk_free_rate : float
        Annual; used by ``max_sharpe`` and ``black_litterman``.
    """

    model: ModelName = ModelName.MIN_VARIANCE
    covariance: CovarianceName = CovarianceName.SAMPLE
    half_life: float = 40.0
    factors: int = 10
    constraints: Constraints = Constraints()
    risk_budget: Mapping[str, float] = field(default_factory=dict)
    views: tuple[View, ...] = ()
    tau: float = 0.05
    risk_aversion: float | None = None
    risk_free_rate: float = 0.0

    def check(
        self,
        symbols: Sequence[str],
        *,
        source: str | None = None,
        label: Callable[[str], str] = _default_label,
    ) -> None:
        """Reject options the model does not take, unknown symbols and constraints that
        cannot all hold (e.g. minimum weights summing to more than 1).

        ``label`` maps an option name (``max_weight``) to how the user wrote it
        (``--max-weight`` or ``allocation.max_weight``) for the message.
        """

        def fail(message: str, key: str) -> InputError:
            return InputError(message, source=source, field=label(key))

        if len(symbols) < 2:
            raise fail(
                f"an allocation model needs at least 2 symbols, got {len(symbols)}", "symbols"
            )
        _check_options(self, fail)
        _check_numbers(self, fail)
        _check_names(self, symbols, fail)
        lows, highs = _check_bounds(self, symbols, fail)
        for g in self.constraints.groups:
            _check_group(g, set(symbols), lows, highs, fail)


_Fail = Callable[[str, str], InputError]
"""Builds the error for a message and the option it names."""


def _check_options(spec: ModelSpec, fail: _Fail) -> None:
    """Options the model does not take (views, risk budgets, risk aversion, targets), rates
    written as percentages, then what it needs (``_check_needs``)."""
    model, c = spec.model, spec.constraints
    for key, used in (
        ("views", bool(spec.views)),
        ("risk_budget", bool(spec.risk_budget)),
        ("risk_aversion", spec.risk_aversion is not None),
    ):
        allowed = {
            "views": {ModelName.BLACK_LITTERMAN},
            "risk_budget": {ModelName.RISK_PARITY},
            "risk_aversion": {ModelName.MEAN_VARIANCE},
        }[key]
        if used and model not in allowed:
            raise fail(
                f"{key.replace('_', ' ')} apply to {' | '.join(sorted(allowed))} only, "
                f"not to {model}",
                key,
            )
    for key, value in (
        ("target_volatility", c.target_volatility),
        ("risk_free_rate", spec.risk_free_rate),
    ):
        if value is not None and abs(value) >= 1:
            raise fail(
                f"is an annual rate as a fraction (0.12 for 12%), got {value:g}; "
                f"write {value / 100:g} if you meant {value:g}%",
                key,
            )
    for key in ("target_volatility", "target_return"):
        if getattr(c, key) is not None and key not in _TARGETED.get(model, set()):
            takes = sorted(m for m, keys in _TARGETED.items() if key in keys)
            raise fail(f"{model} takes no {key}; models that do: {' | '.join(takes)}", key)
    _check_needs(spec, fail)


def _check_needs(spec: ModelSpec, fail: _Fail) -> None:
    """Options the model needs (mean_variance's target, black_litterman's views, a
    confidence for all views or none) and the limits it cannot take (groups, bounds)."""
    model, c = spec.model, spec.constraints
    if model is ModelName.MEAN_VARIANCE and (
        c.target_volatility is None and c.target_return is None and spec.risk_aversion is None
    ):
        raise fail(
            "mean_variance needs a target_volatility, a target_return or a risk_aversion",
            "target_volatility",
        )
    if model is ModelName.BLACK_LITTERMAN and not spec.views:
        raise fail("black_litterman needs at least one view, e.g. AAPL=0.10@0.6", "views")
    confidences = {v.confidence is None for v in spec.views}
    if len(confidences) > 1:
        raise fail("give a confidence for every view or for none of them", "views")
    if c.groups and model not in _CONSTRAINED:
        raise fail(
            f"{model} takes no group limits; use min_variance, risk_parity or another optimiser",
            "groups",
        )
    if c.bounded and model not in _BOUNDED:
        raise fail(f"{model} takes no weight bounds", "max_weight")


def _check_numbers(spec: ModelSpec, fail: _Fail) -> None:
    """Numbers that must be positive (volatility target, risk aversion, half-life, factors,
    tau), and the covariance the model can use."""
    c = spec.constraints
    if c.target_volatility is not None and not c.target_volatility > 0:
        raise fail(
            f"must be a positive annual volatility (0.12 = 12%), got {c.target_volatility}",
            "target_volatility",
        )
    if spec.risk_aversion is not None and not spec.risk_aversion > 0:
        raise fail(f"must be positive, got {spec.risk_aversion}", "risk_aversion")
    if not spec.half_life > 0:
        raise fail(f"must be a positive number of days, got {spec.half_life}", "half_life")
    if spec.factors < 1:
        raise fail(f"must be a whole number ≥ 1, got {spec.factors}", "factors")
    if spec.covariance is CovarianceName.FACTOR and spec.model is ModelName.BLACK_LITTERMAN:
        raise fail(
            "black_litterman builds its own prior; use covariance sample, ledoit_wolf, "
            "ewma or regime",
            "covariance",
        )
    if not spec.tau > 0:
        raise fail(f"must be positive, got {spec.tau}", "tau")


def _check_names(spec: ModelSpec, symbols: Sequence[str], fail: _Fail) -> None:
    """Every symbol an option names is in the universe; risk budgets are positive."""
    c, universe = spec.constraints, set(symbols)
    named = (
        [("min_weight", s) for s in c.asset_min]
        + [("max_weight", s) for s in c.asset_max]
        + [("risk_budget", s) for s in spec.risk_budget]
    )
    named += [("views", v.long) for v in spec.views]
    named += [("views", v.short) for v in spec.views if v.short is not None]
    named += [("groups", s) for g in c.groups for s in g.symbols]
    for key, sym in named:
        if sym not in universe:
            raise fail(f"{sym!r} is not in the universe ({', '.join(symbols)})", key)
    for sym, budget in spec.risk_budget.items():
        if not (math.isfinite(budget) and budget > 0):
            raise fail(f"risk budget of {sym} must be positive, got {budget}", "risk_budget")


def _check_bounds(
    spec: ModelSpec, symbols: Sequence[str], fail: _Fail
) -> tuple[dict[str, float], dict[str, float]]:
    """Each asset's weight bounds are finite and ordered, long-only models get no negative
    minimum, and the bounds leave room to be fully invested; returns (lows, highs)."""
    c = spec.constraints
    lows = {s: c.lower(s) for s in symbols}
    highs = {s: c.upper(s) for s in symbols}
    for sym in symbols:
        if not (math.isfinite(lows[sym]) and math.isfinite(highs[sym])):
            raise fail(f"weight bounds of {sym} must be finite numbers", "max_weight")
        if lows[sym] > highs[sym]:
            raise fail(
                f"{sym}: minimum weight {lows[sym]:g} is above its maximum {highs[sym]:g}",
                "min_weight",
            )
    if spec.model in {ModelName.HRP, ModelName.RISK_PARITY} and min(lows.values()) < 0:
        raise fail(f"{spec.model} is long-only; use a minimum weight ≥ 0", "min_weight")
    total_low, total_high = sum(lows.values()), sum(highs.values())
    if total_low > 1 + 1e-9:
        raise fail(
            f"the minimum weights sum to {total_low:g} > 1, so the portfolio cannot be "
            "fully invested; lower them",
            "min_weight",
        )
    if total_high < 1 - 1e-9:
        raise fail(
            f"the maximum weights sum to {total_high:g} < 1, so the portfolio cannot be "
            f"fully invested; raise them (with {len(symbols)} assets the maximum must be "
            f"at least {1 / len(symbols):.4g})",
            "max_weight",
        )
    return lows, highs


def _check_group(
    g: GroupLimit,
    universe: set[str],
    lows: Mapping[str, float],
    highs: Mapping[str, float],
    fail: _Fail,
) -> None:
    """One group's limits are ordered and reachable within its assets' bounds and the
    other assets' bounds (the portfolio fully invested)."""
    members = set(g.symbols)
    if g.min_weight > g.max_weight:
        raise fail(
            f"group {g.name}: minimum {g.min_weight:g} is above its maximum {g.max_weight:g}",
            "groups",
        )
    inside_high = sum(highs[s] for s in members)
    inside_low = sum(lows[s] for s in members)
    outside_high = sum(highs[s] for s in universe - members)
    outside_low = sum(lows[s] for s in universe - members)
    if inside_high < g.min_weight - 1e-9:
        raise fail(
            f"group {g.name} must hold at least {g.min_weight:g} but its assets' "
            f"maximum weights allow only {inside_high:g}",
            "groups",
        )
    if inside_low > g.max_weight + 1e-9:
        raise fail(
            f"group {g.name} may hold at most {g.max_weight:g} but its assets' "
            f"minimum weights already need {inside_low:g}",
            "groups",
        )
    if g.max_weight + outside_high < 1 - 1e-9:
        raise fail(
            f"group {g.name} is capped at {g.max_weight:g} and the other assets may "
            f"hold at most {outside_high:g}, so the portfolio cannot be fully "
            "invested; raise the cap or add assets outside the group",
            "groups",
        )
    if g.min_weight + outside_low > 1 + 1e-9:
        raise fail(
            f"group {g.name} needs at least {g.min_weight:g} but the other assets' "
            f"minimum weights already take {outside_low:g}",
            "groups",
        )
