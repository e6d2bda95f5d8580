"""The Alpaca adapter against a fake Alpaca on loopback: no duplicate on 504, 429, 5xx or a
timeout; a duplicate answer is adopted; fills come from the FILL activities."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("alpaca")

from poise.broker import AlpacaVenue
from poise.execute import (
    MemoryOrderStore,
    OrderRefusedError,
    OrderSender,
    OrderState,
    PreTradeRules,
    VenueUnavailableError,
    orders_for_trades,
)
from poise.model import Holdings, Lot, Side, Trade
from tests.broker.fake_alpaca import FakeAlpaca

PRICES = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca(PRICES)
    yield server
    server.close()


def _venue(fake: FakeAlpaca, timeout: float = 2.0) -> AlpacaVenue:
    return AlpacaVenue("key", "secret", url=fake.url, timeout=timeout)


def _plan(venue: AlpacaVenue) -> tuple[OrderSender, MemoryOrderStore, str]:
    from datetime import date

    trades = [
        Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell"),
        Trade("ira", "BBB", Side.BUY, 10.0, 50.0, 0.0, "buy"),
        Trade("ira", "CCC", Side.BUY, 5.0, 20.0, 0.0, "buy"),
    ]
    store = MemoryOrderStore()
    sender = OrderSender(
        store, venue, PreTradeRules(price_buffer_bps=0.0), poll_interval=0.01, timeout=5.0
    )
    digest = "abcdefabcdef"
    before = Holdings.of([Lot("ira", "AAA", 4.0, 300.0, date(2020, 1, 2))], {"ira": 200.0})
    sender.add_plan(digest, digest, date(2024, 3, 1), orders_for_trades(trades, digest), before)
    return sender, store, digest


@pytest.mark.parametrize("fault", ["504_after_accept", "429", "500_before_accept", "delay:1.5"])
@pytest.mark.parametrize("leg", [0, 1, 2])
def test_the_adapter_survives_faults_without_a_duplicate(fake, fault, leg):
    fake.faults = [""] * leg + [fault]
    # the delay fault is longer than the adapter's timeout: a timeout after accepting
    sender, store, plan = _plan(_venue(fake, timeout=0.5))
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    assert sorted(o["client_order_id"] for o in fake.orders.values()) == [
        f"poise-{plan}-00{k}" for k in (1, 2, 3)
    ]
    assert len(store.fills(plan)) == 3
    assert store.holdings(plan).cash["ira"] == pytest.approx(0.0)


def test_alpaca_py_alone_would_have_doubled_the_order(fake):
    # the reason for the adapter: alpaca-py re-sends a POST on 504 by itself
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import MarketOrderRequest

    client = TradingClient("key", "secret", url_override=fake.url)
    client._retry_wait = 0
    fake.faults = ["504_after_accept"]
    request = MarketOrderRequest(
        symbol="BBB", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )
    client.submit_order(request)
    assert len(fake.orders) == 2  # one lost answer, two orders


def test_a_repeated_id_is_looked_up_and_adopted(fake):
    venue = _venue(fake)
    sender, store, plan = _plan(venue)
    first = store.intents(plan)[0].order
    venue.submit(first)  # an earlier run got it there and crashed before recording it
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    assert len(fake.orders) == 3
    assert intents[0].acknowledged_at is not None


def test_fills_missing_from_activities_keep_the_order_open(fake):
    fake.drop_fills = True
    venue = _venue(fake)
    sender, store, plan = _plan(venue)
    sender.timeout = 0.3
    intents = sender.run(plan)
    assert intents[0].state is OrderState.PARTIALLY_FILLED  # filled, executions not reported
    assert store.fills(plan) == []
    assert intents[1].state is OrderState.NEW  # no buys before the sells' cash is known
    fake.drop_fills = False
    sender.timeout = 5.0
    intents = sender.run(plan)
    assert [i.state for i in intents] == [OrderState.FILLED] * 3
    assert len(store.fills(plan)) == 3
    assert len(fake.orders) == 3


def test_a_silent_venue_times_out_instead_of_hanging(fake):
    fake.faults = ["delay:3"]
    venue = _venue(fake, timeout=0.3)
    sender, _store, plan = _plan(venue)
    order = sender.store.intents(plan)[0].order
    started = time.monotonic()
    with pytest.raises(VenueUnavailableError):
        venue.submit(order)
    assert time.monotonic() - started < 2.0


def test_refusals_clock_account_positions(fake):
    venue = _venue(fake)
    assert venue.market_open() is True
    fake.is_open = False
    assert venue.market_open() is False
    assert float(venue.account()["cash"]) == 100_000.0
    assert venue.lookup("poise-nothing-001") is None
    fake.cash = 10.0
    sender, _store, plan = _plan(venue)
    order = sender.store.intents(plan)[1].order
    with pytest.raises(OrderRefusedError, match="insufficient buying power"):
        venue.submit(order)
    fake.cash = 1000.0
    venue.submit(order)
    assert venue.positions() == {"BBB": 10.0}


def test_latest_quote_from_the_data_api(fake):
    fake.quotes = {"AAA": (99.0, 101.0), "BBB": (0.0, 50.5)}
    venue = _venue(fake)
    before = datetime.now(UTC) - timedelta(seconds=5)
    quotes = venue.latest_quote(["AAA", "BBB", "CCC", "ZZZ"])
    assert sorted(quotes) == ["AAA", "BBB", "CCC"]  # ZZZ has no quote: left out
    assert quotes["AAA"].price == 100.0  # (99 + 101) / 2
    assert quotes["BBB"].price == 50.5  # only the ask is quoted
    assert quotes["CCC"].price == 20.0
    assert all(before <= q.at <= datetime.now(UTC) + timedelta(seconds=5) for q in quotes.values())
    assert fake.quote_requests[-1]["symbols"] == "AAA,BBB,CCC,ZZZ"
    fake.quote_fault = 500
    with pytest.raises(VenueUnavailableError):
        venue.latest_quote(["AAA"])
    assert len(fake.quote_requests) == 2  # no retry of its own


def test_latest_quote_times_out_instead_of_hanging() -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        venue = AlpacaVenue("key", "secret", url=url, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(VenueUnavailableError):
            venue.latest_quote(["AAA"])
        assert time.monotonic() - started < 3.0
    finally:
        silent.close()


def test_a_fresh_quote_becomes_the_reference_price(fake):
    """The plan priced AAA at 100 and BBB at 50 on 2024-03-01; the market now quotes AAA at
    101/103 and BBB at 50.9/51.1 and fills at the midpoints: the orders' reference prices
    are the midpoints (102, 51), so the slippage is 0, and the cash is worked out by hand."""
    from datetime import date

    from poise.execute import order_figures

    fake.prices = {"AAA": 102.0, "BBB": 51.0}
    fake.quotes = {"AAA": (101.0, 103.0), "BBB": (50.9, 51.1)}
    venue = _venue(fake)
    trades = [
        Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell"),
        Trade("ira", "BBB", Side.BUY, 2.0, 50.0, 0.0, "buy"),
    ]
    store = MemoryOrderStore()
    sender = OrderSender(store, venue, PreTradeRules(price_buffer_bps=0.0), poll_interval=0.01)
    before = Holdings.of([Lot("ira", "AAA", 4.0, 300.0, date(2020, 1, 2))], {"ira": 200.0})
    digest = "feedfeedfeed"
    sender.add_plan(digest, digest, date(2024, 3, 1), orders_for_trades(trades, digest), before)
    intents = sender.run(digest)
    assert [i.state for i in intents] == [OrderState.FILLED] * 2
    assert [i.order.reference_price for i in intents] == [102.0, 51.0]
    assert [order_figures(i).slippage_bps for i in intents] == [0.0, 0.0]
    assert store.holdings(digest).cash["ira"] == pytest.approx(200.0 + 4 * 102.0 - 2 * 51.0)


def test_a_plan_newer_than_the_quote_keeps_its_price(fake):
    from datetime import date

    fake.quotes = {"AAA": (101.0, 103.0)}
    venue = _venue(fake)
    trades = [Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell")]
    store = MemoryOrderStore()
    sender = OrderSender(store, venue, PreTradeRules(price_buffer_bps=0.0), poll_interval=0.01)
    before = Holdings.of([Lot("ira", "AAA", 4.0, 300.0, date(2020, 1, 2))], {"ira": 0.0})
    digest = "newernewer00"
    later = datetime.now(UTC).date() + timedelta(days=1)
    sender.add_plan(digest, digest, later, orders_for_trades(trades, digest), before)
    intents = sender.run(digest)
    assert intents[0].state is OrderState.FILLED
    assert intents[0].order.reference_price == 100.0
