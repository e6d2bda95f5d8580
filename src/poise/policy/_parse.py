"""Policies from a household's ``[policy]`` table or from a short text spec."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from poise._errors import InputError
from poise.policy._base import Frequency, Policy, RebalanceTo
from poise.policy._rules import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    NeverPolicy,
    ThresholdPolicy,
    VolatilityPolicy,
)

__all__ = ["policy_from_spec", "policy_from_table"]

KINDS = ("calendar", "threshold", "cash_flow", "volatility", "any_of", "never")

_ALLOWED: dict[str, set[str]] = {
    "calendar": {"kind", "frequency"},
    "threshold": {"kind", "absolute", "relative", "frequency", "rebalance_to"},
    "volatility": {
        "kind",
        "absolute",
        "relative",
        "frequency",
        "rebalance_to",
        "window",
        "long_window",
        "min_scale",
        "max_scale",
    },
    "cash_flow": {"kind"},
    "never": {"kind"},
    "any_of": {"kind", "rules"},
}


def _enum(value: Any, enum: type[Frequency] | type[RebalanceTo], src: str, key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        options = " | ".join(m.value for m in enum)
        raise InputError(
            f"{value!r} is not valid; use one of {options}", source=src, field=key
        ) from None


def _fraction(table: Mapping[str, Any], key: str, src: str, path: str) -> float | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1e-6 <= value < 1:
        raise InputError(
            f"must be a number between 0 and 1 (e.g. 0.05 for 5 points), got {value!r}",
            source=src,
            field=f"{path}.{key}",
        )
    return float(value)


def _positive_int(table: Mapping[str, Any], key: str, default: int, src: str, path: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise InputError(
            f"must be a whole number of trading days ≥ 2, got {value!r}",
            source=src,
            field=f"{path}.{key}",
        )
    return value


def _scale(table: Mapping[str, Any], key: str, default: float, src: str, path: str) -> float:
    value = table.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 100
    ):
        raise InputError(
            f"must be a number (a multiple of the bands, e.g. 2.0), got {value!r}",
            source=src,
            field=f"{path}.{key}",
        )
    return float(value)


def policy_from_table(table: Mapping[str, Any], source: str, path: str = "policy") -> Policy:
    """Build a policy from a ``[policy]`` TOML table; bad keys raise ``InputError``."""
    kind = table.get("kind")
    if kind not in KINDS:
        raise InputError(
            f"unknown policy kind {kind!r}; use one of {' | '.join(KINDS)}",
            source=source,
            field=f"{path}.kind",
        )
    unknown = sorted(set(table) - _ALLOWED[kind])
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)} for kind = {kind!r}; "
            f"allowed: {', '.join(sorted(_ALLOWED[kind]))}",
            source=source,
            field=path,
        )
    if kind == "calendar":
        if "frequency" not in table:
            options = " | ".join(m.value for m in Frequency)
            raise InputError(
                f'a calendar policy needs a frequency, e.g. frequency = "quarterly" ({options})',
                source=source,
                field=f"{path}.frequency",
            )
        return CalendarPolicy(_enum(table["frequency"], Frequency, source, f"{path}.frequency"))
    if kind == "cash_flow":
        return CashFlowPolicy()
    if kind == "never":
        return NeverPolicy()
    if kind == "any_of":
        rules = table.get("rules")
        if not isinstance(rules, list) or not rules:
            raise InputError(
                "any_of needs a non-empty list of rules, e.g. [[policy.rules]] tables",
                source=source,
                field=f"{path}.rules",
            )
        return AnyOf(
            tuple(
                policy_from_table(rule, source, f"{path}.rules[{i}]")
                for i, rule in enumerate(rules)
            )
        )
    absolute = _fraction(table, "absolute", source, path)
    relative = _fraction(table, "relative", source, path)
    if absolute is None and relative is None and kind == "threshold":
        raise InputError(
            "a threshold policy needs 'absolute' (weight points) and/or 'relative' "
            "(fraction of target), e.g. absolute = 0.05",
            source=source,
            field=path,
        )
    if absolute is None and relative is None:
        absolute = 0.05
    check = table.get("frequency")
    check_frequency = _enum(check, Frequency, source, f"{path}.frequency") if check else None
    to = _enum(table.get("rebalance_to", "target"), RebalanceTo, source, f"{path}.rebalance_to")
    if kind == "threshold":
        return ThresholdPolicy(absolute, relative, to, check_frequency)
    window = _positive_int(table, "window", 63, source, path)
    long_window = _positive_int(table, "long_window", 756, source, path)
    if long_window < window:
        raise InputError(
            "long_window must be at least window", source=source, field=f"{path}.long_window"
        )
    min_scale = _scale(table, "min_scale", 0.5, source, path)
    max_scale = _scale(table, "max_scale", 2.0, source, path)
    if not 0 < min_scale <= 1 <= max_scale:
        raise InputError(
            "need 0 < min_scale ≤ 1 ≤ max_scale", source=source, field=f"{path}.min_scale"
        )
    return VolatilityPolicy(
        absolute, relative, window, long_window, min_scale, max_scale, to, check_frequency
    )


def _parse_one(spec: str) -> Policy:
    text = spec.strip().lower()
    if text in {"5/25", "5-25"}:
        return ThresholdPolicy(0.05, 0.25)
    name, _, rest = text.partition(":")
    table: dict[str, Any] = {"kind": name.replace("-", "_")}
    if name == "calendar":
        if not rest:
            options = " | ".join(m.value for m in Frequency)
            raise InputError(
                f"a calendar rule needs its frequency, e.g. calendar:quarterly ({options})",
                source=f"policy spec {spec!r}",
            )
        table["frequency"] = rest
        return policy_from_table(table, f"policy spec {spec!r}")
    aliases = {"abs": "absolute", "rel": "relative", "check": "frequency", "to": "rebalance_to"}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise InputError(
                f"expected key=value in {item!r}", source=f"policy spec {spec!r}", field=key
            )
        key = aliases.get(key.strip(), key.strip())
        try:
            table[key] = float(value) if "." in value else int(value)
        except ValueError:
            table[key] = value.strip()
    if name in {"5/25", "5-25"}:
        table.update(kind="threshold", absolute=0.05, relative=0.25)
    return policy_from_table(table, f"policy spec {spec!r}")


def policy_from_spec(spec: str) -> Policy:
    """Parse a short policy spec, as ``poise compare --policy`` takes it.

    Examples: ``calendar:annual``, ``threshold:abs=0.05``, ``threshold:rel=0.25,to=band``,
    ``5/25``, ``5/25:check=quarterly``, ``cash_flow``, ``volatility:abs=0.05``, ``never``;
    join several with ``+`` for any-of (``calendar:annual+threshold:abs=0.1``).
    """
    parts = [p for p in spec.split("+") if p.strip()]
    if not parts:
        raise InputError("empty policy spec; e.g. calendar:quarterly or 5/25", field="policy")
    if len(parts) == 1:
        return _parse_one(parts[0])
    return AnyOf(tuple(_parse_one(p) for p in parts))
