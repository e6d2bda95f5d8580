"""The order store's promises, the same for the in-memory store and the SQL store (SQLite and
PostgreSQL): plans added once, state changes checked, fills recorded once with the book."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from poise._errors import BrokerError
from poise.execute import (
    Intent,
    MemoryOrderStore,
    OrderState,
    PlanRecord,
    orders_for_trades,
)
from poise.model import Fill, Holdings, Lot, Side, Trade
from poise.store import SqlOrderStore, make_engine, upgrade
from tests.databases import database_url

DAY = date(2024, 3, 1)
AT = datetime(2024, 3, 4, 15, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "memory":
        yield MemoryOrderStore()
        return
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield SqlOrderStore(engine)
        finally:
            engine.dispose()


def _intents() -> list[Intent]:
    trades = [
        Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell"),
        Trade("ira", "BBB", Side.BUY, 10.0, 50.0, 0.0, "buy"),
    ]
    return [
        Intent("p1", o, "mock", decided_at=AT)
        for o in orders_for_trades(trades, "p1", fractional=True)
    ]


def _book() -> Holdings:
    lots = [
        Lot("ira", "AAA", 3.0, 240.0, date(2019, 5, 1)),
        Lot("ira", "AAA", 5.0, 600.0, date(2021, 5, 1)),
    ]
    return Holdings.of(lots, {"ira": 200.0})


def _add(store) -> list[Intent]:  # type: ignore[no-untyped-def]
    intents = _intents()
    assert store.add_plan(PlanRecord("p1", "hh", "mock", DAY, AT), intents, _book()) is True
    return intents


def test_a_plan_is_added_once_and_keeps_its_book(store):
    intents = _add(store)
    assert store.add_plan(PlanRecord("p1", "hh", "mock", DAY, AT), intents, Holdings()) is False
    assert [i.client_order_id for i in store.intents("p1")] == ["poise-p1-001", "poise-p1-002"]
    assert store.holdings("hh").cash == {"ira": 200.0}
    assert [p.plan for p in store.plans()] == ["p1"]
    got = store.intents("p1")[0]
    assert (got.state, got.order.quantity, got.decided_at) == (OrderState.NEW, 4.0, AT)


def test_state_changes_are_checked_against_the_stored_state(store):
    sell = _add(store)[0]
    sent = sell.moved(OrderState.SUBMITTING, sent_at=AT)
    store.save(sent)
    store.save(sent.moved(OrderState.CANCELLED))
    with pytest.raises(BrokerError):
        store.save(sent)  # a stale copy: the store says cancelled, which never changes
    assert store.intents("p1")[0].state is OrderState.CANCELLED
    assert store.intents("p1")[0].sent_at == AT


def test_fills_are_recorded_once_and_move_the_book_oldest_lot_first(store):
    sell = _add(store)[0]
    sent = sell.moved(OrderState.SUBMITTING, sent_at=AT)
    store.save(sent)
    f1 = Fill("ira", "AAA", Side.SELL, 1.5, 110.0, AT, 0.0, "x1", sell.client_order_id)
    f2 = Fill("ira", "AAA", Side.SELL, 2.5, 111.0, AT, 0.0, "x2", sell.client_order_id)
    part = sent.moved(OrderState.PARTIALLY_FILLED, filled_quantity=1.5)
    assert store.record_fills(part, [f1]) == 1
    done = part.moved(OrderState.FILLED, filled_quantity=4.0)
    assert store.record_fills(done, [f1, f2]) == 1  # x1 again: ignored
    assert store.record_fills(done, [f1, f2]) == 0
    assert [f.execution_id for f in store.fills("p1")] == ["x1", "x2"]
    held = store.holdings("hh")
    # 200 + 1.5 × 110 + 2.5 × 111 = 642.5; the 2019 lot (3 sh, 240) goes first, then 1 of 5
    assert held.cash["ira"] == pytest.approx(642.5)
    assert len(held.lots) == 1
    assert (held.lots[0].quantity, held.lots[0].cost_basis) == pytest.approx((4.0, 480.0))
    txs = store.transactions("p1")
    # x1 disposes of 1.5 of the 2019 lot (80 a share); x2 of 1.5 more (120) and 1 of 2021 (120)
    assert [t.cost_basis for t in txs] == pytest.approx([120.0, 240.0])
    assert [t.date for t in txs] == [AT.date(), AT.date()]
    assert store.intents("p1")[0].state is OrderState.FILLED
