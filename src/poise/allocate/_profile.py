"""The risk questionnaire: answers → a risk score (0-100) → a growth/defensive split.

Score = 100 × (points earned) / (most points possible), rounded to one decimal. The score
falls in one of five bands, each with a growth share (see ``BANDS`` and docs/allocation.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from poise._errors import InputError

__all__ = [
    "BANDS",
    "QUESTIONS",
    "Band",
    "Choice",
    "Question",
    "RiskProfile",
    "profile_from_answers",
    "profile_from_score",
]


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    label: str
    points: int


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str
    choices: tuple[Choice, ...]

    @property
    def max_points(self) -> int:
        return max(c.points for c in self.choices)

    def choice(self, key: str) -> Choice | None:
        for c in self.choices:
            if c.key == key:
                return c
        return None


def _q(key: str, text: str, *choices: tuple[str, str, int]) -> Question:
    return Question(key, text, tuple(Choice(*c) for c in choices))


QUESTIONS: tuple[Question, ...] = (
    _q(
        "horizon",
        "When do you expect to need most of this money?",
        ("under_3_years", "In less than 3 years", 0),
        ("3_to_5_years", "In 3 to 5 years", 1),
        ("6_to_10_years", "In 6 to 10 years", 2),
        ("11_to_20_years", "In 11 to 20 years", 3),
        ("over_20_years", "In more than 20 years", 4),
    ),
    _q(
        "drop_reaction",
        "Your portfolio falls 25% in a few months. What do you do?",
        ("sell_all", "Sell everything to stop further losses", 0),
        ("sell_some", "Sell some of it", 1),
        ("hold", "Hold and wait", 3),
        ("buy_more", "Buy more while prices are low", 4),
    ),
    _q(
        "max_loss",
        "What is the largest one-year loss you could live with without changing your plans?",
        ("loss_5", "5%", 0),
        ("loss_10", "10%", 1),
        ("loss_20", "20%", 2),
        ("loss_30", "30%", 3),
        ("loss_40", "40% or more", 4),
    ),
    _q(
        "income_stability",
        "How secure is your income over the next five years?",
        ("unstable", "Uncertain", 0),
        ("somewhat_stable", "Somewhat secure", 1),
        ("stable", "Secure", 2),
        ("very_stable", "Very secure", 3),
    ),
    _q(
        "emergency_fund",
        "How many months of expenses do you hold in savings outside this portfolio?",
        ("none", "None", 0),
        ("under_3_months", "Less than 3 months", 1),
        ("3_to_6_months", "3 to 6 months", 2),
        ("over_6_months", "More than 6 months", 3),
    ),
    _q(
        "experience",
        "How much experience do you have with investing in stocks or funds?",
        ("none", "None", 0),
        ("some", "Some", 1),
        ("experienced", "Several years, through ups and downs", 2),
        ("expert", "Extensive, professional", 3),
    ),
    _q(
        "objective",
        "What matters most for this money?",
        ("preserve", "Keeping what I have", 0),
        ("income", "Steady income", 1),
        ("balanced", "A balance of growth and stability", 2),
        ("growth", "Growth", 3),
        ("max_growth", "As much growth as possible", 4),
    ),
)
"""The questionnaire, in the order it is asked."""


@dataclass(frozen=True, slots=True)
class Band:
    """Scores from ``low`` to ``high`` (inclusive) get ``growth_share`` in growth assets."""

    name: str
    low: float
    high: float
    growth_share: float


BANDS: tuple[Band, ...] = (
    Band("conservative", 0.0, 20.0, 0.20),
    Band("moderately conservative", 20.0, 40.0, 0.40),
    Band("moderate", 40.0, 60.0, 0.60),
    Band("moderately aggressive", 60.0, 80.0, 0.75),
    Band("aggressive", 80.0, 100.0, 0.90),
)
"""Score bands: a score on a boundary belongs to the lower band (20 is conservative)."""


@dataclass(frozen=True, slots=True)
class RiskProfile:
    """A risk score and the growth/defensive split it maps to."""

    score: float
    band: str
    growth_share: float
    answers: Mapping[str, str] = field(default_factory=dict)

    @property
    def defensive_share(self) -> float:
        return 1.0 - self.growth_share


def profile_from_score(score: float, answers: Mapping[str, str] | None = None) -> RiskProfile:
    """The band and growth share of a score in [0, 100]."""
    if not 0 <= score <= 100:
        raise InputError(f"a risk score is between 0 and 100, got {score:g}", field="score")
    for band in BANDS:
        if score <= band.high:
            return RiskProfile(score, band.name, band.growth_share, dict(answers or {}))
    raise AssertionError("unreachable: the bands cover 0-100")


def profile_from_answers(
    answers: Mapping[str, object], source: str | None = None, path: str = "risk_profile"
) -> RiskProfile:
    """Score a complete set of answers (question key → choice key).

    Raises
    ------
    InputError
        An unknown question or choice, or a missing answer, named with the valid options.
    """
    known = {q.key for q in QUESTIONS}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InputError(
            f"unknown question(s) {', '.join(unknown)}; the questions are "
            f"{', '.join(q.key for q in QUESTIONS)} (or give score = 0-100)",
            source=source,
            field=f"{path}.{unknown[0]}",
        )
    earned = 0
    possible = 0
    chosen: dict[str, str] = {}
    for q in QUESTIONS:
        options = " | ".join(c.key for c in q.choices)
        if q.key not in answers:
            raise InputError(
                f"missing answer to {q.text!r}; write {q.key} = one of {options}",
                source=source,
                field=f"{path}.{q.key}",
            )
        value = answers[q.key]
        choice = q.choice(value) if isinstance(value, str) else None
        if choice is None:
            raise InputError(
                f"{value!r} is not an answer to {q.text!r}; use one of {options}",
                source=source,
                field=f"{path}.{q.key}",
            )
        earned += choice.points
        possible += q.max_points
        chosen[q.key] = choice.key
    return profile_from_score(round(100.0 * earned / possible, 1), chosen)
