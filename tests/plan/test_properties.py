"""Invariants of every plan, checked on random households (hypothesis)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from poise.model import AccountKind, Holdings, Lot, LotMethod, Side, TaxRules, TradingRules
from poise.plan import CashFlow, _engine, plan_rebalance
from poise.policy import CashFlowPolicy, RebalanceTo, ThresholdPolicy
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
KINDS = list(AccountKind)


@st.composite
def households(draw, single_account=False, costs=True, fractional=None):
    n_acc = 1 if single_account else draw(st.integers(1, 3))
    accounts = [(f"acc{i}", draw(st.sampled_from(KINDS))) for i in range(n_acc)]
    syms = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=5, unique=True))
    raw = draw(st.lists(st.floats(0.05, 1.0), min_size=len(syms), max_size=len(syms)))
    weights = np.array(raw) / sum(raw)
    targets = dict(zip(syms, weights.tolist(), strict=True))
    held_syms = draw(st.lists(st.sampled_from(SYMBOLS), max_size=5, unique=True))
    prices = {s: draw(st.floats(1.0, 500.0)) for s in SYMBOLS}
    lots = []
    for acc, _ in accounts:
        for s in held_syms:
            for _ in range(draw(st.integers(0, 3))):
                q = draw(st.floats(0.5, 300.0))
                basis = q * prices[s] * draw(st.floats(0.3, 1.8))
                acquired = AS_OF - timedelta(days=draw(st.integers(1, 2000)))
                lots.append(Lot(acc, s, q, basis, acquired))
    cash = {acc: draw(st.floats(0.0, 20000.0)) for acc, _ in accounts}
    if not lots and sum(cash.values()) < 1:
        cash[accounts[0][0]] = 5000.0
    is_fractional = draw(st.booleans()) if fractional is None else fractional
    rules = TradingRules(
        fractional=is_fractional,
        min_trade_value=draw(st.sampled_from([0.0, 50.0])) if costs else 0.0,
        cash_reserve=draw(st.sampled_from([0.0, 100.0])) if costs else 0.0,
        commission=draw(st.sampled_from([0.0, 1.0])) if costs else 0.0,
        spread_bps=draw(st.sampled_from([0.0, 5.0, 25.0])) if costs else 0.0,
    )
    hh = make_household(
        targets,
        accounts=accounts,
        trading=rules,
        tax=TaxRules(lot_method=draw(st.sampled_from(list(LotMethod)))),
    )
    return hh, Holdings(tuple(lots), cash), prices


def _check_common(plan, holdings, prices, flows):
    after = plan.holdings_after
    assert all(lot.quantity > 0 for lot in after.lots)
    before_q = holdings.quantities()
    for t in plan.trades:
        assert t.quantity > 0
        if t.side is Side.SELL:
            assert t.quantity <= before_q.get((t.account, t.symbol), 0.0) + 1e-9
    net_flow = sum(f.amount for f in flows)
    expected = holdings.value(prices) + net_flow - plan.total_cost
    assert after.value(prices) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    if not plan.warnings:
        assert sum(plan.weights_after.values()) == pytest.approx(1.0)
        for account, amount in after.cash.items():
            assert amount >= -1e-6, (account, amount)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households(), st.booleans())
def test_forced_plans_keep_cash_nonnegative_and_conserve_value(case, band):
    hh, holdings, prices = case
    if band:
        hh = replace(hh, policy=ThresholdPolicy(0.02, rebalance_to=RebalanceTo.BAND))
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=not band)
    _check_common(plan, holdings, prices, [])
    # buys never take an account below its reserve (unless it started below it)
    for acc in hh.account_ids:
        if any(t.side is Side.BUY and t.account == acc for t in plan.trades):
            floor = min(holdings.cash[acc], hh.trading.cash_reserve)
            assert plan.holdings_after.cash[acc] >= floor - 1e-6


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households(), st.floats(1.0, 20000.0), st.booleans(), st.booleans())
def test_cash_flows_conserve_value(case, amount, deposit, cash_flow_policy):
    hh, holdings, prices = case
    if cash_flow_policy:
        hh = replace(hh, policy=CashFlowPolicy())
    account = hh.account_ids[-1]
    if not deposit:
        amount = min(amount, 0.9 * holdings.value(prices))
    flows = [CashFlow(account, amount if deposit else -amount)]
    plan = plan_rebalance(hh, holdings, prices, AS_OF, flows=flows)
    _check_common(plan, holdings, prices, flows)
    if cash_flow_policy:
        # cash-flow only: a deposit never sells; a withdrawal sells only in its own account
        sells = [t for t in plan.trades if t.side is Side.SELL]
        assert not sells if deposit else all(t.account == account for t in sells)


@contextmanager
def topup_rule(rule: str) -> Iterator[None]:
    before = _engine.TOPUP_RULE
    _engine.TOPUP_RULE = rule
    try:
        yield
    finally:
        _engine.TOPUP_RULE = before


def _cash_only(targets, cash, prices, lots=()):
    hh = make_household(
        targets, accounts=[("acc0", AccountKind.TAXABLE)], trading=TradingRules(fractional=False)
    )
    return hh, Holdings(tuple(lots), {"acc0": cash}), prices


_FIVE = dict.fromkeys(SYMBOLS, 0.2)
# Found by hypothesis (the greedy "marginal" top-up fails them): 5,000 in cash, one asset
# 87 a share stuck 43 below its goal, the 43 spread one share at a time. The greedy buys the
# 3 (or 2) a share asset first (each share lowers the error most) and the 1 a share ones
# after, which spend the cash that justified the first: at the end CCC is 17 over (5.7
# shares) with 7 in cash, and one CCC share fewer lowers the error (17² + 7² > 14² + 10²).
CHEAP_AFTER_DEAR = _cash_only(
    _FIVE, 5000.0, {**dict.fromkeys(SYMBOLS, 1.0), "CCC": 3.0, "EEE": 87.0}
)
TWO_AFTER_ONE = _cash_only(_FIVE, 5000.0, {**dict.fromkeys(SYMBOLS, 1.0), "DDD": 2.0, "EEE": 87.0})
# AAA bought 16.125 a share while 97.5 was idle, then CCC at 1 a share drains the cash.
DEAR_FIRST = _cash_only(
    {"AAA": 0.32867132867132864, "BBB": 0.22377622377622378, "CCC": 0.44755244755244755},
    0.0,
    {"AAA": 16.125, "BBB": 115.0, "CCC": 1.0, "DDD": 2.34375, "EEE": 1.0},
    [Lot("acc0", "DDD", 200.0, 468.75, date(2024, 6, 2))],
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households(single_account=True, costs=False, fractional=False))
@example(case=CHEAP_AFTER_DEAR)
@example(case=TWO_AFTER_ONE)
@example(case=DEAR_FIRST)
def test_whole_share_plans_land_within_one_share_of_target(case):
    hh, holdings, prices = case
    with topup_rule("local"):  # "marginal" (the default, as the kernel) fails the examples
        plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    # Each asset ends within one share of its target value, unless it is short by more and
    # the cash left cannot buy one more share of it (whole shares cannot always fit).
    total = holdings.value(prices)
    after = plan.holdings_after.symbol_quantities()
    cash_left = plan.holdings_after.total_cash
    # Above its target an asset may end more than one share over only when that share
    # lowered the tracking error, cash included (issue 10, kind 6): e.g. price 1, the asset
    # 0.33 over and the cash 2 over: 0.33² + 2² = 4.11 before, 1.33² + 1² = 2.77 after; and
    # it keeps that share only while one share fewer would not lower the error (e ≤ c + p,
    # the "local" top-up): so the overshoot beyond one share is bounded by the cash left.
    cash_goal = hh.targets.get("CASH", 0.0) * total
    for sym, weight in hh.targets.items():
        if sym == "CASH":
            continue
        value = after.get(sym, 0.0) * prices[sym]
        if weight * total - value > prices[sym] + 1e-6:
            assert cash_left < prices[sym], sym
        else:
            over = value - weight * total
            assert over >= -prices[sym] - 1e-6, sym
            assert over <= prices[sym] + max(0.0, cash_left - cash_goal) + prices[sym] + 1e-6, sym


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households(fractional=False))
def test_local_top_up_keeps_the_money_and_the_order_rules(case):
    # one share fewer gives its cash back (cost included, the commission when the buy goes)
    hh, holdings, prices = case
    with topup_rule("local"):
        plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    _check_common(plan, holdings, prices, [])
    floor = max(hh.trading.min_trade_value, 0.01)
    for t in plan.trades:
        if t.side is Side.BUY:
            assert t.quantity == int(t.quantity) >= 1
            assert t.value >= floor - 1e-9
            assert t.cost == pytest.approx(hh.trading.cost(t.value), abs=1e-12)


def _squared_error(shares, prices, goals, cash, cash_goal):
    return sum((shares[s] * prices[s] - goals[s]) ** 2 for s in goals) + (cash - cash_goal) ** 2


@pytest.mark.parametrize("case", [CHEAP_AFTER_DEAR, TWO_AFTER_ONE, DEAR_FIRST])
def test_local_top_up_leaves_no_better_plan_one_share_away(case):
    hh, holdings, prices = case
    with topup_rule("marginal"):
        greedy = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    with topup_rule("local"):
        plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    total = holdings.value(prices)
    # the plan may buy what is targeted or held, nothing else
    goals = {s: hh.targets.get(s, 0.0) * total for s in [*hh.targets, *holdings.symbols]}

    def error_and_neighbours(p):
        shares = {s: p.holdings_after.symbol_quantities().get(s, 0.0) for s in goals}
        cash = p.holdings_after.total_cash
        bought = {t.symbol for t in p.trades if t.side is Side.BUY}
        here = _squared_error(shares, prices, goals, cash, 0.0)
        near = []
        for s in goals:  # one more share (if the cash covers it), one fewer of a buy
            if cash >= prices[s]:
                near.append(
                    _squared_error(
                        {**shares, s: shares[s] + 1}, prices, goals, cash - prices[s], 0.0
                    )
                )
            if s in bought:
                near.append(
                    _squared_error(
                        {**shares, s: shares[s] - 1}, prices, goals, cash + prices[s], 0.0
                    )
                )
        return here, near

    greedy_error, greedy_near = error_and_neighbours(greedy)
    assert min(greedy_near) < greedy_error - 1e-6  # the greedy stops one share from better
    error, near = error_and_neighbours(plan)
    assert min(near) >= error - 1e-6
    assert error < greedy_error
    assert plan.holdings_after.value(prices) == pytest.approx(total)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households(costs=False, fractional=True))
def test_fractional_to_target_without_costs_is_exact(case):
    hh, holdings, prices = case
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    # Exact up to the noise floor (issue 10, kind 1): no order below one cent, so each
    # account (and each symbol in it) may keep up to a cent off target.
    total = holdings.value(prices)
    dust = 0.01 * len(hh.accounts) * (len(hh.targets) + 1) / total
    for sym, weight in hh.targets.items():
        assert plan.weights_after[sym] == pytest.approx(weight, abs=1e-9 + dust)
