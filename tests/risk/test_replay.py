"""Crisis replay: windows, coverage, and every figure recomputed from the prices or the
backtest's values by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise import InputError
from poise.backtest import run_backtest
from poise.data import load_dataset
from poise.policy import CalendarPolicy, Frequency, NeverPolicy
from poise.risk import CRISES, covered_windows, parse_window, replay
from tests.conftest import make_household


def test_parse_named_and_custom_windows():
    assert parse_window("GFC") is CRISES["gfc"]
    assert (CRISES["dotcom"].start, CRISES["dotcom"].end) == (date(2000, 3, 24), date(2002, 10, 9))
    custom = parse_window("2018-09-20:2018-12-24")
    assert (custom.start, custom.end) == (date(2018, 9, 20), date(2018, 12, 24))
    for bad, text in (
        ("crash", "unknown window"),
        ("2018-13-01:2019-01-01", "ISO"),
        ("2019-01-01:2018-01-01", "ends before"),
    ):
        with pytest.raises(InputError, match=text):
            parse_window(bad)


def test_coverage_of_the_bundled_data():
    ok, skipped = covered_windows(load_dataset("sp500"), ["AAPL", "KO"])
    assert [w.name for w in ok] == ["dotcom", "gfc", "covid", "2022"]
    assert skipped == []
    ok, skipped = covered_windows(load_dataset("factors"), ["MTUM"])
    assert [w.name for w in ok] == ["covid", "2022"]
    assert [w.name for w, _ in skipped] == ["dotcom", "gfc"]
    assert "2014-01-02" in skipped[0][1]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[["KO", "JNJ", "XOM"]]


def test_single_asset_replay_by_hand(prices):
    hh = make_household({"KO": 1.0}, policy=NeverPolicy())
    window = CRISES["gfc"]
    result = replay(hh, prices, window)
    ko = prices["KO"]
    inside = ko.loc["2007-10-09":"2009-03-09"]
    daily = inside.to_numpy()[1:] / inside.to_numpy()[:-1] - 1
    after = ko.loc["2009-03-10":]
    back = after[after >= inside.iloc[0]]
    for outcome in (result.rule, result.buy_and_hold):
        assert outcome.loss == pytest.approx(inside.iloc[-1] / inside.iloc[0] - 1, rel=1e-9)
        assert outcome.max_drawdown == pytest.approx((inside / inside.cummax() - 1).min(), rel=1e-9)
        assert outcome.worst_day_return == pytest.approx(daily.min(), rel=1e-9)
        assert outcome.worst_day == inside.index[1 + int(np.argmin(daily))].date()
        assert outcome.recovered_on == back.index[0].date()
        assert outcome.days_to_recover == (back.index[0].date() - date(2009, 3, 9)).days


def test_rule_against_buy_and_hold_from_the_backtests(prices):
    hh = make_household(
        {"KO": 0.4, "JNJ": 0.3, "XOM": 0.3}, policy=CalendarPolicy(Frequency.MONTHLY)
    )
    result = replay(hh, prices, CRISES["covid"], initial=50_000.0)
    assert result.start == date(2020, 2, 19)
    assert result.end == date(2020, 3, 23)
    for policy, outcome in ((None, result.rule), (NeverPolicy(), result.buy_and_hold)):
        values = run_backtest(
            hh, prices, start=date(2020, 2, 19), initial=50_000.0, policy=policy
        ).values
        inside = values.loc["2020-02-19":"2020-03-23"]
        assert outcome.loss == pytest.approx(inside.iloc[-1] / inside.iloc[0] - 1, rel=1e-9)
    assert result.rule.rebalances == 1  # the first trading day of March
    assert result.buy_and_hold.rebalances == 0
    assert result.rule.loss != result.buy_and_hold.loss
    out = result.to_dict()
    assert set(out["with_rule"]) >= {"loss", "max_drawdown", "worst_day", "days_to_recover"}


def test_uncovered_window_is_refused(prices):
    hh = make_household({"KO": 1.0})
    with pytest.raises(InputError, match="cannot replay"):
        replay(hh, prices, parse_window("1985-01-01:1987-10-19"))
