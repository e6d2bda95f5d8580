"""The concentration guard inside the plan: warnings, or a refusal, as [risk] says."""

from __future__ import annotations

from datetime import date

import pytest

from poise import InputError
from poise.model import Holdings, Lot
from poise.plan import plan_rebalance
from poise.policy import NeverPolicy, ThresholdPolicy
from poise.risk import BreachAction, RiskRules
from tests.conftest import EXAMPLES, make_household, run_cli, write

DAY = date(2024, 6, 3)
PRICES = {"A": 10.0, "B": 20.0, "C": 5.0}


def holdings(a: float, b: float, c: float) -> Holdings:
    lots = tuple(
        Lot("brokerage", s, q, q * PRICES[s], date(2020, 1, 2))
        for s, q in (("A", a), ("B", b), ("C", c))
        if q
    )
    return Holdings(lots, {"brokerage": 0.0})


def test_no_risk_table_no_guard():
    hh = make_household({"A": 0.9, "B": 0.1})
    plan = plan_rebalance(hh, holdings(90, 5, 0), PRICES, DAY)
    assert plan.warnings == ()


def test_breaching_targets_warn_by_default():
    rules = RiskRules(groups={"eq": ("A", "B")}, max_asset_weight=0.4, max_group_weight=0.7)
    hh = make_household({"A": 0.5, "B": 0.3, "C": 0.2}, risk=rules)
    plan = plan_rebalance(hh, holdings(50, 15, 40), PRICES, DAY)
    assert list(plan.warnings) == [
        "targets: A is 50.0% of the household, above max_asset_weight 40.0%",
        "targets: group eq is 80.0% of the household, above max_group_weight 70.0%",
    ]


def test_breaching_targets_are_refused_when_configured():
    rules = RiskRules(max_asset_weight=0.4, on_breach=BreachAction.REFUSE)
    hh = make_household({"A": 0.5, "B": 0.5}, risk=rules, source="hh.toml")
    with pytest.raises(InputError) as info:
        plan_rebalance(hh, holdings(50, 25, 0), PRICES, DAY)
    message = str(info.value)
    assert message.startswith("hh.toml: risk.max_asset_weight: targets: A is 50.0%")
    assert "change the targets or the limit" in message


def test_holdings_left_in_breach_are_reported_even_when_refusing():
    rules = RiskRules(max_asset_weight=0.5, min_effective_assets=2.5, on_breach=BreachAction.REFUSE)
    hh = make_household({"A": 0.34, "B": 0.33, "C": 0.33}, policy=NeverPolicy(), risk=rules)
    # A is 80% and buy-and-hold does not trade it down
    plan = plan_rebalance(hh, holdings(80, 5, 20), PRICES, DAY)
    assert plan.trades == ()
    assert plan.warnings[0] == (
        "after the plan: A is 80.0% of the household, above max_asset_weight 50.0%"
    )
    assert "effective number of assets is 1.52" in plan.warnings[1]


def test_a_rebalance_that_fixes_the_breach_leaves_no_warning():
    rules = RiskRules(max_asset_weight=0.5)
    hh = make_household({"A": 0.34, "B": 0.33, "C": 0.33}, policy=ThresholdPolicy(0.05), risk=rules)
    plan = plan_rebalance(hh, holdings(80, 5, 20), PRICES, DAY)
    assert plan.triggered
    assert plan.warnings == ()


def test_rebalance_door_refuses_with_exit_2(tmp_path):
    text = (EXAMPLES / "household.toml").read_text()
    household = write(
        tmp_path,
        "hh.toml",
        text + '\n[risk]\nmax_asset_weight = 0.10\non_breach = "refuse"\n',
    )
    result = run_cli(
        [
            "rebalance",
            household,
            "--holdings",
            EXAMPLES / "holdings.csv",
            "--prices",
            "sp500",
            "--json",
        ]
    )
    assert result.code == 2
    assert "risk.max_asset_weight" in result.stderr
    assert "AAPL is 13.0%" in result.stderr
    assert "Traceback" not in result.stderr
