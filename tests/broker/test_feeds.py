"""Prices from feeds: Alpaca's bars through a fake Alpaca on loopback, Yahoo through an
injected download; cached in the store and topped up; stale prices refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("alpaca")

from poise._errors import DataError, InputError
from poise.data import MemoryBarCache, latest_prices, load_feed
from poise.feeds import AlpacaBars, YahooBars
from poise.store import SqlBarCache, make_engine, upgrade
from tests.broker.fake_alpaca import FakeAlpaca
from tests.databases import database_url

END = date(2024, 3, 8)


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca()
    days = [END - timedelta(days=k) for k in range(10, -1, -1)]
    weekdays = [d for d in days if d.weekday() < 5]
    server.bars = {
        "SPY": [(d.isoformat(), 500.0 + i) for i, d in enumerate(weekdays)],
        "AGG": [(d.isoformat(), 100.0 - i / 10) for i, d in enumerate(weekdays)],
    }
    yield server
    server.close()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "memory":
        yield MemoryBarCache()
        return
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield SqlBarCache(engine)
        finally:
            engine.dispose()


def test_alpaca_bars_are_cached_and_topped_up(fake, cache):
    feed = AlpacaBars("key", "secret", url=fake.url)
    early = END - timedelta(days=3)  # a Tuesday: the cache ends there
    first = load_feed("alpaca:SPY,AGG", end=early, cache=cache, feed=feed)
    assert list(first.columns) == ["SPY", "AGG"]
    assert first.index[-1].date() == early
    table = load_feed("alpaca:spy,agg", end=END, cache=cache, feed=feed)
    assert table.index[-1].date() == END
    assert len(fake.bar_requests) == 2
    # the second download starts the day after the cached last day
    assert fake.bar_requests[1]["start"][:10] == (early + timedelta(days=1)).isoformat()
    expected = {d: c for d, c in fake.bars["SPY"]}
    assert {k.date().isoformat(): v for k, v in table["SPY"].items()} == expected
    assert latest_prices(table, END, ["SPY", "AGG"]) == {
        "SPY": fake.bars["SPY"][-1][1],
        "AGG": fake.bars["AGG"][-1][1],
    }
    # nothing new to fetch: the feed is not asked again
    load_feed("alpaca:SPY,AGG", end=END, cache=cache, feed=feed)
    assert len(fake.bar_requests) == 2


def test_stale_and_missing_prices_are_refused(fake):
    feed = AlpacaBars("key", "secret", url=fake.url)
    later = END + timedelta(days=9)
    with pytest.raises(DataError, match=r"SPY is from 2024-03-08, 9 days before 2024-03-17"):
        load_feed("alpaca:SPY", end=later, cache=MemoryBarCache(), feed=feed)
    with pytest.raises(DataError, match="no prices for XYZ"):
        load_feed("alpaca:XYZ", end=END, cache=MemoryBarCache(), feed=feed)
    table = load_feed("alpaca:SPY", end=END, cache=MemoryBarCache(), feed=feed)
    with pytest.raises(DataError, match=r"SPY is from 2024-03-08.*--max-price-age 5"):
        latest_prices(table, END + timedelta(days=6), ["SPY"])
    with pytest.raises(InputError, match="alpaca:SYM"):
        load_feed("alpaca:", end=END)


def test_yahoo_through_an_injected_download():
    calls = []

    def download(symbols, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((symbols, kwargs))
        index = pd.DatetimeIndex(["2024-03-07", "2024-03-08"], tz="America/New_York")
        columns = pd.MultiIndex.from_product([["Close", "Open"], symbols])
        return pd.DataFrame([[10.0, 20.0, 0, 0], [11.0, 21.0, 0, 0]], index=index, columns=columns)

    table = load_feed("yahoo:AAA,BBB", end=END, feed=YahooBars(download))
    assert table.loc["2024-03-08"].to_dict() == {"AAA": 11.0, "BBB": 21.0}
    assert calls[0][1]["auto_adjust"] is True
    assert calls[0][1]["end"] == "2024-03-09"


def test_carry_recent_prices_by_hand() -> None:
    import pandas as pd

    from poise._errors import InputError
    from poise.data import carry_recent_prices

    days = pd.DatetimeIndex(["2024-06-03", "2024-06-04", "2024-06-07", "2024-06-10"])
    table = pd.DataFrame(
        {"A": [1.0, 2.0, 3.0, 4.0], "B": [10.0, 11.0, float("nan"), float("nan")]}, index=days
    )
    assert carry_recent_prices(table, None, ["A"]) is table  # nothing to carry: the same table
    carried = carry_recent_prices(table, date(2024, 6, 7), ["A", "B"], max_age_days=3)
    assert carried.loc["2024-06-07", "B"] == 11.0  # 3 days old: carried
    assert carried.loc["2024-06-10"].isna()["B"]  # only up to the decision day
    assert table.loc["2024-06-07"].isna()["B"]  # the input is left alone
    with pytest.raises(InputError, match=r"B is from 2024-06-04, 6 days before 2024-06-10"):
        carry_recent_prices(table, None, ["A", "B"])
    assert carry_recent_prices(table, None, ["A", "B"], max_age_days=6).loc["2024-06-10", "B"] == 11
