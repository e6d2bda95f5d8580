"""The store protocols: the in-memory implementations behave as the use cases need, and a
plan built from stored state equals the plan built from the files."""

from __future__ import annotations

from datetime import date

import pytest

from poise._errors import InputError
from poise.app import (
    HouseholdStore,
    InMemoryHouseholdStore,
    InMemoryLedgerStore,
    LedgerStore,
    NotFoundError,
    RebalanceRequest,
    rebalance,
    stored_request,
)
from poise.io import read_holdings, read_household, read_prices
from poise.model import Side
from poise.tax import Transaction
from tests.conftest import EXAMPLES


def test_in_memory_stores_satisfy_the_protocols() -> None:
    assert isinstance(InMemoryHouseholdStore(), HouseholdStore)
    assert isinstance(InMemoryLedgerStore(), LedgerStore)


def test_stored_request_plans_like_the_files() -> None:
    household = read_household(EXAMPLES / "household.toml")
    holdings = read_holdings(EXAMPLES / "holdings.csv", household)
    prices = read_prices("sp500")
    households, ledger = InMemoryHouseholdStore(), InMemoryLedgerStore()
    record = households.add(household)
    assert ledger.holdings(record.id) is None
    with pytest.raises(InputError) as err:
        stored_request(households, ledger, record.id, prices)
    assert err.value.field == "holdings"
    first = ledger.save_holdings(record.id, holdings)
    second = ledger.save_holdings(record.id, holdings)
    assert (first.version, second.version) == (1, 2)
    assert second.snapshot != first.snapshot
    assert ledger.holdings(record.id) == second
    stored = stored_request(households, ledger, record.id, prices)
    assert stored.holdings == second
    direct = rebalance(RebalanceRequest(household=household, holdings=holdings, prices=prices))
    assert rebalance(stored.request).plan.trades == direct.plan.trades
    with pytest.raises(NotFoundError):
        stored_request(households, ledger, "nope", prices)


def test_transactions_come_back_in_date_order() -> None:
    ledger = InMemoryLedgerStore()
    late = Transaction(date(2024, 3, 1), "brokerage", "AAPL", Side.BUY, 1.0, 100.0)
    early = Transaction(date(2024, 1, 1), "brokerage", "AAPL", Side.SELL, 1.0, 90.0, 120.0)
    assert ledger.add_transactions("h", [late, early]) == 2
    assert ledger.transactions("h") == (early, late)
