"""The household's ``[risk]`` table: symbol groups, the concentration guard and the drawdown
overlay.

```toml
[risk]
max_asset_weight = 0.25        # no symbol above 25% of the household (CASH is exempt)
max_group_weight = 0.80        # no group above 80%
min_effective_assets = 4       # 1 / Σ w² over the non-cash weights, renormalised
on_breach = "warn"             # warn | refuse (refuse: a plan whose targets breach is refused)

[risk.groups]                  # for shocks, limits and Brinson attribution
equities = ["VTI", "VXUS"]     # symbols in no group form a group of their own
bonds = ["BND"]

[risk.overlay]                 # drawdown control, see poise.risk.OverlayRules
kind = "drawdown"              # drawdown | cppi (multiplier, floor, tolerance, safe)
limit = 0.15                   # drawdown that triggers the move to safety
share = 0.5                    # share of the risky weights moved to `safe`
rebound = 0.10                 # step back in after a 10% rise from the trough
safe = "CASH"                  # where the de-risked share goes
```
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from poise._errors import InputError
from poise.model import CASH

__all__ = [
    "BreachAction",
    "OverlayKind",
    "OverlayRules",
    "RiskRules",
    "risk_from_table",
    "risk_rules",
]


class BreachAction(StrEnum):
    """What the plan does when targets breach a concentration limit."""

    WARN = "warn"
    REFUSE = "refuse"


class OverlayKind(StrEnum):
    """Drawdown control: a stop-and-step-back rule, or constant-proportion portfolio insurance."""

    DRAWDOWN = "drawdown"
    CPPI = "cppi"


@dataclass(frozen=True, slots=True)
class OverlayRules:
    """A drawdown overlay on top of the household's targets.

    ``drawdown``: when the household's drawdown (its flow-adjusted value index against the
    running peak) passes ``limit``, ``share`` of every risky target weight moves to ``safe``
    and the household rebalances to those targets. It steps back to the full targets when the
    index has risen ``rebound`` above its lowest close since the move; the peak then restarts
    from that day, so a new move needs a new drawdown of ``limit``.

    ``cppi``: the floor is ``floor`` × the running peak of the index; the risky sleeve is
    ``multiplier`` × the cushion ``1 − floor × peak / index``, at most the risky targets' sum,
    spread in proportion to the risky targets; the rest sits in ``safe``. With the defaults
    (5 and 0.8) the household is fully invested at a new high and all in ``safe`` at a 20%
    drawdown. It rebalances when the risky weight is more than ``tolerance`` (weight points)
    from that level.
    """

    kind: OverlayKind = OverlayKind.DRAWDOWN
    limit: float = 0.15
    share: float = 0.5
    rebound: float = 0.10
    safe: str = CASH
    multiplier: float = 5.0
    floor: float = 0.8
    tolerance: float = 0.05

    def describe(self) -> str:
        if self.kind is OverlayKind.CPPI:
            return (
                f"CPPI: multiplier {self.multiplier:g}, floor {self.floor:.0%} of the peak, "
                f"safe asset {self.safe}"
            )
        return (
            f"drawdown overlay: past a {self.limit:.0%} drawdown move {self.share:.0%} of the "
            f"risky weights to {self.safe}; step back after a {self.rebound:.0%} rebound"
        )


@dataclass(frozen=True, slots=True)
class RiskRules:
    """The ``[risk]`` table. Every limit is optional (None = not checked).

    ``groups`` maps a group name to its symbols; ``group_of`` puts every other symbol in a group
    of its own (and ``CASH`` in ``CASH``).
    """

    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    max_asset_weight: float | None = None
    max_group_weight: float | None = None
    min_effective_assets: float | None = None
    on_breach: BreachAction = BreachAction.WARN
    overlay: OverlayRules | None = None

    def group_of(self, symbol: str) -> str:
        """The group ``symbol`` belongs to (its own name when it is in none)."""
        for name, members in self.groups.items():
            if symbol in members:
                return name
        return symbol

    def group_map(self, symbols: tuple[str, ...] | list[str]) -> dict[str, str]:
        """Symbol → group for ``symbols``."""
        return {s: self.group_of(s) for s in symbols}

    @property
    def has_limits(self) -> bool:
        return any(
            x is not None
            for x in (self.max_asset_weight, self.max_group_weight, self.min_effective_assets)
        )


def risk_rules(household: Any) -> RiskRules:
    """The household's ``[risk]`` rules, or the defaults (no limits, one group per symbol)."""
    rules = getattr(household, "risk", None)
    return rules if isinstance(rules, RiskRules) else RiskRules()


_RISK_KEYS = {
    "groups",
    "max_asset_weight",
    "max_group_weight",
    "min_effective_assets",
    "on_breach",
    "overlay",
}
_OVERLAY_KEYS = {
    OverlayKind.DRAWDOWN: {"kind", "limit", "share", "rebound", "safe"},
    OverlayKind.CPPI: {"kind", "multiplier", "floor", "tolerance", "safe"},
}


