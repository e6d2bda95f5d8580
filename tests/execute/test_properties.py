"""Hypothesis: whatever the venue does with the orders (fills in slices, cancels part-way,
rejects, moves the price within the buffer), the book never holds cash below the reserve and
never a short position, and every fill is recorded once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poise.execute import (
    MemoryOrderStore,
    MockBroker,
    Order,
    OrderSender,
    PreTradeRules,
    orders_for_trades,
)
from poise.execute._executor import _MockOrder
from poise.execute._orders import OrderState
from poise.execute._venue import VenueFill
from poise.model import Holdings, Lot, Side, Trade
from poise.store import SqlOrderStore, make_engine, upgrade

SYMBOLS = ("AAA", "BBB", "CCC")
PRICES = {"AAA": 100.0, "BBB": 50.0, "CCC": 7.5}
BUFFER_BPS = 50.0


class _Unruly(MockBroker):
    """Each order gets its own behaviour: how many slices, after how many it is cancelled or
    rejected, and its price move (within the buffer)."""

    def __init__(self, behaviours: list[tuple[int, int | None, bool, float]]):
        super().__init__(PRICES)
        self.behaviours = behaviours
        self.count = 0
        self.slices_of: dict[str, int] = {}

    def submit(self, order: Order):  # type: ignore[no-untyped-def]
        slices, stop, reject, move_bps = self.behaviours[self.count % len(self.behaviours)]
        self.count += 1
        self.slices_of[order.client_order_id] = slices
        self.slices = slices
        self.slippage_bps = move_bps
        self.reject = frozenset({order.symbol}) if reject else frozenset()
        answer = super().submit(order)
        self.orders[order.client_order_id].reason = "" if stop is None else f"stop:{stop}"
        return answer

    def _fill_slice(self, mock: _MockOrder) -> None:
        if mock.reason.startswith("stop:") and len(mock.fills) >= int(mock.reason[5:]):
            mock.status = OrderState.CANCELLED
            return
        self.slices = self.slices_of[mock.order.client_order_id]
        super()._fill_slice(mock)


behaviour = st.tuples(
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(0, 2)),
    st.booleans(),
    st.floats(-BUFFER_BPS, BUFFER_BPS),
)
lot = st.tuples(st.sampled_from(("a", "b")), st.sampled_from(SYMBOLS), st.floats(0.5, 50.0))
trade = st.tuples(
    st.sampled_from(("a", "b")),
    st.sampled_from(SYMBOLS),
    st.sampled_from((Side.BUY, Side.SELL)),
    st.floats(0.1, 80.0),
)


examples = {
    "lots": st.lists(lot, max_size=5),
    "cash": st.tuples(st.floats(0.0, 5000.0), st.floats(0.0, 5000.0)),
    "reserve": st.floats(0.0, 500.0),
    "trades": st.lists(trade, min_size=1, max_size=8),
    "behaviours": st.lists(behaviour, min_size=1, max_size=8),
    "whole": st.booleans(),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**examples)
def test_cash_stays_above_the_reserve_and_nothing_goes_short(
    lots, cash, reserve, trades, behaviours, whole
):
    check_money(MemoryOrderStore(), "feedbeefcafe", lots, cash, reserve, trades, behaviours, whole)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlOrderStore]:
    folder = tmp_path_factory.mktemp("store")
    engine = make_engine(f"sqlite:///{folder / 'poise.db'}")
    upgrade(engine)
    yield SqlOrderStore(engine)
    engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(**examples)
def test_the_same_in_the_sql_store(sqlite_store, lots, cash, reserve, trades, behaviours, whole):
    plan = uuid.uuid4().hex[:12]
    check_money(sqlite_store, plan, lots, cash, reserve, trades, behaviours, whole)


def check_money(store, plan, lots, cash, reserve, trades, behaviours, whole):  # type: ignore[no-untyped-def]
    book = Holdings.of(
        [Lot(a, s, q, q * PRICES[s], date(2020, 1, 2)) for a, s, q in lots],
        {"a": max(cash[0], reserve), "b": max(cash[1], reserve)},
    )
    planned = [
        Trade(a, s, side, float(max(int(q), 1)) if whole else q, PRICES[s], 0.0, "test")
        for a, s, side, q in trades
    ]
    orders = orders_for_trades(planned, plan, fractional=not whole)
    venue = _Unruly(behaviours)
    rules = PreTradeRules(cash_reserve=reserve, price_buffer_bps=BUFFER_BPS, min_notional=0.0)
    sender = OrderSender(store, venue, rules, poll_interval=0.0, timeout=2.0)
    sender.add_plan(plan, plan, date(2024, 3, 1), orders, book)
    intents = sender.run(plan)
    held = store.holdings(plan)
    for account in ("a", "b"):
        assert held.cash[account] >= reserve - 1e-9
    assert all(lot.quantity > 0 for lot in held.lots)
    fills = store.fills(plan)
    assert len({f.execution_id for f in fills}) == len(fills)
    assert len(venue.submitted) == len(set(venue.submitted)) <= len(orders)
    for intent in intents:
        assert intent.state.ended
        sent = venue.orders.get(intent.client_order_id)
        venue_fills: list[VenueFill] = sent.fills if sent is not None else []
        assert intent.filled_quantity == sum(f.quantity for f in venue_fills)
