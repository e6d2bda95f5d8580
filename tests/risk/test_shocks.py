"""Hypothetical shocks on a household's holdings, checked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from poise import InputError
from poise.model import Holdings, Lot
from poise.policy import NeverPolicy, ThresholdPolicy
from poise.risk import (
    RiskRules,
    apply_shock,
    holdings_at_target,
    parse_shock,
    resolve_shock,
)
from tests.conftest import make_household

DAY = date(2024, 6, 3)
PRICES = {"VTI": 200.0, "VXUS": 50.0, "BND": 80.0}
GROUPS = RiskRules(groups={"equities": ("VTI", "VXUS"), "bonds": ("BND",)})


def test_parse_shock_fractions_percent_and_signs():
    assert parse_shock("equities=-0.30, bonds=+0.05") == {"equities": -0.30, "bonds": 0.05}
    assert parse_shock("AAPL=-25%,*=-10%") == {"AAPL": -0.25, "*": -0.10}


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("equities", "NAME=RETURN"),
        ("equities=abc", "not a number"),
        ("equities=-1", "above -1"),
        ("equities=-150%", "above -1"),
        ("a=0.1,a=0.2", "twice"),
        ("", "empty shock"),
    ],
)
def test_parse_shock_rejects(spec: str, text: str):
    with pytest.raises(InputError, match=text):
        parse_shock(spec)


def test_resolve_symbol_beats_group_beats_star():
    shock = {"equities": -0.3, "VXUS": -0.5, "*": -0.1}
    moves = resolve_shock(shock, ["VTI", "VXUS", "BND", "GLD", "CASH"], GROUPS)
    assert moves == {"VTI": -0.3, "VXUS": -0.5, "BND": -0.1, "GLD": -0.1, "CASH": 0.0}


def test_resolve_unknown_key_names_the_choices():
    with pytest.raises(InputError, match="neither a held or targeted symbol") as info:
        resolve_shock({"stocks": -0.3}, ["VTI", "BND"], GROUPS)
    assert "bonds, equities" in str(info.value)


def holdings() -> Holdings:
    lots = (
        Lot("brokerage", "VTI", 300, 45_000.0, date(2020, 1, 2)),  # 60,000
        Lot("brokerage", "VXUS", 200, 9_000.0, date(2020, 1, 2)),  # 10,000
        Lot("ira", "BND", 312.5, 25_000.0, date(2020, 1, 2)),  # 25,000
    )
    return Holdings(lots, {"brokerage": 3_000.0, "ira": 2_000.0})


def household(policy=None):
    from poise.model import AccountKind

    return make_household(
        {"VTI": 0.5, "VXUS": 0.15, "BND": 0.3, "CASH": 0.05},
        accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        policy=policy or ThresholdPolicy(0.05),
        risk=GROUPS,
    )


def test_group_shock_loss_by_hand():
    result = apply_shock(
        household(NeverPolicy()), holdings(), PRICES, parse_shock("equities=-0.3,bonds=+0.05"), DAY
    )
    # before: 60,000 + 10,000 + 25,000 + 5,000 cash = 100,000
    # after: 42,000 + 7,000 + 26,250 + 5,000 = 80,250
    assert result.value_before == pytest.approx(100_000.0)
    assert result.value_after == pytest.approx(80_250.0)
    assert result.change_value == pytest.approx(-19_750.0)
    assert result.change == pytest.approx(-0.1975)
    assert result.group_change_value == pytest.approx(
        {"equities": -21_000.0, "bonds": 1_250.0, "CASH": 0.0}
    )
    assert result.weights_after["VTI"] == pytest.approx(42_000 / 80_250)
    assert not result.plan.triggered  # buy and hold never rebalances
    assert result.plan.trades == ()


def test_after_the_shock_the_rule_plans_trades_at_shocked_prices():
    result = apply_shock(household(), holdings(), PRICES, {"VTI": -0.4}, DAY)
    # VTI 36,000 of 76,000 = 47.4% (target 50%); BND 25,000/76,000 = 32.9% (30%): inside 5pp.
    # VXUS 10,000/76,000 = 13.2%, CASH 6.6% → no breach.
    assert not result.plan.triggered
    big = apply_shock(household(), holdings(), PRICES, {"VTI": -0.6}, DAY)
    # VTI 24,000 of 64,000 = 37.5% vs 50%: breach → rebalance, buys VTI at the shocked price
    assert big.plan.triggered
    buys = [t for t in big.plan.trades if t.symbol == "VTI"]
    assert buys
    assert all(t.price == pytest.approx(80.0) for t in buys)
    assert big.plan.weights_after["VTI"] == pytest.approx(0.5, abs=0.01)


def test_shocking_cash_is_refused():
    with pytest.raises(InputError, match="cash cannot be shocked"):
        apply_shock(household(), holdings(), PRICES, {"CASH": -0.1}, DAY)


def test_holdings_at_target_are_at_target():
    hh = household()
    h = holdings_at_target(hh, PRICES, 250_000.0, DAY)
    assert h.value(PRICES) == pytest.approx(250_000.0)
    assert h.weights(PRICES) == pytest.approx(dict(hh.targets))
