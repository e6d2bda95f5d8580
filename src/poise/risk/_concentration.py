"""The concentration guard: maximum weight per asset and per group, and the effective number
of assets.

The effective number of assets is ``1 / Σ w²`` over the non-cash weights renormalised to sum
to one: 4 for four equal positions, close to 1 when one position dominates. ``CASH`` is exempt
from the per-asset limit and forms a group of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from poise._errors import InputError
from poise.model import CASH
from poise.risk._config import BreachAction, RiskRules, risk_rules

__all__ = [
    "ConcentrationBreach",
    "Limit",
    "check_concentration",
    "concentration_guard",
    "effective_assets",
    "group_weights",
]


class Limit(StrEnum):
    """Which concentration limit a breach is of."""

    ASSET = "max_asset_weight"
    GROUP = "max_group_weight"
    EFFECTIVE = "min_effective_assets"


@dataclass(frozen=True, slots=True)
class ConcentrationBreach:
    """One limit breached: which, by what (a symbol, a group, or the whole household), the
    measured value, the limit, and a message."""

    limit: Limit
    name: str
    value: float
    bound: float
    message: str

    def __str__(self) -> str:
        return self.message


def effective_assets(weights: Mapping[str, float]) -> float:
    """``1 / Σ w²`` over the non-cash weights, renormalised; 0 when nothing is invested."""
    invested = {s: w for s, w in weights.items() if s != CASH and w > 0}
    total = sum(invested.values())
    if total <= 0:
        return 0.0
    return 1.0 / sum((w / total) ** 2 for w in invested.values())


def group_weights(weights: Mapping[str, float], rules: RiskRules) -> dict[str, float]:
    """Weight per group (``CASH`` in its own group), in first-seen order."""
    out: dict[str, float] = {}
    for sym, w in weights.items():
        group = CASH if sym == CASH else rules.group_of(sym)
        out[group] = out.get(group, 0.0) + w
    return out


def check_concentration(
    weights: Mapping[str, float], rules: RiskRules, *, what: str = "holdings"
) -> tuple[ConcentrationBreach, ...]:
    """Every limit of ``rules`` that ``weights`` breach.

    Parameters
    ----------
    weights : mapping of symbol to weight
        Fractions of the household's total value (``CASH`` included).
    rules : RiskRules
        The limits and groups (``[risk]``); limits left at None are not checked.
    what : str
        Names the weights in the messages ("targets", "holdings", ...).
    """
    out: list[ConcentrationBreach] = []
    tol = 1e-9
    if rules.max_asset_weight is not None:
        bound = rules.max_asset_weight
        for sym, w in weights.items():
            if sym != CASH and w > bound + tol:
                out.append(
                    ConcentrationBreach(
                        Limit.ASSET,
                        sym,
                        w,
                        bound,
                        f"{what}: {sym} is {w:.1%} of the household, above max_asset_weight "
                        f"{bound:.1%}",
                    )
                )
    if rules.max_group_weight is not None:
        bound = rules.max_group_weight
        for group, w in group_weights(weights, rules).items():
            if group != CASH and w > bound + tol:
                out.append(
                    ConcentrationBreach(
                        Limit.GROUP,
                        group,
                        w,
                        bound,
                        f"{what}: group {group} is {w:.1%} of the household, above "
                        f"max_group_weight {bound:.1%}",
                    )
                )
    if rules.min_effective_assets is not None:
        bound = rules.min_effective_assets
        n = effective_assets(weights)
        if n < bound - tol and any(w > 0 for s, w in weights.items() if s != CASH):
            out.append(
                ConcentrationBreach(
                    Limit.EFFECTIVE,
                    "household",
                    n,
                    bound,
                    f"{what}: effective number of assets is {n:.2f}, below "
                    f"min_effective_assets {bound:g}",
                )
            )
    return tuple(out)


def concentration_guard(
    household: Any, targets: Mapping[str, float], weights_after: Mapping[str, float]
) -> list[str]:
    """The plan's concentration check (``[risk]`` limits of ``household``).

    Targets that breach a limit are refused with ``InputError`` when ``on_breach = "refuse"``
    and reported as warnings otherwise; holdings left in breach after the plan are always
    reported (the plan is what would fix them), unless the targets already explain it.

    Returns
    -------
    list of str
        Warnings for the plan.
    """
    rules = risk_rules(household)
    if not rules.has_limits:
        return []
    target_breaches = check_concentration(targets, rules, what="targets")
    if target_breaches and rules.on_breach is BreachAction.REFUSE:
        first = target_breaches[0]
        raise InputError(
            "; ".join(b.message for b in target_breaches)
            + ' (on_breach = "refuse"); change the targets or the limit',
            source=getattr(household, "source", None),
            field=f"risk.{first.limit.value}",
        )
    seen = {(b.limit, b.name) for b in target_breaches}
    after = [
        b
        for b in check_concentration(weights_after, rules, what="after the plan")
        if (b.limit, b.name) not in seen
    ]
    return [b.message for b in (*target_breaches, *after)]
