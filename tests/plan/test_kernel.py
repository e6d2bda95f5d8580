"""The plan's array kernel against the engine's general path (hypothesis), and its doors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poise._errors import InputError
from poise.model import (
    CASH,
    AccountKind,
    Holdings,
    Lot,
    LotMethod,
    Plan,
    PlanMethod,
    Reason,
    ReasonKind,
    Side,
    TaxRules,
    TradingRules,
)
from poise.plan import CashFlow, _engine, plan_rebalance
from poise.plan._kernel import (
    kernel_eligible,
    kernel_serves,
    plan_kernel,
    reason_texts,
)
from poise.policy import (
    CalendarPolicy,
    CashFlowPolicy,
    Decision,
    NeverPolicy,
    RebalanceTo,
    ThresholdPolicy,
)
from poise.report import plan_to_dict
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
POLICIES = [
    ThresholdPolicy(0.02),
    ThresholdPolicy(0.03, 0.2, RebalanceTo.BAND),
    ThresholdPolicy(None, 0.1, RebalanceTo.BAND),
    CalendarPolicy(),
    CashFlowPolicy(),
    NeverPolicy(),
]


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    """A random eligible household, its holdings and prices, today's flows and whether the
    rebalance is forced."""
    kind = draw(st.sampled_from([AccountKind.TAX_DEFERRED, AccountKind.TAX_FREE]))
    syms = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=6, unique=True))
    raw = draw(st.lists(st.floats(0.0, 1.0), min_size=len(syms) + 1, max_size=len(syms) + 1))
    raw[0] += 0.05
    if not draw(st.booleans()):
        raw[-1] = 0.0  # no cash target
    weights = np.array(raw) / sum(raw)
    targets = dict(zip([*syms, CASH], weights.tolist(), strict=True))
    prices = {s: draw(st.floats(0.5, 800.0)) for s in SYMBOLS}
    held_syms = draw(st.lists(st.sampled_from(SYMBOLS), max_size=6, unique=True))
    lots = []
    for s in held_syms:  # several lots per symbol, some symbols held without a target
        for _ in range(draw(st.integers(1, 3))):
            q = draw(st.one_of(st.floats(0.001, 400.0), st.integers(1, 400).map(float)))
            basis = q * prices[s] * draw(st.floats(0.3, 1.8))
            acquired = AS_OF - timedelta(days=draw(st.integers(1, 2000)))
            lots.append(("acct", s, q, basis, acquired))
    cash = draw(st.one_of(st.just(0.0), st.floats(0.0, 50_000.0)))
    if not lots and cash < 1:
        cash = 10_000.0
    rules = TradingRules(
        fractional=draw(st.booleans()),
        min_trade_value=draw(st.sampled_from([0.0, 25.0, 500.0])),
        cash_reserve=draw(st.sampled_from([0.0, 100.0])),
        commission=draw(st.sampled_from([0.0, 1.0, 4.95])),
        spread_bps=draw(st.sampled_from([0.0, 5.0, 30.0])),
    )
    hh = make_household(
        targets,
        accounts=[("acct", kind)],
        policy=draw(st.sampled_from(POLICIES)),
        trading=rules,
        tax=TaxRules(lot_method=draw(st.sampled_from([LotMethod.FIFO, LotMethod.HIFO]))),
    )
    from poise.model import Lot

    holdings = Holdings(tuple(Lot(*lot) for lot in lots), {"acct": cash})
    total = holdings.value(prices)
    flows = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            flows.append(CashFlow("acct", draw(st.floats(1.0, 20_000.0))))
        else:  # withdrawals up to a bit more than the whole value
            share = draw(st.one_of(st.floats(0.0, 1.05), st.sampled_from([0.5, 0.98, 0.999])))
            flows.append(CashFlow("acct", -share * total - 0.01))
    return hh, holdings, prices, flows, draw(st.booleans())


@contextmanager
def general_path() -> Iterator[None]:
    """Force ``plan_rebalance``'s general path (the kernel's switch off)."""
    _engine._USE_KERNEL = False
    try:
        yield
    finally:
        _engine._USE_KERNEL = True


def both_paths(hh, holdings, prices, flows, force):  # type: ignore[no-untyped-def]
    """The plan from the kernel and from the general path (or the error both raise)."""

    def plan() -> Plan | str:
        try:
            return plan_rebalance(hh, holdings, prices, AS_OF, flows=flows, force=force)
        except InputError as error:
            return str(error)

    fast = plan()
    with general_path():
        slow = plan()
    return fast, slow


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def assert_same_plan(fast: Plan, slow: Plan) -> None:
    assert len(fast.trades) == len(slow.trades)
    for a, b in zip(fast.trades, slow.trades, strict=True):
        assert (a.account, a.symbol, a.side, a.price) == (b.account, b.symbol, b.side, b.price)
        assert close(a.quantity, b.quantity), (a, b)
        assert close(a.cost, b.cost)
        assert a.reason == b.reason
        assert a.why == b.why  # the same structured reason, kind included
        assert [(s.lot, s.quantity) for s in a.lot_sales] == [
            (s.lot, s.quantity) for s in b.lot_sales
        ]
    assert fast.holdings_after.cash.keys() == slow.holdings_after.cash.keys()
    for account, amount in fast.holdings_after.cash.items():
        assert close(amount, slow.holdings_after.cash[account])
    assert fast.weights_after.keys() == slow.weights_after.keys()
    for sym, w in fast.weights_after.items():
        assert close(w, slow.weights_after[sym])
    assert fast.holdings_after.quantities().keys() == slow.holdings_after.quantities().keys()
    for key, q in fast.holdings_after.quantities().items():
        assert close(q, slow.holdings_after.quantities()[key])
    assert (fast.triggered, fast.reasons, fast.warnings) == (
        slow.triggered,
        slow.reasons,
        slow.warnings,
    )
    assert fast.unmet_withdrawals.keys() == slow.unmet_withdrawals.keys()
    assert fast.weights_before == slow.weights_before
    assert fast.total_value == slow.total_value
    assert fast.estimated_tax == slow.estimated_tax == 0.0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_kernel_plans_exactly_as_the_general_path(case) -> None:  # type: ignore[no-untyped-def]
    hh, holdings, prices, flows, force = case
    assert kernel_serves(hh, holdings)
    fast, slow = both_paths(hh, holdings, prices, flows, force)
    if isinstance(slow, str):
        assert fast == slow
        return
    assert isinstance(fast, Plan)
    assert_same_plan(fast, slow)


def test_both_paths_are_really_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel is used for an eligible household unless the switch forces the general path.
    calls: list[int] = []
    from poise.plan import _kernel

    real = _kernel.plan_kernel

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_kernel, "plan_kernel", spy)
    hh = make_household({"AAA": 0.5, "BBB": 0.5}, accounts=[("ira", AccountKind.TAX_FREE)])
    holdings = Holdings((), {"ira": 1000.0})
    prices = {"AAA": 10.0, "BBB": 20.0}
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    assert calls == [1]
    with general_path():
        assert_same_plan(plan, plan_rebalance(hh, holdings, prices, AS_OF, force=True))
    assert calls == [1]


def test_who_the_kernel_serves() -> None:
    ira = [("ira", AccountKind.TAX_DEFERRED)]
    targets = {"AAA": 1.0}
    assert kernel_eligible(make_household(targets, accounts=ira))
    assert not kernel_eligible(make_household(targets))  # taxable
    two = [*ira, ("roth", AccountKind.TAX_FREE)]
    assert not kernel_eligible(make_household(targets, accounts=two))
    assert not kernel_eligible(make_household(targets, accounts=ira), transactions=[])
    assert not kernel_eligible(
        make_household(targets, accounts=ira, tax=TaxRules(LotMethod.TAX_MIN))
    )
    assert not kernel_eligible(
        make_household(targets, accounts=ira, plan_method=PlanMethod.OPTIMIZE)
    )
    hh = make_household(targets, accounts=ira)
    assert not kernel_serves(hh, Holdings((), {"other": 5.0}))


def test_kernel_hand_checked() -> None:
    # 2 symbols at 10 and 20, 60/40 target, 100 and 10 shares held, 200 cash, to target,
    # fractional, 10 bps spread: total 1,400 → goals 840 and 560. Sell AAA: 1,000 - 840 =
    # 160 → 16 shares, cost 0.16; cash 200 + 160 - 0.16 = 359.84, all spendable (no cash
    # target). BBB wants 560 - 200 = 360 > 359.84 / 1.001, so it is scaled down to
    # 359.84 / 1.001 = 359.4805... → 17.974025... shares.
    rules = TradingRules(spread_bps=10.0)
    out = plan_kernel(
        np.array([100.0, 10.0]),
        np.array([10.0, 20.0]),
        200.0,
        np.array([0.6, 0.4, 0.0]),
        rules,
        Decision(True, ("test",)),
    )
    assert out.n_sells == 1
    assert out.index == [0, 1]
    assert out.quantity[0] == pytest.approx(16.0)
    assert out.cost[0] == pytest.approx(0.16)
    bought = 359.84 / 1.001
    assert out.quantity[1] == pytest.approx(bought / 20.0)
    assert out.cost[1] == pytest.approx(bought * 0.001)
    assert out.cash == pytest.approx(0.0, abs=1e-9)
    assert out.held.tolist() == pytest.approx([84.0, 10.0 + bought / 20.0])
    assert [
        t.side
        for t in plan_rebalance(
            make_household({"AAA": 0.6, "BBB": 0.4}, accounts=[("ira", AccountKind.TAX_FREE)]),
            Holdings((), {"ira": 100.0}),
            {"AAA": 10.0, "BBB": 20.0},
            AS_OF,
            force=True,
        ).trades
    ] == [Side.BUY, Side.BUY]


@pytest.mark.parametrize(
    ("rules", "flows", "policy"),
    [
        # 10 shares at 100, commission 10: selling all raises 990 < 995 → unmet by 5
        (TradingRules(commission=10.0), [-995.0], NeverPolicy()),
        # whole shares, deposit: the top-up adds to the deposit's buys (merged, moved last)
        (TradingRules(fractional=False), [1_234.0], CashFlowPolicy()),
        (TradingRules(fractional=False, spread_bps=20.0), [500.0, -300.0], ThresholdPolicy(0.01)),
    ],
    ids=["unmet withdrawal", "whole-share deposit", "deposit and withdrawal"],
)
def test_kernel_hand_picked_cases(rules: TradingRules, flows: list[float], policy: object) -> None:
    hh = make_household(
        {"AAA": 0.5, "BBB": 0.3, "CCC": 0.2},
        accounts=[("ira", AccountKind.TAX_DEFERRED)],
        policy=policy,
        trading=rules,
    )
    from poise.model import Lot

    holdings = Holdings((Lot("ira", "AAA", 10.0, 900.0, date(2020, 1, 2)),), {"ira": 0.0})
    prices = {"AAA": 100.0, "BBB": 7.0, "CCC": 13.0}
    fast, slow = both_paths(hh, holdings, prices, [CashFlow("ira", a) for a in flows], False)
    assert isinstance(fast, Plan)
    assert isinstance(slow, Plan)
    assert_same_plan(fast, slow)
    if flows == [-995.0]:
        assert fast.unmet_withdrawals == pytest.approx({"ira": 5.0})
        assert fast.warnings == ("withdrawal of 995.00 from ira cannot be met: short by 5.00",)
    else:
        assert fast.trades


weight_values = st.one_of(
    st.floats(0.0, 1.0),
    st.integers(0, 2000).map(lambda k: (k + 0.5) / 1000),  # .x5 percent: rounding ties
    st.integers(0, 2000).map(lambda k: (k + 0.5) / 1000 * (1 + 1e-15)),
    st.floats(-1.0, 20.0),
    st.sampled_from([0.0, -0.0, float("nan"), float("inf"), 1e-300]),
)


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(weight_values, min_size=1, max_size=30),
    target=weight_values,
    band=st.one_of(st.none(), st.floats(0.0, 0.5), st.just(float("inf"))),
)
def test_reason_texts_word_as_reason(
    weights: list[float], target: float, band: float | None
) -> None:
    n = len(weights)
    symbols = [SYMBOLS[k % len(SYMBOLS)] for k in range(n)]
    texts = ["sell to band", "buy to target", "sell to fund the withdrawal of 1.00 from ira"]
    codes = np.arange(n) % len(texts)
    bands = None if band is None else np.full(n, band)
    fast = reason_texts(symbols, np.array(weights), np.full(n, target), bands, codes, texts)
    slow = [
        str(Reason(ReasonKind.TO_BAND, texts[a], s, w, target, band))
        for s, w, a in zip(symbols, weights, codes, strict=True)
    ]
    assert fast == slow


def test_kernel_served_plans_carry_structured_reasons() -> None:
    # One IRA (the kernel serves it): AAA 100 sh at 10 = 1,000, BBB 10 sh at 20 = 200, cash
    # 200; total 1,400. AAA's weight before, 1,000 / 1,400 = 0.714286, is above 0.60 + the
    # 0.05 band, so it rebalances to target: AAA to 840 (sell 16 sh), BBB to 560 (buy
    # 360 / 20 = 18 sh with the 200 cash + 160 raised). BBB's weight before: 200 / 1,400.
    hh = make_household(
        {"AAA": 0.6, "BBB": 0.4},
        accounts=[("ira", AccountKind.TAX_DEFERRED)],
        policy=ThresholdPolicy(0.05),
    )
    lots = (
        Lot("ira", "AAA", 100.0, 800.0, date(2020, 1, 2)),
        Lot("ira", "BBB", 10.0, 150.0, date(2020, 1, 2)),
    )
    holdings = Holdings(lots, {"ira": 200.0})
    assert kernel_serves(hh, holdings)
    plan = plan_rebalance(hh, holdings, {"AAA": 10.0, "BBB": 20.0}, AS_OF)
    got = {(t["symbol"], t["side"]): t for t in plan_to_dict(plan)["trades"]}
    assert set(got) == {("AAA", "sell"), ("BBB", "buy")}
    sell, buy = got[("AAA", "sell")], got[("BBB", "buy")]
    assert sell["quantity"] == pytest.approx(16.0)
    assert buy["quantity"] == pytest.approx(18.0)
    assert sell["why"] == {
        "kind": "to target",
        "action": "sell to target",
        "symbol": "AAA",
        "weight": pytest.approx(1000 / 1400, abs=1e-6),
        "target": pytest.approx(0.6, abs=1e-9),
        "band": pytest.approx(0.05, abs=1e-9),
        "note": "",
    }
    assert buy["why"] == {
        "kind": "to target",
        "action": "buy to target",
        "symbol": "BBB",
        "weight": pytest.approx(200 / 1400, abs=1e-6),
        "target": pytest.approx(0.4, abs=1e-9),
        "band": pytest.approx(0.05, abs=1e-9),
        "note": "",
    }
    assert sell["reason"] == "AAA 71.4% vs target 60.0% (band ±5.00pp): sell to target"
    assert buy["reason"] == "BBB 14.3% vs target 40.0% (band ±5.00pp): buy to target"
    assert all(str(t.why) == t.reason for t in plan.trades)


def test_kernel_withdrawal_sells_carry_the_withdraw_kind() -> None:
    # One Roth, 50/50, AAA 60 sh at 10 = 600, BBB 40 sh at 10 = 400, no cash, a policy that
    # never triggers (no bands). Withdrawing 100: AAA is the most overweight (600 against
    # 0.5 × 900 = 450 after the flow), so 10 sh of AAA are sold to fund it.
    hh = make_household(
        {"AAA": 0.5, "BBB": 0.5}, accounts=[("roth", AccountKind.TAX_FREE)], policy=NeverPolicy()
    )
    lots = (
        Lot("roth", "AAA", 60.0, 600.0, date(2020, 1, 2)),
        Lot("roth", "BBB", 40.0, 400.0, date(2020, 1, 2)),
    )
    holdings = Holdings(lots, {"roth": 0.0})
    assert kernel_serves(hh, holdings)
    flows = [CashFlow("roth", -100.0)]
    plan = plan_rebalance(hh, holdings, {"AAA": 10.0, "BBB": 10.0}, AS_OF, flows=flows)
    (trade,) = plan.trades
    assert (trade.symbol, trade.side) == ("AAA", Side.SELL)
    assert trade.quantity == pytest.approx(10.0)
    why = plan_to_dict(plan)["trades"][0]["why"]
    assert why["kind"] == "withdraw"
    assert why["action"] == "sell to fund the withdrawal of 100.00 from roth"
    assert (why["symbol"], why["band"]) == ("AAA", None)
    assert why["weight"] == pytest.approx(0.6, abs=1e-9)
    assert why["target"] == pytest.approx(0.5, abs=1e-9)
