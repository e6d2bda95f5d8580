"""Read ``[allocation]``, ``[risk_profile]`` and ``[[goals]]`` from a household's TOML.

Model allocation::

    [allocation]
    model = "min_variance"          # see ModelName
    symbols = ["JNJ", "KO", "PG", "WMT"]
    covariance = "ledoit_wolf"      # sample | ledoit_wolf | ewma | regime | factor
    lookback_days = 756             # daily returns per fit
    refit = "monthly"               # monthly | quarterly | semiannual | annual | never
    max_weight = 0.4                # also min_weight; per asset: [allocation.max_weights]
    [allocation.groups.staples]
    symbols = ["KO", "PG"]
    max = 0.5

Goal-based allocation (``model = "glide_path"``, or ``"profile"`` without goals)::

    [allocation]
    model = "glide_path"
    growth = { VTI = 0.7, VXUS = 0.3 }
    defensive = { BND = 1.0 }
    [risk_profile]                  # questionnaire answers, or score = 0-100
    ...
    [[goals]]
    name = "Retirement"
    kind = "retirement"             # retirement | home | education | custom
    date = 2045-06-30
    target_amount = 1500000
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from poise._errors import InputError
from poise._numbers import number_problem
from poise.allocate._allocation import ModelAllocation
from poise.allocate._goals import GLIDE_DEFAULTS, GlidePathAllocation, Goal, GoalKind
from poise.allocate._profile import RiskProfile, profile_from_answers, profile_from_score
from poise.allocate._types import (
    Constraints,
    CovarianceName,
    GroupLimit,
    ModelName,
    ModelSpec,
    View,
    parse_view,
)
from poise.calendar import Frequency
from poise.model import CASH

__all__ = [
    "allocation_from_table",
    "goals_from_list",
    "risk_profile_from_table",
]

_MODEL_KEYS = {
    "model",
    "symbols",
    "covariance",
    "half_life",
    "factors",
    "lookback_days",
    "refit",
    "min_observations",
    "cash",
    "min_weight",
    "max_weight",
    "min_weights",
    "max_weights",
    "groups",
    "target_volatility",
    "target_return",
    "risk_aversion",
    "risk_free_rate",
    "risk_budget",
    "views",
    "tau",
}
_GLIDE_KEYS = {"model", "growth", "defensive", "max_growth", "refit"}
_GOAL_MODELS = ("glide_path", "profile")


def _fail(message: str, src: str, key: str) -> InputError:
    return InputError(message, source=src, field=key)


def _check_keys(table: Mapping[str, Any], allowed: set[str], src: str, path: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _fail(
            f"unknown key(s) {', '.join(unknown)} in [{path}]; allowed: "
            f"{', '.join(sorted(allowed))}",
            src,
            f"{path}.{unknown[0]}",
        )


def _num(
    value: Any,
    src: str,
    key: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"must be a number, got {value!r}", src, key)
    number = float(value)
    problem = number_problem(number)
    if problem is not None:
        raise _fail(f"{value!r} {problem}", src, key)
    if low is not None and (number < low or (low_open and number == low)):
        raise _fail(f"must be {'>' if low_open else '≥'} {low:g}, got {number:g}", src, key)
    if high is not None and number > high:
        raise _fail(f"must be ≤ {high:g}, got {number:g}", src, key)
    return number


def _int(value: Any, src: str, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(f"must be a whole number ≥ {low}, got {value!r}", src, key)
    return value


def _enum(value: Any, enum: Any, src: str, key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        options = " | ".join(m.value for m in enum)
        raise _fail(f"{value!r} is not valid; use one of {options}", src, key) from None


def _refit(value: Any, src: str, key: str) -> Frequency | None:
    if value == "never":
        return None
    try:
        return Frequency(value)
    except ValueError:
        options = " | ".join([*(f.value for f in Frequency), "never"])
        raise _fail(f"{value!r} is not valid; use one of {options}", src, key) from None


def _weights_table(raw: Any, src: str, key: str, *, low: float = 0.0) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise _fail("must be a table of symbol = weight", src, key)
    return {sym: _num(w, src, f"{key}.{sym}", low=low, high=1.0) for sym, w in raw.items()}


def _sleeve(raw: Any, src: str, key: str) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        raise _fail(
            f"needs sleeve weights, e.g. {key.split('.')[-1]} = {{ VTI = 0.7, VXUS = 0.3 }}",
            src,
            key,
        )
    sleeve = {
        (CASH if sym.lower() == "cash" else sym): w
        for sym, w in _weights_table(raw, src, key).items()
    }
    total = sum(sleeve.values())
    if abs(total - 1.0) > 1e-6:
        raise _fail(f"sleeve weights sum to {total:.6g}, not 1; adjust them", src, key)
    return sleeve


def _groups(raw: Any, src: str) -> tuple[GroupLimit, ...]:
    key = "allocation.groups"
    if not isinstance(raw, dict):
        raise _fail(
            'must be tables, e.g. [allocation.groups.tech] symbols = ["AAPL", "MSFT"], max = 0.4',
            src,
            key,
        )
    out = []
    for name, table in raw.items():
        path = f"{key}.{name}"
        if not isinstance(table, dict):
            raise _fail("must be a table with symbols = [...] and max and/or min", src, path)
        _check_keys(table, {"symbols", "min", "max"}, src, path)
        symbols = table.get("symbols")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) for s in symbols)
        ):
            raise _fail('needs symbols = ["SYM1", "SYM2"]', src, f"{path}.symbols")
        if "min" not in table and "max" not in table:
            raise _fail("needs max = ... and/or min = ... (fractions of the portfolio)", src, path)
        out.append(
            GroupLimit(
                name=name,
                symbols=tuple(symbols),
                min_weight=_num(table.get("min", 0.0), src, f"{path}.min", low=0.0, high=1.0),
                max_weight=_num(table.get("max", 1.0), src, f"{path}.max", low=0.0, high=1.0),
            )
        )
    return tuple(out)


def _views(raw: Any, symbols: tuple[str, ...], src: str) -> tuple[View, ...]:
    key = "allocation.views"
    if not isinstance(raw, list):
        raise _fail(
            'must be a list, e.g. views = ["AAPL=0.10@0.6", "AAPL-MSFT=0.02@0.5"]', src, key
        )
    out = []
    for i, item in enumerate(raw):
        path = f"{key}[{i}]"
        if isinstance(item, str):
            out.append(parse_view(item, symbols, source=src, field=path))
        elif isinstance(item, dict):
            _check_keys(item, {"view", "confidence"}, src, path)
            if not isinstance(item.get("view"), str):
                raise _fail('needs view = "AAPL=0.10"', src, f"{path}.view")
            conf = item.get("confidence")
            out.append(
                parse_view(
                    item["view"],
                    symbols,
                    confidence=None if conf is None else _num(conf, src, f"{path}.confidence"),
                    source=src,
                    field=path,
                )
            )
        else:
            raise _fail(
                'each view is "AAPL=0.10@0.6" or { view = "...", confidence = 0.6 }', src, path
            )
    return tuple(out)


def _model_allocation(table: Mapping[str, Any], src: str) -> ModelAllocation:
    _check_keys(table, _MODEL_KEYS, src, "allocation")
    model = _enum(table["model"], ModelName, src, "allocation.model")
    raw_symbols = table.get("symbols")
    if (
        not isinstance(raw_symbols, list)
        or not all(isinstance(s, str) and s for s in raw_symbols)
        or len(raw_symbols) < 2
    ):
        raise _fail(
            'needs the model\'s universe, e.g. symbols = ["VTI", "VXUS", "BND"] (at least 2)',
            src,
            "allocation.symbols",
        )
    if CASH in raw_symbols or len(set(raw_symbols)) != len(raw_symbols):
        raise _fail(
            "list each symbol once and leave CASH out (use cash = 0.05 for a cash weight)",
            src,
            "allocation.symbols",
        )
    symbols = tuple(raw_symbols)

    def num(key: str, default: Any, **bounds: Any) -> Any:
        return _num(table[key], src, f"allocation.{key}", **bounds) if key in table else default

    constraints = Constraints(
        min_weight=num("min_weight", 0.0, low=-1.0, high=1.0),
        max_weight=num("max_weight", 1.0, low=0.0, high=1.0, low_open=True),
        asset_min=_weights_table(
            table.get("min_weights", {}), src, "allocation.min_weights", low=-1.0
        ),
        asset_max=_weights_table(table.get("max_weights", {}), src, "allocation.max_weights"),
        groups=_groups(table.get("groups", {}), src),
        target_volatility=num("target_volatility", None, low=0.0, low_open=True),
        target_return=num("target_return", None),
    )
    budget_raw = table.get("risk_budget", {})
    if not isinstance(budget_raw, dict):
        raise _fail("must be a table of symbol = budget", src, "allocation.risk_budget")
    spec = ModelSpec(
        model=model,
        covariance=_enum(
            table.get("covariance", "sample"), CovarianceName, src, "allocation.covariance"
        ),
        half_life=num("half_life", 40.0, low=0.0, low_open=True),
        factors=_int(table.get("factors", 10), src, "allocation.factors", 1),
        constraints=constraints,
        risk_budget={
            s: _num(b, src, f"allocation.risk_budget.{s}", low=0.0, low_open=True)
            for s, b in budget_raw.items()
        },
        views=_views(table.get("views", []), symbols, src),
        tau=num("tau", 0.05, low=0.0, low_open=True),
        risk_aversion=num("risk_aversion", None, low=0.0, low_open=True),
        risk_free_rate=num("risk_free_rate", 0.0),
    )
    spec.check(symbols, source=src, label=lambda k: f"allocation.{k}")
    lookback = _int(table.get("lookback_days", 756), src, "allocation.lookback_days", 20)
    min_obs = _int(
        table.get("min_observations", min(60, lookback)), src, "allocation.min_observations", 20
    )
    if min_obs > lookback:
        raise _fail(
            f"is {min_obs}, more than lookback_days {lookback}; the model would never be fitted",
            src,
            "allocation.min_observations",
        )
    cash = num("cash", 0.0, low=0.0)
    if cash >= 1:
        raise _fail(f"must be below 1 (a fraction), got {cash:g}", src, "allocation.cash")
    return ModelAllocation(
        spec=spec,
        symbols=symbols,
        lookback_days=lookback,
        refit=_refit(table.get("refit", "monthly"), src, "allocation.refit"),
        min_observations=min_obs,
        cash_weight=cash,
    )


def risk_profile_from_table(table: Any, source: str, path: str = "risk_profile") -> RiskProfile:
    """A ``[risk_profile]`` table: the questionnaire's answers, or ``score = 0-100``."""
    if not isinstance(table, dict):
        raise _fail("must be a table of answers, or score = 0-100", source, path)
    if "score" in table:
        if len(table) > 1:
            raise _fail("give either score or the answers, not both", source, f"{path}.score")
        score = _num(table["score"], source, f"{path}.score", low=0.0, high=100.0)
        return profile_from_score(score)
    return profile_from_answers(table, source, path)


