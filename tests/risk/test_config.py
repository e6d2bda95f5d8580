"""The ``[risk]`` table: parsed into RiskRules, anything unknown or out of range refused."""

from __future__ import annotations

from typing import Any

import pytest

from poise import InputError
from poise.io import household_from_dict
from poise.risk import BreachAction, OverlayKind, RiskRules, risk_rules

BASE: dict[str, Any] = {
    "accounts": [{"id": "brokerage", "kind": "taxable"}],
    "targets": {"VTI": 0.5, "VXUS": 0.2, "BND": 0.3},
}


def household(risk: Any) -> Any:
    return household_from_dict({**BASE, "risk": risk}, source="hh.toml")


def test_no_risk_table_means_no_limits_and_one_group_per_symbol():
    hh = household_from_dict(BASE, source="hh.toml")
    assert hh.risk is None
    rules = risk_rules(hh)
    assert rules == RiskRules()
    assert not rules.has_limits
    assert rules.group_of("VTI") == "VTI"


def test_full_table_is_parsed():
    hh = household(
        {
            "max_asset_weight": 0.4,
            "max_group_weight": 0.8,
            "min_effective_assets": 2.5,
            "on_breach": "refuse",
            "groups": {"equities": ["VTI", "VXUS"], "bonds": ["BND"]},
            "overlay": {"kind": "cppi", "multiplier": 4, "floor": 0.75, "safe": "bnd"},
        }
    )
    rules = risk_rules(hh)
    assert rules.max_asset_weight == 0.4
    assert rules.max_group_weight == 0.8
    assert rules.min_effective_assets == 2.5
    assert rules.on_breach is BreachAction.REFUSE
    assert rules.group_of("VXUS") == "equities"
    assert rules.group_of("GLD") == "GLD"
    assert rules.group_map(["VTI", "BND"]) == {"VTI": "equities", "BND": "bonds"}
    assert rules.overlay is not None
    assert rules.overlay.kind is OverlayKind.CPPI
    assert (rules.overlay.multiplier, rules.overlay.floor, rules.overlay.safe) == (4, 0.75, "bnd")


def test_drawdown_overlay_defaults_and_cash_spelling():
    rules = risk_rules(household({"overlay": {"limit": 0.2, "safe": "cash"}}))
    assert rules.overlay is not None
    assert rules.overlay.kind is OverlayKind.DRAWDOWN
    assert (rules.overlay.limit, rules.overlay.share, rules.overlay.safe) == (0.2, 0.5, "CASH")
    assert "20%" in rules.overlay.describe()


@pytest.mark.parametrize(
    ("risk", "field", "text"),
    [
        ({"max_weight": 0.3}, "risk.max_weight", "unknown key"),
        ({"max_asset_weight": 1.5}, "risk.max_asset_weight", "fraction"),
        ({"max_asset_weight": "30%"}, "risk.max_asset_weight", "fraction"),
        ({"max_group_weight": 0}, "risk.max_group_weight", "fraction"),
        ({"min_effective_assets": 0.5}, "risk.min_effective_assets", "at least 1"),
        ({"on_breach": "stop"}, "risk.on_breach", "warn | refuse"),
        ({"groups": ["VTI"]}, "risk.groups", "table"),
        ({"groups": {"eq": []}}, "risk.groups.eq", "non-empty"),
        ({"groups": {"eq": ["VTI"], "all": ["VTI"]}}, "risk.groups.all", "already in group"),
        ({"groups": {"eq": ["CASH"]}}, "risk.groups.eq", "CASH"),
        ({"overlay": {"kind": "stop"}}, "risk.overlay.kind", "drawdown | cppi"),
        ({"overlay": {"multiplier": 3}}, "risk.overlay.multiplier", "unknown key"),
        ({"overlay": {"kind": "cppi", "floor": 1.0}}, "risk.overlay.floor", "below 1"),
        ({"overlay": {"limit": -0.1}}, "risk.overlay.limit", "fraction"),
        ({"overlay": {"safe": ""}}, "risk.overlay.safe", "symbol"),
    ],
)
def test_bad_risk_tables_name_file_key_and_fix(risk: Any, field: str, text: str):
    with pytest.raises(InputError) as info:
        household(risk)
    message = str(info.value)
    assert message.startswith(f"hh.toml: {field}: ")
    assert text in message


def test_risk_table_must_be_a_table():
    with pytest.raises(InputError, match="must be a table"):
        household(3)
