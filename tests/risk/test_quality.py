"""Data-quality checks: each kind of problem found where it was planted, and nothing on a
clean table."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise.data import load_dataset
from poise.risk import QualityIssue, QualityRules, check_prices


def clean(days: int = 30) -> pd.DataFrame:
    index = pd.bdate_range("2024-01-01", periods=days)
    rng = np.random.default_rng(3)
    data = 100 * np.cumprod(1 + rng.normal(0, 0.01, (days, 3)), axis=0)
    return pd.DataFrame(data, index=index, columns=["AAA", "BBB", "CCC"])


def kinds(warnings) -> list[tuple[QualityIssue, str | None]]:
    return [(w.issue, w.symbol) for w in warnings]


def test_clean_table_has_no_warnings():
    assert check_prices(clean()) == ()


def test_stale_run_reported_once_with_its_longest_run():
    prices = clean()
    prices.iloc[5:11, 0] = prices.iloc[5, 0]  # 6 identical closes
    prices.iloc[20:25, 0] = prices.iloc[20, 0]  # 5 identical closes
    prices.iloc[14:17, 1] = prices.iloc[14, 1]  # 3: below the threshold
    warnings = check_prices(prices)
    assert kinds(warnings) == [(QualityIssue.STALE, "AAA")]
    w = warnings[0]
    assert w.day == prices.index[10].date()
    assert "6 trading days in a row" in w.message
    assert "2 such runs" in w.message


def test_stale_threshold_is_configurable():
    prices = clean()
    prices.iloc[14:17, 1] = prices.iloc[14, 1]
    assert kinds(check_prices(prices, rules=QualityRules(stale_days=3))) == [
        (QualityIssue.STALE, "BBB")
    ]


def test_calendar_gap_between_rows():
    prices = clean()
    prices = prices.drop(prices.index[10:15])  # a whole week missing
    warnings = check_prices(prices)
    assert kinds(warnings) == [(QualityIssue.GAP, None)]
    assert str(prices.index[10].date()) in warnings[0].message
    assert "calendar days" in str(warnings[0])


def test_hole_inside_a_history_but_not_before_listing():
    prices = clean()
    prices.iloc[:5, 2] = np.nan  # before listing: fine
    prices.iloc[12:14, 2] = np.nan  # a hole: reported
    warnings = check_prices(prices)
    assert kinds(warnings) == [(QualityIssue.GAP, "CCC")]
    assert warnings[0].day == prices.index[12].date()
    assert "2 trading day(s)" in warnings[0].message


def test_impossible_jump_up_and_down():
    prices = clean()
    prices.iloc[8:, 1] *= 2.5  # +150% in one day
    prices.iloc[18:, 0] /= 4.0  # -75% in one day
    warnings = check_prices(prices)
    assert sorted(kinds(warnings)) == [(QualityIssue.JUMP, "AAA"), (QualityIssue.JUMP, "BBB")]
    by_symbol = {w.symbol: w for w in warnings}
    assert by_symbol["BBB"].day == prices.index[8].date()
    assert by_symbol["AAA"].day == prices.index[18].date()
    assert check_prices(prices, rules=QualityRules(max_jump=2.0)) == (
        next(w for w in warnings if w.symbol == "AAA"),
    )


def test_missing_column_and_missing_close_on_as_of():
    prices = clean()
    prices.iloc[-1, 1] = np.nan
    warnings = check_prices(prices, symbols=["AAA", "BBB", "ZZZ", "CASH"])
    assert kinds(warnings) == [(QualityIssue.MISSING, "BBB"), (QualityIssue.MISSING, "ZZZ")] or (
        kinds(warnings) == [(QualityIssue.MISSING, "ZZZ"), (QualityIssue.MISSING, "BBB")]
    )
    missing_close = next(w for w in warnings if w.symbol == "BBB")
    assert missing_close.day == prices.index[-1].date()


def test_as_of_only_checks_rows_up_to_it():
    prices = clean()
    prices.iloc[25:, 0] *= 3.0  # a jump after the as-of day is not seen
    as_of = prices.index[20].date()
    assert check_prices(prices, as_of=as_of) == ()
    assert kinds(check_prices(prices)) == [(QualityIssue.JUMP, "AAA")]


def test_as_of_not_a_row_and_after_the_table():
    prices = clean()
    saturday = date(2024, 1, 6)
    warnings = check_prices(prices, as_of=saturday)
    assert kinds(warnings) == [(QualityIssue.MISSING, None)]
    assert "2024-01-05" in warnings[0].message
    late = check_prices(prices, as_of=date(2025, 1, 1))
    assert kinds(late) == [(QualityIssue.OUTDATED, None)]
    assert "update the prices" in late[0].message


def test_no_prices_at_all_for_a_symbol():
    prices = clean()
    prices["DDD"] = np.nan
    assert kinds(check_prices(prices, symbols=["DDD"])) == [(QualityIssue.MISSING, "DDD")]


@pytest.mark.parametrize("name", ["sp500_index", "sp500"])
def test_bundled_data(name: str):
    warnings = check_prices(load_dataset(name), source=name)
    if name == "sp500_index":
        assert warnings == ()
    else:
        # RRC's first 69 closes are one repeated value, then it falls 67% in a day.
        rrc = [w.issue for w in warnings if w.symbol == "RRC"]
        assert rrc == [QualityIssue.STALE, QualityIssue.JUMP]
