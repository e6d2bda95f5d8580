"""A PriceDay prepared once gives every household the plan the table itself gives: same JSON
byte for byte (warnings included, in order), same errors; its history array is the one
``aligned_history`` makes of the table."""

from __future__ import annotations

import json
import pickle
from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise._errors import InputError
from poise.app import PriceDay, RebalanceRequest, rebalance
from poise.io import read_holdings, read_household, read_prices
from poise.model import AccountKind, Holdings, Lot
from poise.policy import aligned_history
from poise.report import rebalance_to_dict
from poise.scale import read_manifest
from poise.scale._synthetic import write_book
from tests.conftest import make_household

AS_OF = date(2022, 6, 1)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The bundled prices with data problems in the last year: a frozen run, a bad tick, a
    hole, and one symbol without a close on the decision day."""
    prices = read_prices("sp500").copy()
    cols = list(prices.columns)
    window = prices.index[(prices.index > "2022-01-01") & (prices.index <= "2022-06-01")]
    prices.loc[window[10:18], cols[0]] = prices.loc[window[10], cols[0]]  # stale
    prices.loc[window[30], cols[1]] = prices.loc[window[30], cols[1]] * 3.0  # jump
    prices.loc[window[40:43], cols[2]] = np.nan  # hole
    prices.loc[pd.Timestamp(AS_OF), cols[3]] = np.nan  # no close on the day
    prices["ZZZ"] = np.nan  # a column without any price
    return prices


@pytest.fixture(scope="module")
def households(
    tmp_path_factory: pytest.TempPathFactory, table: pd.DataFrame
) -> list[tuple[object, Holdings]]:
    folder = tmp_path_factory.mktemp("priceday")
    clean = read_prices("sp500")
    manifest = write_book(folder, clean, 80, seed=5, symbols=10, as_of=pd.Timestamp(AS_OF))
    out = []
    for entry in read_manifest(manifest).entries:
        hh = read_household(folder / entry.household)
        out.append((hh, read_holdings(folder / entry.holdings, hh)))
    return out


def _outcome(request: RebalanceRequest) -> str:
    try:
        return json.dumps(rebalance_to_dict(rebalance(request)), allow_nan=False)
    except InputError as exc:
        return f"InputError {exc.field}: {exc}"


@pytest.mark.parametrize("max_age", [0, 5])
@pytest.mark.parametrize("as_of", [AS_OF, None])
def test_every_household_gets_the_same_plan_or_error(
    table: pd.DataFrame,
    households: list[tuple[object, Holdings]],
    as_of: date | None,
    max_age: int,
) -> None:
    day = PriceDay(table, as_of, source="prices.csv")
    shipped = pickle.loads(pickle.dumps(day))  # as a batch worker receives it
    outcomes = {"plan": 0, "error": 0, "warned": 0}
    for k, (hh, lots) in enumerate(households):
        txs = [] if k % 2 else None  # with transactions: the optional prices are looked up
        common = {
            "household": hh,
            "holdings": lots,
            "as_of": as_of,
            "transactions": txs,
            "max_price_age_days": max_age,
        }
        expected = _outcome(
            RebalanceRequest(prices=table, prices_source="prices.csv", **common)  # type: ignore[arg-type]
        )
        assert _outcome(RebalanceRequest(prices=day, **common)) == expected  # type: ignore[arg-type]
        assert _outcome(RebalanceRequest(prices=shipped, **common)) == expected  # type: ignore[arg-type]
        outcomes["error" if expected.startswith("InputError") else "plan"] += 1
        outcomes["warned"] += '"data_warnings": []' not in expected
    assert outcomes["plan"] > 10  # both paths are exercised (on the day a close is missing)
    # a close missing on the day is refused when no carry is allowed, carried otherwise
    assert outcomes["error"] > 10 if as_of and max_age == 0 else outcomes["error"] == 0
    assert outcomes["warned"] > 10


def test_warnings_and_history_are_the_tables(table: pd.DataFrame) -> None:
    from poise.risk import check_prices

    day = PriceDay(table, AS_OF, source="p")
    cols = list(table.columns)
    wanted = [cols[2], "NOPE", cols[0], "CASH", cols[1], "ZZZ"]
    recent = table.loc[:"2022-06-01"].tail(260)
    assert day.warnings_for(wanted) == check_prices(recent, symbols=wanted, as_of=AS_OF, source="p")
    names = (cols[5], "CASH", "NOPE", cols[0])
    aligned = day.aligned(names)
    np.testing.assert_array_equal(aligned, aligned_history(table.loc[:"2022-06-01"], names))
    assert not aligned.flags.writeable  # shared between households: nobody may change it
    assert day.aligned(names) is aligned
    # a table is read by its columns even when one of them is called "aligned"
    named = pd.DataFrame({"aligned": [1.0, 2.0]}, index=pd.bdate_range("2024-01-01", periods=2))
    np.testing.assert_array_equal(
        aligned_history(named, ("aligned", "CASH")), [[1.0, 1.0], [2.0, 1.0]]
    )


def test_errors_name_the_day_and_the_prices(table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="no prices on 2022-06-04") as caught:
        PriceDay(table, date(2022, 6, 4), source="p")
    assert caught.value.field == "as_of"
    day = PriceDay(table, AS_OF, source="p")
    lots = Holdings((Lot("a", "AAPL", 1.0, 10.0, date(2020, 1, 2)),), {"a": 0.0})
    hh = make_household({"AAPL": 1.0}, accounts=(("a", AccountKind.TAXABLE),))
    with pytest.raises(InputError, match="prepared prices are for 2022-06-01") as caught:
        rebalance(RebalanceRequest(household=hh, holdings=lots, prices=day, as_of=date(2022, 6, 2)))
    assert caught.value.field == "as_of"
    assert "PriceDay('p', as_of=2022-06-01" in repr(day)