def goals_from_list(raw: Any, source: str) -> tuple[Goal, ...]:
    """``[[goals]]`` tables: name, kind, date, target_amount, and optionally liquidity,
    glide_years and end_growth (defaults by kind, see ``GLIDE_DEFAULTS``)."""
    if not isinstance(raw, list):
        raise _fail(
            "must be [[goals]] tables with name, kind, date and target_amount", source, "goals"
        )
    goals: list[Goal] = []
    for i, table in enumerate(raw):
        path = f"goals[{i}]"
        if not isinstance(table, dict):
            raise _fail("each goal must be a [[goals]] table", source, path)
        _check_keys(
            table,
            {"name", "kind", "date", "target_amount", "liquidity", "glide_years", "end_growth"},
            source,
            path,
        )
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail('needs a name, e.g. name = "Retirement"', source, f"{path}.name")
        if any(g.name == name for g in goals):
            raise _fail(f"goal name {name!r} is used twice", source, f"{path}.name")
        kind = _enum(table.get("kind", "custom"), GoalKind, source, f"{path}.kind")
        when = table.get("date")
        if isinstance(when, str):
            try:
                when = date.fromisoformat(when)
            except ValueError:
                when = None
        if not isinstance(when, date):
            raise _fail("needs the goal's date, e.g. date = 2045-06-30", source, f"{path}.date")
        if "target_amount" not in table:
            raise _fail("needs target_amount (currency)", source, f"{path}.target_amount")
        glide_default, end_default = GLIDE_DEFAULTS[kind]
        goals.append(
            Goal(
                name=name,
                kind=kind,
                target_date=when,
                target_amount=_num(
                    table["target_amount"], source, f"{path}.target_amount", low=0.0, low_open=True
                ),
                liquidity=_num(
                    table.get("liquidity", 0.0), source, f"{path}.liquidity", low=0.0, high=0.99
                ),
                glide_years=_num(
                    table.get("glide_years", glide_default),
                    source,
                    f"{path}.glide_years",
                    low=0.0,
                    low_open=True,
                ),
                end_growth=_num(
                    table.get("end_growth", end_default),
                    source,
                    f"{path}.end_growth",
                    low=0.0,
                    high=1.0,
                ),
            )
        )
    return tuple(goals)


