"""The concentration guard: limits per asset and group, effective number of assets."""

from __future__ import annotations

import pytest

from poise.risk import Limit, RiskRules, check_concentration, effective_assets, group_weights


def test_effective_assets_by_hand():
    assert effective_assets({"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}) == pytest.approx(4.0)
    # 0.5/0.3/0.2 → 1 / (0.25 + 0.09 + 0.04)
    assert effective_assets({"A": 0.5, "B": 0.3, "C": 0.2}) == pytest.approx(1 / 0.38)
    # cash is left out and the rest renormalised: 0.4/0.4 of 0.8 → two equal assets
    assert effective_assets({"A": 0.4, "B": 0.4, "CASH": 0.2}) == pytest.approx(2.0)
    assert effective_assets({"CASH": 1.0}) == 0.0


def test_group_weights_sum_members_and_keep_cash_apart():
    rules = RiskRules(groups={"eq": ("A", "B")})
    weights = {"A": 0.3, "B": 0.2, "C": 0.4, "CASH": 0.1}
    assert group_weights(weights, rules) == pytest.approx({"eq": 0.5, "C": 0.4, "CASH": 0.1})


def test_no_limits_no_breaches():
    assert check_concentration({"A": 1.0}, RiskRules()) == ()


def test_each_limit_reports_its_breach():
    rules = RiskRules(
        groups={"eq": ("A", "B")},
        max_asset_weight=0.35,
        max_group_weight=0.6,
        min_effective_assets=3.0,
    )
    weights = {"A": 0.4, "B": 0.3, "C": 0.1, "CASH": 0.2}
    breaches = check_concentration(weights, rules, what="targets")
    assert [(b.limit, b.name) for b in breaches] == [
        (Limit.ASSET, "A"),
        (Limit.GROUP, "eq"),
        (Limit.EFFECTIVE, "household"),
    ]
    asset, group, eff = breaches
    assert (asset.value, asset.bound) == (0.4, 0.35)
    assert group.value == pytest.approx(0.7)
    # 0.4/0.3/0.1 of 0.8 → 0.5/0.375/0.125: 1/(0.25+0.140625+0.015625)
    assert eff.value == pytest.approx(1 / 0.40625)
    assert str(asset).startswith("targets: A is 40.0% of the household")


def test_cash_is_exempt_and_limits_are_inclusive():
    rules = RiskRules(max_asset_weight=0.5, max_group_weight=0.5)
    assert check_concentration({"A": 0.5, "CASH": 0.5}, rules) == ()
