"""``poise stress``: the door's JSON, its sections, and bad input (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poise.data import load_dataset
from poise.io import read_household
from poise.risk import CRISES, replay
from tests.conftest import EXAMPLES, run_cli, write

HOUSEHOLD = """
name = "Stress test"

[[accounts]]
id = "brokerage"
kind = "taxable"

[targets]
KO = 0.3
JNJ = 0.3
XOM = 0.3
CASH = 0.1

[policy]
kind = "threshold"
absolute = 0.05

[risk]
max_asset_weight = 0.25

[risk.groups]
staples = ["KO", "JNJ"]
"""

FAST = ["--paths", "300", "--years", "5", "--no-crises"]


@pytest.fixture
def household(tmp_path: Path) -> Path:
    return write(tmp_path, "hh.toml", HOUSEHOLD)


def stress(*args: object) -> dict:
    result = run_cli(["stress", *args, "--json"])
    assert result.code == 0, result.stderr
    return result.json()


def test_json_sections_and_contract(household: Path):
    out = stress(household, "--prices", "sp500", "--as-of", "2021-06-30", *FAST)
    assert out["as_of"] == "2021-06-30"
    assert out["value"] == pytest.approx(100_000.0)
    assert out["weights"] == pytest.approx({"KO": 0.3, "JNJ": 0.3, "XOM": 0.3, "CASH": 0.1})
    assert out["crises"] == []
    assert out["shocks"] == []
    assert out["overlay"] is None
    assert out["concentration"] == [
        "targets: KO is 30.0% of the household, above max_asset_weight 25.0%",
        "targets: JNJ is 30.0% of the household, above max_asset_weight 25.0%",
        "targets: XOM is 30.0% of the household, above max_asset_weight 25.0%",
        "holdings: KO is 30.0% of the household, above max_asset_weight 25.0%",
        "holdings: JNJ is 30.0% of the household, above max_asset_weight 25.0%",
        "holdings: XOM is 30.0% of the household, above max_asset_weight 25.0%",
    ]
    mc = out["monte_carlo"]
    assert mc["paths"] == 300
    assert mc["start"] == "2021-06-30"
    assert mc["history"] == ["1990-01-02", "2021-06-30"]  # nothing after the as-of day
    assert {v["months"] for v in mc["var"]} == {12, 60}
    assert mc["terminal_value"]["p5"] <= mc["terminal_value"]["p50"] <= mc["terminal_value"]["p95"]


def test_seed_reproduces_and_changes_the_paths(household: Path):
    a = stress(household, "--prices", "sp500", *FAST, "--seed", "3")
    b = stress(household, "--prices", "sp500", *FAST, "--seed", "3")
    c = stress(household, "--prices", "sp500", *FAST, "--seed", "4")
    assert a["monte_carlo"] == b["monte_carlo"]
    assert a["monte_carlo"]["terminal_value"] != c["monte_carlo"]["terminal_value"]


def test_goal_contribution_and_levels(household: Path):
    out = stress(
        household,
        "--prices",
        "sp500",
        *FAST,
        "--contribution",
        "500",
        "--goal",
        "150k@2025-12-31",
        "--goal",
        "1,000,000@2027-12-28",
        "--level",
        "0.9",
    )
    mc = out["monte_carlo"]
    assert mc["monthly_contribution"] == 500
    assert mc["total_invested"] == pytest.approx(100_000 + 500 * 60)
    assert [g["amount"] for g in mc["goals"]] == [150_000.0, 1_000_000.0]
    assert all(0 <= g["probability"] <= g["probability_touched"] <= 1 for g in mc["goals"])
    assert [v["level"] for v in mc["var"]] == [0.9, 0.9]


def test_shocks_on_holdings_by_hand(tmp_path: Path, household: Path):
    holdings = write(
        tmp_path,
        "holdings.csv",
        "account,symbol,quantity,cost_basis,acquired\n"
        "brokerage,KO,100,4000,2019-01-02\n"
        "brokerage,JNJ,50,6000,2019-01-02\n"
        "brokerage,CASH,1000,,\n",
    )
    prices = load_dataset("sp500").loc["2021-06-30"]
    ko, jnj, xom = prices["KO"], prices["JNJ"], prices["XOM"]
    out = stress(
        household,
        "--prices",
        "sp500",
        "--holdings",
        holdings,
        "--as-of",
        "2021-06-30",
        "--shock",
        "staples=-0.2,KO=-0.5",
        "--no-montecarlo",
        "--no-crises",
    )
    before = 100 * ko + 50 * jnj + 1000
    after = 100 * ko * 0.5 + 50 * jnj * 0.8 + 1000
    assert out["value"] == pytest.approx(before)
    (shock,) = out["shocks"]
    assert shock["value_before"] == pytest.approx(before)
    assert shock["value_after"] == pytest.approx(after)
    assert shock["change"] == pytest.approx(after / before - 1)
    assert shock["groups"] == pytest.approx(
        {"staples": -(100 * ko * 0.5 + 50 * jnj * 0.2), "CASH": 0.0}
    )
    assert shock["triggered"]  # no XOM held: the rule buys it at the shocked prices
    buys = {t["symbol"]: t for t in shock["trades"] if t["side"] == "buy"}
    assert buys["XOM"]["price"] == pytest.approx(xom)
    assert buys["KO"]["price"] == pytest.approx(ko * 0.5)
    assert out["monte_carlo"] is None


def test_crisis_window_matches_the_replay(household: Path):
    out = stress(household, "--prices", "sp500", "--window", "covid", "--no-montecarlo")
    (crisis,) = out["crises"]
    expected = replay(read_household(household), load_dataset("sp500"), CRISES["covid"])
    assert crisis["name"] == "covid"
    assert crisis["with_rule"]["loss"] == pytest.approx(expected.rule.loss)
    assert crisis["buy_and_hold"]["max_drawdown"] == pytest.approx(
        expected.buy_and_hold.max_drawdown
    )


def test_default_windows_are_those_the_prices_cover(tmp_path: Path):
    hh = write(
        tmp_path,
        "factors.toml",
        '[[accounts]]\nid = "a"\nkind = "taxable"\n[targets]\nMTUM = 0.5\nUSMV = 0.5\n',
    )
    out = stress(hh, "--prices", "factors", "--no-montecarlo")
    assert [c["name"] for c in out["crises"]] == ["covid", "2022"]
    assert [s["name"] for s in out["crises_skipped"]] == ["dotcom", "gfc"]


def test_overlay_section(tmp_path: Path):
    text = HOUSEHOLD.replace("[risk]\nmax_asset_weight = 0.25\n", "[risk]\n")
    text += '\n[risk.overlay]\nkind = "drawdown"\nlimit = 0.1\nshare = 0.5\nrebound = 0.1\n'
    hh = write(tmp_path, "overlay.toml", text)
    args = ["--prices", "sp500", "--no-montecarlo", "--no-crises"]
    out = stress(hh, *args)
    overlay = out["overlay"]
    assert overlay["kind"] == "drawdown"
    assert overlay["switches"]
    assert overlay["drawdown_saved"] == pytest.approx(
        overlay["with_overlay"]["max_drawdown"] - overlay["without"]["max_drawdown"]
    )
    assert stress(hh, *args, "--no-overlay")["overlay"] is None


def test_report_is_written(tmp_path: Path, household: Path):
    path = tmp_path / "stress.html"
    out = stress(household, "--prices", "sp500", *FAST, "--shock", "*=-0.3", "--report", path)
    assert out["report"] == str(path.resolve())
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "Monte Carlo" in text
    assert "Hypothetical shocks" in text
    assert text.count("plotly.js v") == 1  # plotly embedded once: works offline


def test_terminal_output(household: Path):
    result = run_cli(["stress", household, "--prices", "sp500", *FAST, "--shock", "*=-0.1"])
    assert result.code == 0, result.stderr
    assert "Monte Carlo" in result.stdout
    assert "Hypothetical shocks" in result.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--shock", "bonds=-0.1"], "neither a held or targeted symbol"),
        (["--shock", "KO=-2"], "above -1"),
        (["--goal", "lots@2030-01-01"], "AMOUNT@DATE"),
        (["--goal", "1000@2030-13-01"], "ISO date"),
        (["--goal", "1000@2090-01-01"], "raise --years"),
        (["--window", "crash"], "unknown window"),
        (["--window", "1985-01-01:1986-01-01"], "cannot replay"),
        (["--level", "95"], "between 0 and 1"),
        (["--paths", "0"], "--paths"),
        (["--block", "400"], "shorter --block"),
        (["--report", "out.txt"], "HTML"),
        (["--as-of", "2021-07-04"], "no prices on 2021-07-04"),
        (["--initial", "-5"], "positive"),
    ],
)
def test_bad_input_exits_2(household: Path, args: list[str], text: str):
    result = run_cli(
        ["stress", household, "--prices", "sp500", "--paths", "50", "--years", "5", *args]
    )
    assert result.code == 2, result.stdout
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_example_household_and_holdings():
    out = stress(
        EXAMPLES / "household.toml",
        "--prices",
        "sp500",
        "--holdings",
        EXAMPLES / "holdings.csv",
        *FAST,
    )
    assert out["value"] > 0
    assert abs(sum(out["weights"].values()) - 1) < 1e-9
    # RRC is not in the example: the data checks only look at the household's symbols
    assert all(w["symbol"] != "RRC" for w in out["data_quality"])


def test_allocation_model_targets_are_fitted_on_the_as_of_day(tmp_path: Path):
    from datetime import date

    from poise.allocate import resolve_targets

    text = (
        '[[accounts]]\nid = "brokerage"\nkind = "taxable"\n\n[allocation]\n'
        'model = "min_variance"\nsymbols = ["JNJ", "KO", "PG"]\nlookback_days = 252\n'
    )
    hh = write(tmp_path, "model.toml", text)
    out = stress(hh, "--prices", "sp500", "--as-of", "2019-06-28", *FAST)
    fitted = resolve_targets(read_household(hh), load_dataset("sp500"), date(2019, 6, 28))
    assert {k: v for k, v in out["weights"].items() if v} == pytest.approx(
        {k: v for k, v in fitted.items() if v}
    )
