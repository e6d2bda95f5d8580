"""Goals and glide paths: a growth/defensive split that de-risks as each goal nears.

For one goal, with ``g`` the risk profile's growth share, ``e = g × end_growth`` the growth
share at the goal date, ``Y`` the glide years and ``T`` the years left to the goal::

    growth(T) = g                      if T ≥ Y
              = e + (g − e) × T / Y     if 0 < T < Y     (linear de-risking)
              = e                      if T ≤ 0          (on and after the goal date)

With several goals, the household's growth share is their average weighted by target amount,
and the cash reserve is the amount-weighted average of the goals' ``liquidity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import pandas as pd

from poise.allocate._allocation import refit_is_due
from poise.allocate._profile import RiskProfile
from poise.calendar import Frequency
from poise.model import CASH

__all__ = ["GLIDE_DEFAULTS", "GlidePathAllocation", "Goal", "GoalKind"]

DAYS_PER_YEAR = 365.25


class GoalKind(StrEnum):
    RETIREMENT = "retirement"
    HOME = "home"
    EDUCATION = "education"
    CUSTOM = "custom"


GLIDE_DEFAULTS: dict[GoalKind, tuple[float, float]] = {
    GoalKind.RETIREMENT: (25.0, 0.5),
    GoalKind.HOME: (5.0, 0.0),
    GoalKind.EDUCATION: (10.0, 0.1),
    GoalKind.CUSTOM: (10.0, 0.25),
}
"""Per goal kind: (glide years, growth at the goal date as a fraction of the profile's)."""


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal: when, how much, how much of it must stay liquid, and how it de-risks.

    Attributes
    ----------
    target_amount : float
        Currency; weights the goal against the household's other goals.
    liquidity : float
        Fraction of this goal's money held as ``CASH`` throughout.
    glide_years, end_growth : float
        De-risking starts ``glide_years`` before ``target_date`` and ends at
        ``end_growth`` × the profile's growth share.
    """

    name: str
    kind: GoalKind
    target_date: date
    target_amount: float
    liquidity: float = 0.0
    glide_years: float = 10.0
    end_growth: float = 0.25

    def years_left(self, on: date) -> float:
        return (self.target_date - on).days / DAYS_PER_YEAR

    def growth_share(self, on: date, max_growth: float) -> float:
        """The growth share for this goal on ``on`` (see the module docstring)."""
        end = max_growth * self.end_growth
        left = self.years_left(on)
        if left <= 0:
            return end
        return end + (max_growth - end) * min(left / self.glide_years, 1.0)


@dataclass(frozen=True, slots=True)
class GlidePathAllocation:
    """Targets that mix a growth sleeve and a defensive sleeve by a goal-driven glide path.

    Without goals the split is constant: the risk profile's growth share.

    Attributes
    ----------
    growth, defensive : mapping
        Sleeve weights (each sums to 1; ``CASH`` allowed).
    max_growth : float
        Growth share far from every goal (from the risk profile unless set explicitly).
    goals : tuple of Goal
    profile : RiskProfile or None
        The questionnaire result ``max_growth`` came from, if any.
    refit : Frequency or None
        How often the split is re-evaluated (the glide path moves continuously).
    """

    growth: Mapping[str, float]
    defensive: Mapping[str, float]
    max_growth: float
    goals: tuple[Goal, ...] = ()
    profile: RiskProfile | None = None
    refit: Frequency | None = Frequency.MONTHLY

    @property
    def symbols(self) -> tuple[str, ...]:
        seen = dict.fromkeys([*self.growth, *self.defensive])
        seen.pop(CASH, None)
        return tuple(seen)

    def growth_share(self, on: date) -> float:
        """Household growth share on ``on``: goals weighted by target amount."""
        if not self.goals:
            return self.max_growth
        total = sum(g.target_amount for g in self.goals)
        return sum(g.target_amount * g.growth_share(on, self.max_growth) for g in self.goals) / (
            total
        )

    @property
    def cash_reserve(self) -> float:
        """Fraction held as ``CASH`` for the goals' liquidity needs."""
        if not self.goals:
            return 0.0
        total = sum(g.target_amount for g in self.goals)
        return sum(g.target_amount * g.liquidity for g in self.goals) / total

    def targets_for(self, growth_share: float) -> dict[str, float]:
        """Targets for a given growth share (sleeves mixed, then the cash reserve)."""
        reserve = self.cash_reserve
        out: dict[str, float] = {}
        for sleeve, share in ((self.growth, growth_share), (self.defensive, 1.0 - growth_share)):
            for sym, w in sleeve.items():
                out[sym] = out.get(sym, 0.0) + (1.0 - reserve) * share * w
        if reserve:
            out[CASH] = out.get(CASH, 0.0) + reserve
        return {s: w for s, w in out.items() if w > 0 or s in self.symbols}

    def initial_targets(self) -> dict[str, float]:
        """The split far from every goal (the profile's growth share)."""
        return self.targets_for(self.max_growth)

    def refit_due(self, as_of: date, last_fit: date | None) -> bool:
        return refit_is_due(self.refit, as_of, last_fit)

    def targets_on(self, history: pd.DataFrame, as_of: date) -> dict[str, float]:
        """The glide path's targets on ``as_of`` (prices are not needed)."""
        return self.targets_for(self.growth_share(as_of))

    def schedule(self, start: date, years: int) -> list[tuple[date, float]]:
        """The growth share on ``start`` and on each anniversary for ``years`` years."""
        out = []
        for k in range(years + 1):
            try:
                day = start.replace(year=start.year + k)
            except ValueError:  # 29 February
                day = start.replace(year=start.year + k, day=28)
            out.append((day, self.growth_share(day)))
        return out

    def describe(self) -> str:
        goals = ", ".join(f"{g.name} ({g.kind}, {g.target_date})" for g in self.goals)
        base = f"growth share {self.max_growth:.0%}"
        if self.profile is not None:
            base += f" (risk score {self.profile.score:g}, {self.profile.band})"
        return f"glide path: {base}" + (f", de-risking for {goals}" if goals else ", no goals")
