"""``--max-price-age`` on ``poise rebalance``: a held or targeted symbol whose last price is
more than N days older than the as-of day is refused (exit 2, naming the symbol and its last
date); a younger one is carried to the as-of day; the age counts from the as-of day, never
from today (the bundled data ends in 2022 and still plans)."""

from __future__ import annotations

import pytest

from tests.cli.test_rebalance import HOUSEHOLD, LOTS
from tests.conftest import run_cli, write

# BBB's last price is Friday 2024-06-07; AAA trades on to Thursday 2024-06-13
PRICES = (
    "date,AAA,BBB\n"
    "2024-06-03,100,50\n"
    "2024-06-04,101,50\n"
    "2024-06-05,102,51\n"
    "2024-06-06,103,52\n"
    "2024-06-07,104,53\n"
    "2024-06-10,105,\n"
    "2024-06-11,106,\n"
    "2024-06-12,107,\n"
    "2024-06-13,108,\n"
)


@pytest.fixture
def files(tmp_path):
    return (
        write(tmp_path, "h.toml", HOUSEHOLD),
        write(tmp_path, "lots.csv", LOTS),
        write(tmp_path, "prices.csv", PRICES),
    )


def _rebalance(files, *extra):
    hh, lots, prices = files
    return run_cli(["rebalance", hh, "--holdings", lots, "--prices", prices, "--json", *extra])


def test_a_price_older_than_the_limit_is_refused(files) -> None:
    # 2024-06-13 is 6 days after BBB's last price (2024-06-07): more than the default 5
    r = _rebalance(files)
    assert r.code == 2, r.stdout
    assert "BBB" in r.stderr
    assert "2024-06-07" in r.stderr
    assert "6 days" in r.stderr
    assert "--max-price-age 5" in r.stderr
    assert "Traceback" not in r.stderr
    r = _rebalance(files, "--as-of", "2024-06-13", "--max-price-age", "5")
    assert r.code == 2


def test_a_younger_price_is_carried_to_the_as_of_day(files) -> None:
    # on 2024-06-12 BBB's last price (53 on 2024-06-07) is 5 days old: used as is
    r = _rebalance(files, "--as-of", "2024-06-12")
    assert r.code == 0, r.stderr
    plan = r.json()
    assert plan["as_of"] == "2024-06-12"
    # brokerage 70 AAA at 107 and ira 60 BBB at 53: weights by hand
    total = 70 * 107 + 60 * 53
    assert plan["total_value"] == pytest.approx(total)
    assert plan["weights_before"]["BBB"] == pytest.approx(60 * 53 / total)
    # a larger limit admits the older price too, and 0 admits only the day's own prices
    assert _rebalance(files, "--max-price-age", "6").code == 0
    r = _rebalance(files, "--as-of", "2024-06-10", "--max-price-age", "0")
    assert r.code == 2
    assert "BBB" in r.stderr
    assert "2024-06-07" in r.stderr
    assert _rebalance(files, "--as-of", "2024-06-07", "--max-price-age", "0").code == 0


def test_the_age_counts_from_the_as_of_day_not_today() -> None:
    from tests.conftest import EXAMPLES

    r = run_cli(
        [
            "rebalance",
            EXAMPLES / "household.toml",
            "--holdings",
            EXAMPLES / "holdings.csv",
            "--prices",
            "sp500",
            "--as-of",
            "2022-12-01",
            "--json",
        ]
    )
    assert r.code == 0, r.stderr
    assert r.json()["as_of"] == "2022-12-01"
    default = run_cli(
        [
            "rebalance",
            EXAMPLES / "household.toml",
            "--holdings",
            EXAMPLES / "holdings.csv",
            "--prices",
            "sp500",
            "--json",
        ]
    )
    assert default.code == 0, default.stderr
    assert default.json()["as_of"] == "2022-12-28"  # years before today: still plans


def test_a_negative_limit_is_refused(files) -> None:
    r = _rebalance(files, "--max-price-age", "-1")
    assert r.code == 2
    assert "--max-price-age" in r.stderr
