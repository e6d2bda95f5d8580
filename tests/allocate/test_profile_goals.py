"""Risk questionnaire scores and glide paths, checked by hand."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poise._errors import InputError
from poise.allocate import (
    QUESTIONS,
    GlidePathAllocation,
    Goal,
    GoalKind,
    profile_from_answers,
    profile_from_score,
)

ANSWERS = {
    "horizon": "over_20_years",  # 4 of 4
    "drop_reaction": "hold",  # 3 of 4
    "max_loss": "loss_30",  # 3 of 4
    "income_stability": "stable",  # 2 of 3
    "emergency_fund": "over_6_months",  # 3 of 3
    "experience": "experienced",  # 2 of 3
    "objective": "growth",  # 3 of 4
}


def test_score_is_points_over_maximum():
    profile = profile_from_answers(ANSWERS)
    assert profile.score == 80.0  # 20 / 25
    assert profile.band == "moderately aggressive"  # 80 is the top of 60-80
    assert profile.growth_share == 0.75
    assert profile.defensive_share == 0.25
    lowest = {q.key: q.choices[0].key for q in QUESTIONS}
    highest = {q.key: max(q.choices, key=lambda c: c.points).key for q in QUESTIONS}
    assert profile_from_answers(lowest).score == 0.0
    assert profile_from_answers(highest).score == 100.0


@pytest.mark.parametrize(
    ("score", "band", "growth"),
    [
        (0, "conservative", 0.20),
        (20, "conservative", 0.20),
        (20.1, "moderately conservative", 0.40),
        (50, "moderate", 0.60),
        (60.5, "moderately aggressive", 0.75),
        (100, "aggressive", 0.90),
    ],
)
def test_bands(score, band, growth):
    profile = profile_from_score(score)
    assert (profile.band, profile.growth_share) == (band, growth)


def test_bad_answers_name_the_question_and_options():
    with pytest.raises(InputError, match=r"risk_profile\.horizon: 'soon' is not an answer"):
        profile_from_answers({**ANSWERS, "horizon": "soon"})
    with pytest.raises(InputError, match=r"missing answer .* objective = one of preserve"):
        profile_from_answers({k: v for k, v in ANSWERS.items() if k != "objective"})
    with pytest.raises(InputError, match="unknown question"):
        profile_from_answers({**ANSWERS, "age": "40"})
    with pytest.raises(InputError, match="between 0 and 100"):
        profile_from_score(120)


def test_single_goal_glide_path_by_hand():
    home = Goal("Home", GoalKind.HOME, date(2030, 1, 1), 100_000, glide_years=5, end_growth=0.0)
    glide = GlidePathAllocation(
        growth={"VTI": 0.6, "VXUS": 0.4}, defensive={"BND": 1.0}, max_growth=0.8, goals=(home,)
    )
    assert glide.growth_share(date(2020, 1, 1)) == 0.8  # 10 years out: before the glide
    # 2.5 years out (913 days / 365.25 = 2.4997): half way down from 0.8 to 0
    assert glide.growth_share(date(2027, 7, 3)) == pytest.approx(0.8 * 913 / 365.25 / 5)
    assert glide.growth_share(date(2030, 1, 1)) == 0.0
    assert glide.growth_share(date(2031, 1, 1)) == 0.0
    targets = glide.targets_on(None, date(2027, 7, 3))  # type: ignore[arg-type]
    g = 0.8 * 913 / 365.25 / 5
    assert targets["VTI"] == pytest.approx(0.6 * g)
    assert targets["BND"] == pytest.approx(1 - g)
    assert glide.symbols == ("VTI", "VXUS", "BND")


def test_goals_weighted_by_amount_with_liquidity():
    retire = Goal(
        "Retirement", GoalKind.RETIREMENT, date(2050, 1, 1), 300_000, glide_years=25, end_growth=0.5
    )
    school = Goal(
        "School",
        GoalKind.EDUCATION,
        date(2025, 1, 1),
        100_000,
        liquidity=0.2,
        glide_years=10,
        end_growth=0.1,
    )
    glide = GlidePathAllocation(
        growth={"VTI": 1.0},
        defensive={"BND": 0.5, "CASH": 0.5},
        max_growth=0.9,
        goals=(retire, school),
    )
    day = date(2025, 1, 1)  # school is due; retirement 25 years out (9131 days)
    retire_share = 0.45 + 0.45 * min(9131 / 365.25 / 25, 1.0)
    expected = (300_000 * retire_share + 100_000 * 0.09) / 400_000
    assert glide.growth_share(day) == pytest.approx(expected)
    assert glide.cash_reserve == pytest.approx(0.05)  # 100k × 0.2 / 400k
    targets = glide.targets_on(None, day)  # type: ignore[arg-type]
    assert targets["CASH"] == pytest.approx(0.05 + 0.95 * (1 - expected) * 0.5)
    assert sum(targets.values()) == pytest.approx(1.0)


def test_glide_path_refits_monthly_and_starts_far_from_goals():
    goal = Goal("Home", GoalKind.HOME, date(2026, 1, 1), 1.0, glide_years=5, end_growth=0.0)
    glide = GlidePathAllocation({"A": 1.0}, {"B": 1.0}, 0.6, (goal,))
    assert glide.initial_targets() == {"A": 0.6, "B": pytest.approx(0.4)}
    assert glide.refit_due(date(2024, 3, 1), None)
    assert not glide.refit_due(date(2024, 3, 29), date(2024, 3, 1))
    assert glide.refit_due(date(2024, 4, 1), date(2024, 3, 29))


@settings(max_examples=60, deadline=None)
@given(
    max_growth=st.floats(0, 1),
    amounts=st.lists(st.floats(1, 1e7), min_size=1, max_size=3),
    liquidity=st.floats(0, 0.9),
    offset_days=st.integers(-2000, 20000),
)
def test_glide_targets_are_long_only_and_sum_to_one(max_growth, amounts, liquidity, offset_days):
    goals = tuple(
        Goal(f"g{i}", GoalKind.CUSTOM, date(2040, 1, 1), a, liquidity, 10.0 + i, 0.25)
        for i, a in enumerate(amounts)
    )
    glide = GlidePathAllocation(
        {"VTI": 0.7, "VXUS": 0.3}, {"BND": 0.8, "CASH": 0.2}, max_growth, goals
    )
    day = date.fromordinal(date(2040, 1, 1).toordinal() - offset_days)
    targets = glide.targets_on(None, day)  # type: ignore[arg-type]
    assert all(w >= 0 for w in targets.values())
    assert sum(targets.values()) == pytest.approx(1.0)
    assert 0 <= glide.growth_share(day) <= max_growth + 1e-12
