"""A household valued on one day, on the example files and skfolio's bundled prices; the
expected figures are recomputed here with pandas from the same files."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from poise._errors import InputError
from poise.data import load_dataset
from poise.io import read_holdings, read_household
from poise.model import CASH, Holdings, Lot
from poise.service.web._context import BookEntry, day_prices, screen_book, value_household
from poise.service.web._templates import HTMX_FILE, STATIC_DIR
from poise.service.web._views import lot_rows

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")


def test_example_household_value_weights_and_worst_breach(prices: pd.DataFrame) -> None:
    household = read_household(EXAMPLES / "household.toml")
    holdings = read_holdings(EXAMPLES / "holdings.csv")
    valuation = value_household(household, holdings, prices, date(2022, 12, 28))

    csv = pd.read_csv(EXAMPLES / "holdings.csv")
    close = prices.loc["2022-12-28"]
    shares = csv[csv.symbol != CASH].groupby("symbol").quantity.sum()
    values = shares * close[shares.index]
    cash = csv[csv.symbol == CASH].quantity.sum()
    total = values.sum() + cash
    assert valuation.total_value == pytest.approx(total)
    weights = {r.symbol: r.weight for r in valuation.rows}
    for symbol, value in values.items():
        assert weights[symbol] == pytest.approx(value / total)
    assert weights[CASH] == pytest.approx(cash / total)

    # 5/25 bands: half-band = min(5pp, 25% of target); the worst asset is the one furthest
    # beyond its band
    targets = {"AAPL": 0.13, "MSFT": 0.13, "JPM": 0.10, "KO": 0.10, "HD": 0.08, "JNJ": 0.10}
    targets |= {"PG": 0.10, "XOM": 0.08, "PEP": 0.06, "UNH": 0.06, "LLY": 0.06}
    excess = {s: abs(weights.get(s, 0.0) - t) - min(0.05, 0.25 * t) for s, t in targets.items()}
    excess[CASH] = weights[CASH] - 0.05
    worst = max(excess, key=lambda s: excess[s])
    assert valuation.worst is not None
    assert valuation.worst.symbol == worst
    assert valuation.triggered == (max(excess.values()) > 0)


def test_day_prices_reads_the_row_once_and_agrees(prices: pd.DataFrame) -> None:
    household = read_household(EXAMPLES / "household.toml")
    holdings = read_holdings(EXAMPLES / "holdings.csv")
    on, closes = day_prices(prices, date(2020, 3, 16))
    assert closes["AAPL"] == pytest.approx(float(prices.loc["2020-03-16", "AAPL"]))
    fast = value_household(household, holdings, prices, on, closes=closes)
    slow = value_household(household, holdings, prices, on)
    assert fast == slow


def test_missing_price_names_the_symbol(prices: pd.DataFrame) -> None:
    household = read_household(EXAMPLES / "household.toml")
    holdings = Holdings.of([Lot("brokerage", "ZZZZ", 1, 1.0, date(2020, 1, 2))], {})
    with pytest.raises(InputError, match="ZZZZ"):
        value_household(household, holdings, prices, date(2022, 12, 28))


def test_screened_book_row_agrees_with_the_policy_and_pandas(prices: pd.DataFrame) -> None:
    household = read_household(EXAMPLES / "household.toml")  # reserve 100, min_loss 100
    holdings = read_holdings(EXAMPLES / "holdings.csv")
    day = date(2022, 12, 28)
    (row,) = screen_book([BookEntry("h1", household, holdings)], prices, day)
    exact = value_household(household, holdings, prices, day)
    assert row.triggered == exact.triggered
    assert exact.worst is not None
    assert row.worst_symbol == exact.worst.symbol
    assert row.worst_drift == pytest.approx(exact.worst.drift)
    assert row.half_band == pytest.approx(exact.worst.half_band)
    assert row.total_value == pytest.approx(exact.total_value)
    # cash 4200, 1500, 800 less the 100 reserve in each account
    assert row.cash_to_invest == pytest.approx(4100 + 1400 + 700)
    close = prices.loc["2022-12-28"]
    csv = pd.read_csv(EXAMPLES / "holdings.csv")
    lots = csv[(csv.account == "brokerage") & (csv.symbol != CASH)]
    losses = (lots.cost_basis - lots.quantity * close[lots.symbol].to_numpy()).clip(lower=0)
    expected = losses[losses >= 100].sum()
    assert expected > 0
    assert row.harvestable_loss == pytest.approx(expected)
    assert row.reasons
    assert row.worst_symbol in row.reasons[0]


def test_screened_book_names_a_missing_price_and_keeps_the_others(prices: pd.DataFrame) -> None:
    household = read_household(EXAMPLES / "household.toml")
    good = read_holdings(EXAMPLES / "holdings.csv")
    bad = Holdings.of([Lot("brokerage", "ZZZZ", 1, 1.0, date(2020, 1, 2))], {})
    rows = screen_book(
        [BookEntry("bad", household, bad), BookEntry("good", household, good)],
        prices,
        date(2022, 12, 28),
    )
    assert [r.id for r in rows] == ["bad", "good"]
    assert rows[0].error is not None
    assert "ZZZZ" in rows[0].error
    assert rows[1].error is None
    assert rows[1].triggered


def test_lots_in_a_wash_window(prices: pd.DataFrame) -> None:
    household = read_household(EXAMPLES / "household.toml")
    holdings = read_holdings(EXAMPLES / "holdings.csv")
    valuation = value_household(household, holdings, prices, date(2022, 3, 2))
    # AAPL was bought on 2022-03-01: a loss sale of AAPL washes until 2022-03-31
    rows = lot_rows(holdings, valuation.prices, date(2022, 3, 2))
    assert {r.wash_until for r in rows if r.symbol == "AAPL"} == {date(2022, 3, 31)}
    assert {r.wash_until for r in rows if r.symbol != "AAPL"} == {None}


def test_vendored_htmx_matches_its_checksum() -> None:
    digest = hashlib.sha256((STATIC_DIR / HTMX_FILE).read_bytes()).hexdigest()
    assert digest in (STATIC_DIR / "VENDORED.md").read_text()
    assert HTMX_FILE in (STATIC_DIR / "VENDORED.md").read_text()