def _glide_allocation(
    table: Mapping[str, Any],
    src: str,
    risk_profile: Any,
    goals: Any,
) -> GlidePathAllocation:
    _check_keys(table, _GLIDE_KEYS, src, "allocation")
    kind = table["model"]
    growth = _sleeve(table.get("growth"), src, "allocation.growth")
    defensive = _sleeve(table.get("defensive"), src, "allocation.defensive")
    profile = None if risk_profile is None else risk_profile_from_table(risk_profile, src)
    if "max_growth" in table:
        max_growth = _num(table["max_growth"], src, "allocation.max_growth", low=0.0, high=1.0)
    elif profile is not None:
        max_growth = profile.growth_share
    else:
        raise _fail(
            f"model = {kind!r} needs a [risk_profile] (answers or score) or allocation.max_growth",
            src,
            "risk_profile",
        )
    parsed_goals = () if goals is None else goals_from_list(goals, src)
    if kind == "glide_path" and not parsed_goals:
        raise _fail(
            'model = "glide_path" needs at least one [[goals]] table (or use model = "profile")',
            src,
            "goals",
        )
    if kind == "profile" and parsed_goals:
        raise _fail(
            'model = "profile" ignores goals; use model = "glide_path" to follow them',
            src,
            "allocation.model",
        )
    return GlidePathAllocation(
        growth=growth,
        defensive=defensive,
        max_growth=max_growth,
        goals=parsed_goals,
        profile=profile,
        refit=_refit(table.get("refit", "monthly"), src, "allocation.refit"),
    )


def allocation_from_table(
    table: Mapping[str, Any],
    source: str,
    *,
    risk_profile: Any = None,
    goals: Any = None,
) -> ModelAllocation | GlidePathAllocation:
    """Parse an ``[allocation]`` table (with the household's ``[risk_profile]`` and
    ``[[goals]]`` for goal-based models).

    Raises
    ------
    InputError
        Naming the file, the key and the fix.
    """
    if not isinstance(table, Mapping) or "model" not in table:
        options = " | ".join([*(m.value for m in ModelName), *_GOAL_MODELS])
        raise _fail(f"needs model = one of {options}", source, "allocation.model")
    if table["model"] in _GOAL_MODELS:
        return _glide_allocation(table, source, risk_profile, goals)
    if table["model"] not in {m.value for m in ModelName}:
        options = " | ".join([*(m.value for m in ModelName), *_GOAL_MODELS])
        raise _fail(
            f"{table['model']!r} is not valid; use one of {options}", source, "allocation.model"
        )
    return _model_allocation(table, source)
