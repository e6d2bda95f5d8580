"""The order sender against the in-memory venue and store: ids, order of legs, faults, sizing."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from poise._errors import BrokerError
from poise.execute import (
    CloseFill,
    MemoryOrderStore,
    MockBroker,
    OrderSender,
    OrderState,
    PreTradeRules,
    VenueUnavailableError,
    apply_fills,
    check_transition,
    client_order_id,
    orders_for_trades,
    plan_digest,
)
from poise.model import Holdings, Lot, Side, Trade

DAY = date(2024, 3, 1)
PRICES = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}


def _trades() -> list[Trade]:
    return [
        Trade("ira", "BBB", Side.BUY, 10.0, 50.0, 0.0, "buy"),
        Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell"),
        Trade("ira", "CCC", Side.BUY, 5.0, 20.0, 0.0, "buy"),
    ]


def _before() -> Holdings:
    return Holdings.of([Lot("ira", "AAA", 4.0, 300.0, date(2020, 1, 2))], {"ira": 200.0})


def _sender(venue: MockBroker, **rules: object) -> tuple[OrderSender, MemoryOrderStore]:
    store = MemoryOrderStore()
    rules.setdefault("price_buffer_bps", 0.0)
    sender = OrderSender(store, venue, PreTradeRules(**rules), poll_interval=0.0, timeout=5.0)  # type: ignore[arg-type]
    return sender, store


def _add(sender: OrderSender, trades: list[Trade] | None = None) -> str:
    digest = "0123456789ab"
    orders = orders_for_trades(trades or _trades(), digest, fractional=True)
    sender.add_plan(digest, digest, DAY, orders, _before())
    return digest


def test_client_order_id_is_sha256_of_the_plan_id_then_the_leg():
    digest = hashlib.sha256(b"plan-42").hexdigest()[:12]
    assert plan_digest({"id": "plan-42", "trades": []}) == digest
    assert client_order_id(digest, 7) == f"poise-{digest}-007"
    assert len(client_order_id(digest, 999)) <= 48
    canonical = b'{"as_of":"2024-01-02","trades":[]}'
    assert (
        plan_digest({"trades": [], "as_of": "2024-01-02"})
        == (hashlib.sha256(canonical).hexdigest()[:12])
    )


def test_sells_go_first_and_legs_count_from_one():
    orders = orders_for_trades(_trades(), "abc")
    assert [(o.leg, o.side, o.symbol) for o in orders] == [
        (1, Side.SELL, "AAA"),
        (2, Side.BUY, "BBB"),
        (3, Side.BUY, "CCC"),
    ]
    assert orders[0].client_order_id == "poise-abc-001"


def test_a_plan_fills_and_the_book_moves_by_the_fills():
    venue = MockBroker(PRICES)
    sender, store = _sender(venue)
    plan = _add(sender)
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    held = store.holdings(plan)
    # 200 + 4 × 100 − 10 × 50 − 5 × 20 = 0
    assert held.cash["ira"] == pytest.approx(0.0)
    assert held.quantities() == {("ira", "BBB"): 10.0, ("ira", "CCC"): 5.0}
    assert venue.submitted == [f"poise-{plan}-00{k}" for k in (1, 2, 3)]
    # a finished plan sends nothing again
    sender.run(plan)
    assert len(venue.submitted) == 3


@pytest.mark.parametrize("fault", ["timeout_after_accept", "unavailable_before_accept"])
@pytest.mark.parametrize("leg", [1, 2, 3])
def test_a_send_that_fails_is_looked_up_and_never_doubled(fault, leg):
    venue = MockBroker(PRICES)
    venue.faults = [None] * (leg - 1) + [fault]
    sender, store = _sender(venue)
    plan = _add(sender)
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    assert len(venue.orders) == 3
    assert len(store.fills(plan)) == 3
    assert store.holdings(plan).cash["ira"] == pytest.approx(0.0)


def test_a_venue_that_cannot_say_leaves_the_order_unknown_and_sends_no_buys():
    venue = MockBroker(PRICES)
    venue.faults = ["timeout_after_accept"]
    sender, _store = _sender(venue)
    plan = _add(sender)

    def down(_cid: str) -> None:
        raise VenueUnavailableError("timeout")

    venue.lookup = down  # type: ignore[method-assign]
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.UNKNOWN, OrderState.NEW, OrderState.NEW]
    assert venue.submitted == [f"poise-{plan}-001"]


def test_partial_fills_are_recorded_once_each():
    venue = MockBroker(PRICES, slices=4)
    sender, store = _sender(venue)
    plan = _add(sender)
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    assert len(store.fills(plan)) == 12
    assert len({f.execution_id for f in store.fills(plan)}) == 12
    assert intents[0].filled_quantity == pytest.approx(4.0)


def test_buys_are_resized_to_the_cash_the_sells_brought():
    # sells fill 2% lower: 4 × 98 = 392, cash 592; buys need (500 + 100) × 1.02 = 612
    venue = MockBroker(PRICES, slippage_bps=200.0)
    sender, store = _sender(venue, price_buffer_bps=200.0)
    plan = _add(sender)
    intents = sender.run(plan)
    factor = 592.0 / 612.0
    assert intents[1].order.quantity == pytest.approx(int(10 * factor * 1e6) / 1e6, abs=1e-6)
    assert intents[1].order.quantity < 10.0
    assert intents[2].order.quantity == pytest.approx(int(5 * factor * 1e6) / 1e6, abs=1e-6)
    assert "resized" in intents[1].reason
    # the buys fill 2% higher, exactly the buffer: the cash is spent to within the rounding
    assert 0.0 <= store.holdings(plan).cash["ira"] < 1e-3


def test_whole_share_buys_round_down():
    venue = MockBroker(PRICES, slippage_bps=200.0)
    sender, store = _sender(venue)
    digest = "0123456789ab"
    orders = orders_for_trades(_trades(), digest, fractional=False)
    sender.add_plan(digest, digest, DAY, orders, _before())
    intents = sender.run(digest)
    # 10 × 592/600 = 9.87 → 9; 5 × 592/600 = 4.93 → 4
    assert [i.order.quantity for i in intents[1:]] == [9.0, 4.0]
    assert store.holdings(digest).cash["ira"] >= 0.0


@pytest.mark.parametrize(
    ("rules", "leg", "words"),
    [
        ({"restricted": frozenset({"BBB"})}, 1, "restricted"),
        ({"max_order_value": 450.0}, 1, "above the maximum"),
        ({"min_notional": 150.0}, 2, "below the venue's minimum"),
        ({"loss_sales": {"CCC": date(2024, 2, 20)}}, 2, "wash"),
        ({"fractionable": frozenset()}, None, None),
    ],
)
def test_pre_trade_checks_refuse_with_a_reason(rules, leg, words):
    venue = MockBroker(PRICES, clock=lambda: datetime(2024, 3, 1, 15, tzinfo=UTC))
    sender, _store = _sender(venue, **rules)
    sender.clock = lambda: datetime(2024, 3, 1, 15, tzinfo=UTC)
    plan = _add(sender)
    intents = sender.run(plan)
    if leg is None:
        assert all(i.state is OrderState.FILLED for i in intents)
        return
    assert intents[leg].state is OrderState.REJECTED
    assert words in intents[leg].reason
    assert intents[leg].client_order_id not in venue.submitted


def test_a_closed_market_sends_nothing():
    venue = MockBroker(PRICES)
    venue.open = False
    sender, _ = _sender(venue)
    plan = _add(sender)
    intents = sender.run(plan)
    assert {i.state for i in intents} == {OrderState.REJECTED}
    assert venue.submitted == []


def test_venue_rejects_and_the_kill_switch():
    venue = MockBroker(PRICES, reject=frozenset({"AAA"}), slices=3)
    sender, _store = _sender(venue)
    plan = _add(sender)
    sender.add_plan(plan, plan, DAY, [], _before())
    sender._send_all(sender.store.intents(plan)[:1])
    first = sender.store.intents(plan)[0]
    assert first.state is OrderState.REJECTED
    assert sender.cancel_all() == 2
    assert {i.state for i in sender.store.intents(plan)[1:]} == {OrderState.CANCELLED}


def test_ended_states_never_change():
    with pytest.raises(BrokerError):
        check_transition(OrderState.FILLED, OrderState.SUBMITTED)
    with pytest.raises(BrokerError):
        check_transition(OrderState.NEW, OrderState.FILLED)
    check_transition(OrderState.UNKNOWN, OrderState.FILLED)


def test_close_fill_and_apply_fills_move_holdings_like_the_plan():
    orders = orders_for_trades(_trades(), "abc")
    fills = CloseFill(PRICES, lambda v: 1.0 + v * 0.001).execute(
        orders, datetime(2024, 3, 1, 21, tzinfo=UTC)
    )
    after = apply_fills(_before(), fills)
    # 200 + (400 − 1.4) − (500 + 1.5) − (100 + 1.1)
    assert after.cash["ira"] == pytest.approx(200 + 398.6 - 501.5 - 101.1)
    bbb = after.lots_of("ira", "BBB")[0]
    assert (bbb.quantity, bbb.cost_basis, bbb.acquired) == (10.0, 501.5, DAY)
    assert after.lots_of("ira", "AAA") == []


def test_an_order_cancelled_from_elsewhere_is_never_sent_nor_resized():
    """The kill switch may run in another process while a sender works from older copies of
    the intents: what it cancelled stays cancelled, unsent, and the sender carries on."""
    venue = MockBroker(PRICES)
    sender, store = _sender(venue)
    plan = _add(sender)
    stale = store.intents(plan)  # the sender's copies, all new
    other = OrderSender(store, venue, PreTradeRules(), poll_interval=0.0)
    buys = [i for i in stale if i.order.side is Side.BUY]
    other.cancel(buys[0])  # cancelled "from another process"
    sender._send_all(stale)  # sends the rest; the cancelled one is skipped, no error
    sent = set(venue.orders)
    assert sent == {i.client_order_id for i in stale} - {buys[0].client_order_id}
    states = {i.client_order_id: i.state for i in store.intents(plan)}
    assert states[buys[0].client_order_id] is OrderState.CANCELLED
    with pytest.raises(BrokerError, match="has ended"):
        check_transition(OrderState.CANCELLED, OrderState.NEW)