def _fraction(
    table: Mapping[str, Any], key: str, src: str, path: str, default: float | None
) -> float | None:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InputError(
            f"must be a fraction in (0, 1] (0.25 for 25%), got {value!r}",
            source=src,
            field=f"{path}.{key}",
        )
    return float(value)


def _positive(
    table: Mapping[str, Any], key: str, src: str, path: str, default: float | None
) -> float | None:
    if key not in table:
        return default
    value = table[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(
            f"must be a positive number, got {value!r}", source=src, field=f"{path}.{key}"
        )
    return float(value)


def _unknown(table: Mapping[str, Any], allowed: set[str], src: str, path: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise InputError(
            f"unknown key(s) {', '.join(extra)} in [{path}]; allowed: {', '.join(sorted(allowed))}",
            source=src,
            field=f"{path}.{extra[0]}",
        )


def _groups(raw: Any, src: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise InputError(
            'must be a table of group = ["SYM", ...], e.g. equities = ["VTI", "VXUS"]',
            source=src,
            field="risk.groups",
        )
    groups: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for name, members in raw.items():
        where = f"risk.groups.{name}"
        if (
            not isinstance(members, list)
            or not members
            or not all(isinstance(s, str) and s.strip() for s in members)
        ):
            raise InputError(
                f'must be a non-empty list of symbols, e.g. {name} = ["VTI", "VXUS"]',
                source=src,
                field=where,
            )
        for sym in members:
            if sym.upper() == CASH:
                raise InputError(
                    "CASH is always a group of its own; remove it from the list",
                    source=src,
                    field=where,
                )
            if sym in owner:
                raise InputError(
                    f"{sym} is already in group {owner[sym]!r}; a symbol belongs to one group",
                    source=src,
                    field=where,
                )
            owner[sym] = name
        groups[name] = tuple(members)
    return groups


def _overlay(raw: Any, src: str) -> OverlayRules:
    path = "risk.overlay"
    if not isinstance(raw, dict):
        raise InputError('must be a table, e.g. [risk.overlay] kind = "drawdown"', source=src)
    try:
        kind = OverlayKind(raw.get("kind", "drawdown"))
    except ValueError:
        raise InputError(
            f"unknown overlay kind {raw.get('kind')!r}; use drawdown | cppi",
            source=src,
            field=f"{path}.kind",
        ) from None
    _unknown(raw, _OVERLAY_KEYS[kind], src, path)
    safe = raw.get("safe", CASH)
    if not isinstance(safe, str) or not safe.strip():
        raise InputError(
            'must be a symbol or "CASH", e.g. safe = "BND"', source=src, field=f"{path}.safe"
        )
    safe = CASH if safe.upper() == CASH else safe
    defaults = OverlayRules()
    multiplier = _positive(raw, "multiplier", src, path, defaults.multiplier)
    floor = _fraction(raw, "floor", src, path, defaults.floor)
    if floor is not None and floor >= 1:
        raise InputError(
            "must be below 1 (0.8 = a floor at 80% of the peak)",
            source=src,
            field=f"{path}.floor",
        )
    return OverlayRules(
        kind=kind,
        limit=_fraction(raw, "limit", src, path, defaults.limit) or defaults.limit,
        share=_fraction(raw, "share", src, path, defaults.share) or defaults.share,
        rebound=_positive(raw, "rebound", src, path, defaults.rebound) or defaults.rebound,
        safe=safe,
        multiplier=multiplier or defaults.multiplier,
        floor=floor or defaults.floor,
        tolerance=_fraction(raw, "tolerance", src, path, defaults.tolerance) or defaults.tolerance,
    )


def risk_from_table(table: Mapping[str, Any], source: str = "<household>") -> RiskRules:
    """Parse a household's ``[risk]`` table; anything unknown or out of range raises
    ``InputError`` naming the file, the key and the fix."""
    src = source
    if not isinstance(table, dict):
        raise InputError("must be a table, e.g. [risk]", source=src, field="risk")
    _unknown(table, _RISK_KEYS, src, "risk")
    action = table.get("on_breach", "warn")
    try:
        on_breach = BreachAction(action)
    except ValueError:
        raise InputError(
            f"unknown action {action!r}; use warn | refuse", source=src, field="risk.on_breach"
        ) from None
    min_eff = _positive(table, "min_effective_assets", src, "risk", None)
    if min_eff is not None and min_eff < 1:
        raise InputError(
            f"must be at least 1 (a count of assets), got {min_eff:g}",
            source=src,
            field="risk.min_effective_assets",
        )
    return RiskRules(
        groups=_groups(table.get("groups", {}), src),
        max_asset_weight=_fraction(table, "max_asset_weight", src, "risk", None),
        max_group_weight=_fraction(table, "max_group_weight", src, "risk", None),
        min_effective_assets=min_eff,
        on_breach=on_breach,
        overlay=_overlay(table["overlay"], src) if "overlay" in table else None,
    )
