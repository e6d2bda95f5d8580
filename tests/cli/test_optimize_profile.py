"""``poise profile``: questionnaire from a file or the terminal, and the goal glide path."""

from __future__ import annotations

import io
import sys

import pytest

from tests.conftest import run_cli

ANSWERS = """[risk_profile]
horizon = "11_to_20_years"
drop_reaction = "sell_some"
max_loss = "loss_10"
income_stability = "stable"
emergency_fund = "3_to_6_months"
experience = "some"
objective = "balanced"
"""
# points 3 + 1 + 1 + 2 + 2 + 1 + 2 = 12 of 25 → 48 → moderate (60% growth)


def test_answers_file(tmp_path):
    path = tmp_path / "answers.toml"
    path.write_text(ANSWERS)
    result = run_cli(["profile", "--answers", path, "--json"])
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["score"] == 48.0
    assert out["band"] == "moderate"
    assert out["growth_share"] == 0.6
    assert out["answers"]["max_loss"] == "loss_10"


def test_interactive_questionnaire_and_save(tmp_path, monkeypatch):
    # choice numbers for the same answers as ANSWERS, with one out-of-range retry
    monkeypatch.setattr(sys, "stdin", io.StringIO("4\n2\n9\n2\n3\n3\n2\n3\n"))
    saved = tmp_path / "saved.toml"
    result = run_cli(["profile", "--save", saved])
    assert result.code == 0, result.stderr
    assert "Risk score 48 / 100: moderate → 60% growth, 40% defensive" in result.stdout
    assert saved.read_text() == ANSWERS


def test_interactive_needs_every_answer(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("4\n"))
    result = run_cli(["profile"])
    assert result.code == 2
    assert "questionnaire was not completed" in result.stderr


def test_household_goals_glide_path(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text(
        """
name = "t"
[[accounts]]
id = "b"
kind = "taxable"
[targets]
VTI = 1.0
[risk_profile]
score = 90
[[goals]]
name = "College"
kind = "education"
date = 2030-09-01
target_amount = 80000
"""
    )
    result = run_cli(["profile", "--household", path, "--as-of", "2018-09-01", "--json"])
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["growth_share"] == 0.9
    path_points = {p["date"]: p["growth_share"] for p in out["glide_path"]}
    assert path_points["2018-09-01"] == 0.9  # 12 years out, glide starts at 10
    # 2025-09-01 is 1826 days (one leap day, 2028) before the goal: 0.09 + 0.81 × 4.9993/10
    assert path_points["2025-09-01"] == pytest.approx(0.09 + 0.81 * 1826 / 365.25 / 10)
    assert path_points["2030-09-01"] == pytest.approx(0.09)
    assert out["goals"][0]["kind"] == "education"


def test_bad_answers_exit_2(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('[risk_profile]\nhorizon = "tomorrow"\n')
    result = run_cli(["profile", "--answers", path])
    assert result.code == 2
    assert "risk_profile.horizon: 'tomorrow' is not an answer" in result.stderr
    result = run_cli(["profile", "--json"])
    assert result.code == 2
    assert "--answers" in result.stderr
