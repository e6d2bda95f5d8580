"""Fills sent through ``POST /plans/{id}/orders`` move the household's holdings: each new fill
becomes a new holdings snapshot in the transaction that records it, on SQLite and PostgreSQL.

Expected lots and cash are worked out here by hand from the venue's fills (quantity and price
of each, as ``GET /plans/{id}/orders`` lists them): a buy opens a lot acquired on the fill
date with basis quantity × price (the paper venue charges no cost); a sell takes the oldest
lots first, a lot partly sold keeping the unsold share of its basis; cash moves by quantity ×
price."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from poise._errors import BrokerError
from poise.model import Fill, Side
from poise.service._sending import move_holdings
from poise.store import Firm, FirmScope, write_session
from tests.service.conftest import HOLDINGS_CSV, Api, FirmClient
from tests.service.test_orders_route import _connection


def _expected(fills: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], dict[str, float]]:
    """The example holdings after ``fills`` (dicts with account, symbol, side, quantity,
    price, filled_at), by hand: lots as sorted (account, symbol, acquired, quantity, basis)."""
    lots: dict[tuple[str, str], list[list[Any]]] = {}
    cash: dict[str, float] = {}
    for row in csv.DictReader(io.StringIO(HOLDINGS_CSV)):
        if row["symbol"] == "CASH":
            cash[row["account"]] = float(row["quantity"])
            continue
        lots.setdefault((row["account"], row["symbol"]), []).append(
            [float(row["quantity"]), float(row["cost_basis"]), date.fromisoformat(row["acquired"])]
        )
    for f in fills:
        key = (f["account"], f["symbol"])
        q, p = f["quantity"], f["price"]
        day = datetime.fromisoformat(f["filled_at"]).astimezone(UTC).date()
        if f["side"] == "buy":
            lots.setdefault(key, []).append([q, q * p, day])
            cash[f["account"]] -= q * p
            continue
        remaining = q
        for lot in sorted(lots[key], key=lambda lot: lot[2]):
            take = min(lot[0], remaining)
            lot[1] *= (lot[0] - take) / lot[0]
            lot[0] -= take
            remaining -= take
        assert remaining < 1e-9, f"the plan sells more {key} than the example holds"
        lots[key] = [lot for lot in lots[key] if lot[0] > 1e-12]
        cash[f["account"]] += q * p
    flat = sorted((a, s, d, q, b) for (a, s), group in lots.items() for q, b, d in group)
    return flat, cash


def _actual(firm: FirmClient, hid: str) -> tuple[int, list[tuple[Any, ...]], dict[str, float]]:
    r = firm.call("viewer", "GET", f"/households/{hid}/holdings")
    assert r.status_code == 200, r.text
    body = r.json()
    lots = sorted(
        (
            x["account"],
            x["symbol"],
            date.fromisoformat(x["acquired"]),
            x["quantity"],
            x["cost_basis"],
        )
        for x in body["lots"]
    )
    return body["version"], lots, body["cash"]


def _fills(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**f, "account": o["account"], "symbol": o["symbol"], "side": o["side"]}
        for o in orders
        for f in o["fills"]
    ]


def _check(firm: FirmClient, hid: str, fills: list[dict[str, Any]]) -> int:
    want_lots, want_cash = _expected(fills)
    version, lots, cash = _actual(firm, hid)
    assert len(lots) == len(want_lots), (lots, want_lots)
    for got, want in zip(lots, want_lots, strict=True):
        assert got[:3] == want[:3]
        assert got[3] == pytest.approx(want[3], rel=1e-12, abs=1e-9)
        assert got[4] == pytest.approx(want[4], rel=1e-9, abs=1e-6)
    assert set(cash) == set(want_cash)
    for account, amount in want_cash.items():
        assert cash[account] == pytest.approx(amount, rel=1e-12, abs=1e-6)
        assert cash[account] >= 0
    return version


def _fill_events(firm: FirmClient) -> list[dict[str, Any]]:
    events = firm.call("viewer", "GET", "/audit?limit=500").json()["items"]
    return [e["detail"] for e in events if e["action"] == "holdings.fill"]


def test_a_filled_plan_moves_the_holdings_once(firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    conn = _connection(firm)
    plan = firm.plan(hid, force=True)
    other = firm.plan(hid, force=True)  # proposed before the fills
    assert plan["trades"]
    assert firm.call("advisor", "POST", f"/plans/{plan['id']}/approve").status_code == 200
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "filled"
    fills = _fills(body["orders"])
    assert {f["side"] for f in fills} == {"buy", "sell"}
    version = _check(firm, hid, fills)
    events = _fill_events(firm)
    assert len(events) == version - 1  # one snapshot per recorded batch of fills
    assert len(events) >= 2  # later legs went out after the first fills moved the holdings
    ids = [x for e in events for x in e["execution_ids"]]
    assert sorted(ids) == sorted(f["execution_id"] for f in fills)  # each fill once
    assert {e["plan"] for e in events} == {plan["id"]}

    # sending again moves nothing
    again = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert again.status_code == 200, again.text
    assert _check(firm, hid, fills) == version
    assert len(_fill_events(firm)) == len(events)

    # a plan made before the fills is stale
    stale = firm.call("advisor", "POST", f"/plans/{other['id']}/approve")
    assert stale.status_code == 409
    assert plan["id"] in stale.json()["detail"]


def test_a_partial_fill_moves_only_what_filled(
    firm: FirmClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POISE_PAPER_SLICES", "1000")  # one slice per look-up
    monkeypatch.setattr("poise.service._orders.SEND_TIMEOUT", 0.3)
    hid = firm.household()
    firm.holdings(hid)
    conn = _connection(firm)
    plan = firm.plan(hid, force=True)
    assert firm.call("advisor", "POST", f"/plans/{plan['id']}/approve").status_code == 200
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/orders", json={"connection": conn})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    while True:  # wait for some slices, then stop the rest
        orders = firm.call("viewer", "GET", f"/plans/{plan['id']}/orders").json()["orders"]
        if any(o["fills"] for o in orders) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert firm.call("advisor", "POST", "/orders/cancel-all").status_code == 200
    while True:  # the sender finishes the fill it was recording, if any
        orders = firm.call("viewer", "GET", f"/plans/{plan['id']}/orders").json()["orders"]
        if all(o["state"] in ("cancelled", "filled", "rejected") for o in orders):
            break
        assert time.monotonic() < deadline, orders
        time.sleep(0.05)
    fills = _fills(orders)
    assert fills
    assert any(0 < o["filled_quantity"] < o["quantity"] for o in orders)  # partly filled
    _check(firm, hid, fills)
    ids = [x for e in _fill_events(firm) for x in e["execution_ids"]]
    assert sorted(ids) == sorted(f["execution_id"] for f in fills)


def test_fills_that_would_invent_money_or_shares_are_refused(api: Api, firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    plan = firm.plan(hid, force=True)
    with write_session(api.engine) as session:
        firm_id = session.scalar(select(Firm.id).where(Firm.name == firm.name))
    assert firm_id is not None
    at = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    # the example brokerage account holds 4,200 in cash and 85 AAPL
    too_dear = Fill("brokerage", "AAPL", Side.BUY, 10, 420.01, at, 0.0, "x-1", "c-1")
    too_many = Fill("brokerage", "AAPL", Side.SELL, 85.5, 100.0, at, 0.0, "x-2", "c-2")
    two_sells = [
        Fill("brokerage", "AAPL", Side.SELL, 50, 100.0, at, 0.0, "x-3", "c-3"),
        Fill("brokerage", "AAPL", Side.SELL, 50, 100.0, at, 0.0, "x-4", "c-4"),
    ]
    for fills, words in (
        ([too_dear], "below zero"),
        ([too_many], "holds 85"),
        (two_sells, "holds 35"),
    ):
        with pytest.raises(BrokerError, match=words), write_session(api.engine) as session:
            move_holdings(FirmScope(session, firm_id, "test"), plan["id"], fills)
    version, lots, cash = _actual(firm, hid)
    assert version == 1
    assert cash["brokerage"] == 4200
    assert _fill_events(firm) == []
    # exactly the cash there is, is fine: 10 × 420 = 4,200
    with write_session(api.engine) as session:
        move_holdings(
            FirmScope(session, firm_id, "test"),
            plan["id"],
            [Fill("brokerage", "AAPL", Side.BUY, 10, 420.0, at, 0.0, "x-5", "c-5")],
        )
    version, lots, cash = _actual(firm, hid)
    assert version == 2
    assert cash["brokerage"] == 0
    assert ("brokerage", "AAPL", date(2026, 1, 5), 10, 4200) in lots
