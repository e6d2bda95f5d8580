"""View models of the dashboard: weights against bands, lots, the book's order and filters.
Expected values are worked by hand from the inputs."""

from __future__ import annotations

from datetime import date

import pytest

from poise.io import household_from_dict
from poise.model import CASH, Holdings, Lot, Side
from poise.service.web._views import (
    BookRow,
    WeightRow,
    current_weights,
    filter_book,
    lot_rows,
    policy_view,
    sort_book,
    weight_rows,
)
from poise.tax import Transaction

HOUSEHOLD = {
    "name": "Test",
    "accounts": [{"id": "brk", "kind": "taxable"}],
    "targets": {"AAA": 0.6, "BBB": 0.4},
    "policy": {"kind": "threshold", "absolute": 0.05, "relative": 0.25},
}


def test_current_weights_include_cash() -> None:
    holdings = Holdings.of(
        [
            Lot("brk", "AAA", 10, 500.0, date(2020, 1, 2)),
            Lot("brk", "BBB", 5, 100.0, date(2020, 1, 2)),
        ],
        {"brk": 100.0},
    )
    weights = current_weights(holdings, {"AAA": 60.0, "BBB": 20.0})
    # 600 + 100 + 100 cash = 800
    assert weights == pytest.approx({"AAA": 0.75, "BBB": 0.125, CASH: 0.125})


def test_policy_view_bands_are_the_tighter_of_absolute_and_relative() -> None:
    household = household_from_dict(HOUSEHOLD)
    targets = {"AAA": 0.6, "BBB": 0.4}
    bands, reasons, triggered = policy_view(
        household, targets, {"AAA": 0.75, "BBB": 0.125, CASH: 0.125}, date(2024, 1, 2)
    )
    # 5/25: AAA min(0.05, 0.25 × 0.6 = 0.15) = 0.05; BBB min(0.05, 0.10) = 0.05; cash has a
    # zero target: only the absolute band applies.
    assert bands == pytest.approx({"AAA": 0.05, "BBB": 0.05, CASH: 0.05})
    assert triggered
    assert any("AAA" in r for r in reasons)


def test_policy_view_inside_bands_does_not_trigger() -> None:
    household = household_from_dict(HOUSEHOLD)
    _, reasons, triggered = policy_view(
        household, {"AAA": 0.6, "BBB": 0.4}, {"AAA": 0.62, "BBB": 0.38}, date(2024, 1, 2)
    )
    assert not triggered
    assert reasons


def test_weight_rows_order_status_and_band_edges() -> None:
    rows = weight_rows(
        {"AAA": 0.6, "BBB": 0.4},
        {CASH: 0.1, "ZZZ": 0.05, "BBB": 0.2, "AAA": 0.65},
        {"AAA": 0.05, "BBB": 0.1, CASH: None},
    )
    assert [r.symbol for r in rows] == ["AAA", "BBB", "ZZZ", CASH]
    aaa, bbb, zzz, cash = rows
    assert aaa.drift == pytest.approx(0.05)
    assert aaa.status == "inside"  # exactly on the edge is inside
    assert (aaa.lower, aaa.upper) == pytest.approx((0.55, 0.65))
    assert bbb.status == "below"
    assert zzz.target_weight == 0.0
    assert zzz.status == "no band"
    assert cash.lower is None
    assert WeightRow("X", 0.02, 0.10, 0.05).lower == 0.0  # a band never goes below zero
    assert WeightRow("X", 0.02, 0.10, 0.05).status == "above"


def test_lot_rows_gain_holding_period_and_wash_window() -> None:
    as_of = date(2024, 3, 15)
    holdings = Holdings.of(
        [
            Lot("brk", "AAA", 10, 1200.0, date(2023, 3, 14)),  # held 367 days
            Lot("brk", "AAA", 2, 300.0, date(2024, 3, 1)),  # bought 14 days ago
            Lot("brk", "IVV", 4, 400.0, date(2020, 1, 2)),
            Lot("ira", "BBB", 3, 90.0, date(2023, 6, 1)),
        ],
        {"brk": 0.0},
    )
    transactions = [
        Transaction(date(2024, 2, 20), "ira", "SPY", Side.BUY, 1.0, 100.0),
        Transaction(date(2024, 1, 2), "ira", "BBB", Side.BUY, 1.0, 30.0),  # 73 days ago
    ]
    rows = lot_rows(
        holdings,
        {"AAA": 100.0, "IVV": 90.0, "BBB": 40.0},
        as_of,
        identical_groups=[frozenset({"SPY", "IVV"})],
        transactions=transactions,
    )
    by = {(r.account, r.symbol, r.acquired): r for r in rows}
    old = by[("brk", "AAA", date(2023, 3, 14))]
    assert old.value == pytest.approx(1000.0)
    assert old.gain == pytest.approx(-200.0)
    assert old.days_held == 367
    assert old.long_term_on == date(2024, 3, 15)  # the day after the anniversary
    assert old.long_term
    # a buy of AAA on 2024-03-01 washes a loss sale of AAA until 30 days after it
    assert old.wash_until == date(2024, 3, 31)
    new = by[("brk", "AAA", date(2024, 3, 1))]
    assert not new.long_term
    assert new.long_term_on == date(2025, 3, 2)
    # IVV: SPY (declared identical) was bought on 2024-02-20
    assert by[("brk", "IVV", date(2020, 1, 2))].wash_until == date(2024, 3, 21)
    # BBB's buys are older than 30 days
    assert by[("ira", "BBB", date(2023, 6, 1))].wash_until is None
    assert [r.account for r in rows] == ["brk", "brk", "brk", "ira"]


def test_lot_without_a_price_has_no_value() -> None:
    holdings = Holdings.of([Lot("brk", "AAA", 1, 10.0, date(2020, 1, 2))], {})
    (row,) = lot_rows(holdings, {}, date(2024, 1, 2))
    assert row.value is None
    assert row.gain is None


def _row(name: str, drift: float, band: float | None, triggered: bool, **kw: object) -> BookRow:
    return BookRow(
        id=name,
        name=name,
        total_value=1.0,
        worst_symbol="AAA",
        worst_drift=drift,
        half_band=band,
        triggered=triggered,
        reasons=(),
        **kw,  # type: ignore[arg-type]
    )


def test_sort_book_worst_breach_first() -> None:
    rows = [
        _row("inside", 0.01, 0.05, False),
        _row("far out", -0.20, 0.05, True),
        _row("just out", 0.06, 0.05, True),
        _row("broken", 0.0, None, False, error="no prices"),
        _row("calendar", 0.30, None, True),
        _row("close", 0.049, 0.05, False),
    ]
    order = [r.name for r in sort_book(rows)]
    # triggered first (by excess beyond band: 0.15, 0.01, none), then untriggered by excess,
    # households without a value last
    assert order == ["far out", "just out", "calendar", "close", "inside", "broken"]


def test_filter_book_by_text_and_status() -> None:
    rows = [
        _row("Rivera household", 0.1, 0.05, True),
        _row("Okafor household", 0.0, 0.05, False, plan_status="proposed"),
        _row("Broken", 0.0, None, False, error="no prices"),
    ]
    assert [r.name for r in filter_book(rows, query="rIVera")] == ["Rivera household"]
    assert [r.name for r in filter_book(rows, query="aaa")] == [r.name for r in rows]
    assert [r.name for r in filter_book(rows, show="breached")] == ["Rivera household"]
    assert [r.name for r in filter_book(rows, show="inside")] == ["Okafor household"]
    assert [r.name for r in filter_book(rows, show="proposed")] == ["Okafor household"]
    assert filter_book(rows, query="nobody") == []
