"""The paper venue: its fill model (price plus slippage, slices), refusals, and the slippage and
latency figures worked out by hand from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from poise.broker import PaperVenue
from poise.execute import (
    DuplicateOrderError,
    MemoryOrderStore,
    OrderSender,
    OrderState,
    PreTradeRules,
    order_figures,
    orders_for_trades,
    summarize,
)
from poise.model import Holdings, Lot, Side, Trade

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


class Tick:
    """A clock that moves 10 ms every time anyone reads it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=10)
        return self.now


def _trades() -> list[Trade]:
    return [
        Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell"),
        Trade("ira", "BBB", Side.BUY, 10.0, 50.0, 0.0, "buy"),
        Trade("ira", "CCC", Side.BUY, 5.0, 20.0, 0.0, "buy"),
    ]


def _run(tmp_path, **venue_options):  # type: ignore[no-untyped-def]
    clock = Tick()
    venue = PaperVenue(f"sqlite:///{tmp_path / 'paper.db'}", clock=clock, **venue_options)
    store = MemoryOrderStore()
    rules = PreTradeRules(price_buffer_bps=venue.slippage_bps)
    sender = OrderSender(store, venue, rules, poll_interval=0.0, timeout=5.0, clock=clock)
    before = Holdings.of([Lot("ira", "AAA", 4.0, 320.0, date(2020, 1, 2))], {"ira": 400.0})
    orders = orders_for_trades(_trades(), "c0ffee000000", fractional=True)
    sender.add_plan("c0ffee000000", "hh", date(2024, 3, 1), orders, before)
    return venue, store, sender.run("c0ffee000000")


def test_slippage_and_latency_by_hand(tmp_path):
    venue, store, intents = _run(tmp_path, slippage_bps=25.0)
    # fill prices: sell 100 × (1 − 0.0025) = 99.75; buys 50 × 1.0025 = 50.125, 20 × 1.0025 = 20.05
    assert [i.average_price for i in intents] == pytest.approx([99.75, 50.125, 20.05])
    figures = [order_figures(i) for i in intents]
    # slippage_bps = sign × (fill / reference − 1) × 10,000: +25 each (against the order)
    assert [f.slippage_bps for f in figures] == pytest.approx([25.0, 25.0, 25.0])
    # shortfall = sign × (fill − reference) × quantity: 4 × 0.25, 10 × 0.125, 5 × 0.05
    assert [f.shortfall for f in figures] == pytest.approx([1.0, 1.25, 0.25])
    # each send reads the clock: sent (t), the venue's acceptance (t+10) and fill (t+20),
    # poise's acknowledgement (t+30): sent→ack 30 ms, ack→fill −10 ms (filled on acceptance,
    # before the answer reached poise), sent→fill 20 ms
    assert [f.sent_to_ack_ms for f in figures] == pytest.approx([30.0] * 3)
    assert [f.ack_to_fill_ms for f in figures] == pytest.approx([-10.0] * 3)
    assert [f.sent_to_fill_ms for f in figures] == pytest.approx([20.0] * 3)
    (summary,) = summarize(figures)
    assert (summary.venue, summary.orders, summary.filled) == ("paper", 3, 3)
    assert summary.p50["sent_to_filled_ms"] == pytest.approx(20.0)
    # 300 + 399 − 501.25 − 100.25 = 97.5
    assert store.holdings("hh").cash["ira"] == pytest.approx(400.0 + 399.0 - 501.25 - 100.25)
    assert venue.lookup(intents[0].client_order_id).status is OrderState.FILLED


def test_percentiles_interpolate_linearly():
    from poise.execute import Intent, Order

    def intent(ms: int) -> Intent:
        order = Order(f"poise-x-{ms:03d}", 1, "a", "S", Side.BUY, 1.0, 10.0)
        sent = T0
        return Intent(
            "x",
            order,
            "paper",
            OrderState.FILLED,
            sent_at=sent,
            acknowledged_at=sent + timedelta(milliseconds=ms),
            filled_quantity=1.0,
            average_price=10.0,
            last_fill_at=sent + timedelta(milliseconds=ms),
        )

    (summary,) = summarize([order_figures(intent(ms)) for ms in (10, 20, 40, 80)])
    # p50 of 10, 20, 40, 80: halfway between 20 and 40 = 30; p95: 40 + 0.85 × 40 = 74
    assert summary.p50["sent_to_acknowledged_ms"] == pytest.approx(30.0)
    assert summary.p95["sent_to_acknowledged_ms"] == pytest.approx(74.0)


def test_partial_fills_and_rejects_on_demand(tmp_path):
    venue, store, intents = _run(tmp_path, slices=3, reject=frozenset({"CCC"}))
    assert [i.state for i in intents] == [OrderState.FILLED, OrderState.FILLED, OrderState.REJECTED]
    assert len(store.fills()) == 6
    assert intents[2].reason == "CCC is not tradable at the paper venue"
    assert [o.filled_quantity for o in venue.orders()] == pytest.approx([4.0, 10.0, 0.0])


def test_a_repeated_id_is_refused(tmp_path):
    venue = PaperVenue(f"sqlite:///{tmp_path / 'paper.db'}")
    order = orders_for_trades(_trades(), "c0ffee000000")[0]
    venue.submit(order)
    with pytest.raises(DuplicateOrderError, match="client_order_id must be unique"):
        venue.submit(order)
    # a second process on the same database refuses it too
    again = PaperVenue(f"sqlite:///{tmp_path / 'paper.db'}")
    with pytest.raises(DuplicateOrderError):
        again.submit(order)
    assert len(again.orders()) == 1


def test_the_paper_venue_quotes_its_prices(tmp_path) -> None:
    clock = Tick()
    venue = PaperVenue(f"sqlite:///{tmp_path / 'q.db'}", {"AAA": 101.0}, clock=clock)
    quotes = venue.latest_quote(["AAA", "ZZZ"])
    assert list(quotes) == ["AAA"]
    assert quotes["AAA"].price == 101.0
    assert quotes["AAA"].at == T0 + timedelta(milliseconds=10)


def test_a_paper_quote_newer_than_the_plan_is_the_reference(tmp_path) -> None:
    """The plan sold AAA at 100 on 2024-03-01; the paper venue's price is now 101 and it fills
    10 bps worse: the reference is 101, the fill 101 × (1 − 0.001) = 100.899, the slippage
    exactly 10 bps (against the plan's 100 it would have looked like −89.9 bps)."""
    venue = PaperVenue(
        f"sqlite:///{tmp_path / 'r.db'}", {"AAA": 101.0}, slippage_bps=10.0, clock=Tick()
    )
    store = MemoryOrderStore()
    sender = OrderSender(store, venue, PreTradeRules(price_buffer_bps=10.0), poll_interval=0.0)
    trades = [Trade("ira", "AAA", Side.SELL, 4.0, 100.0, 0.0, "sell")]
    before = Holdings.of([Lot("ira", "AAA", 4.0, 300.0, date(2020, 1, 2))], {"ira": 0.0})
    digest = "papquote0001"
    sender.add_plan(digest, digest, date(2024, 3, 1), orders_for_trades(trades, digest), before)
    (intent,) = sender.run(digest)
    assert intent.state is OrderState.FILLED
    assert intent.order.reference_price == 101.0
    assert intent.average_price == pytest.approx(100.899)
    assert order_figures(intent).slippage_bps == pytest.approx(10.0)
