"""Honest defaults and notes (issue "Right money in every case", kind 8)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from poise.data import load_dataset
from poise.risk import MonteCarloSettings, monte_carlo
from tests.conftest import EXAMPLES, make_household, run_cli

HOUSEHOLD = """
[[accounts]]
id = "brokerage"
kind = "taxable"

[targets]
AAPL = 0.5
KO = 0.5
"""


def test_a_lot_after_the_bundled_prices_says_how_to_bring_ones_own(tmp_path) -> None:
    hh = tmp_path / "h.toml"
    hh.write_text(HOUSEHOLD)
    lots = tmp_path / "lots.csv"
    lots.write_text(
        "account,symbol,quantity,cost_basis,acquired\nbrokerage,AAPL,10,1500,2024-03-01\n"
    )
    for command in ("rebalance", "harvest"):
        out = run_cli([command, hh, "--holdings", lots, "--prices", "sp500"])
        assert out.code == 2, out.stderr
        assert "the bundled prices end on 2022-12-28" in out.stderr
        assert "bring your own prices" in out.stderr
        assert "README" in out.stderr
    later = run_cli(
        ["rebalance", hh, "--holdings", lots, "--prices", "sp500", "--as-of", "2024-06-03"]
    )
    assert later.code == 2
    assert "bring your own prices" in later.stderr
    # a CSV of one's own has no such note
    own = tmp_path / "p.csv"
    own.write_text("date,AAPL,KO\n2024-01-02,180,60\n")
    out = run_cli(["rebalance", hh, "--holdings", lots, "--prices", own])
    assert out.code == 2
    assert "bring your own prices" not in out.stderr


def test_the_price_index_benchmark_is_named_as_such(tmp_path) -> None:
    args = ["attribution", EXAMPLES / "household.toml", "--prices", "sp500"]
    window = ["--start", "2015-01-02", "--end", "2018-12-31", "--json"]
    out = run_cli([*args, *window])
    assert out.code == 0, out.stderr
    assert any("price index" in note for note in out.json()["notes"])
    # a total-return benchmark of one's own: no note
    index = load_dataset("sp500_index")
    bench = tmp_path / "tr.csv"
    (index * 1.0).loc["2014":"2019"].to_csv(bench, date_format="%Y-%m-%d")
    own = run_cli([*args, "--benchmark", bench, *window])
    assert own.code == 0, own.stderr
    assert own.json()["notes"] == []
    text = run_cli([*args, *window[:-1]])
    assert "price index" in text.stdout


def test_monte_carlo_warns_on_short_history_and_hindsight() -> None:
    prices = load_dataset("sp500")[["AAPL", "KO"]]
    hh = make_household({"AAPL": 0.5, "KO": 0.5})
    short = monte_carlo(
        hh, prices.loc["2019":], MonteCarloSettings(paths=50, years=30, seed=0), initial_value=1e5
    )
    assert any("history covers 4.0 years for a 30-year horizon" in n for n in short.notes)
    assert any("hindsight" in n for n in short.notes)
    own = pd.DataFrame(prices.to_numpy(), index=prices.index, columns=prices.columns)
    long = monte_carlo(hh, own, MonteCarloSettings(paths=50, years=10, seed=0), initial_value=1e5)
    assert not any("history covers" in n or "hindsight" in n for n in long.notes)


def test_library_warnings_stay_off_stderr() -> None:
    from poise.cli._app import quiet_library_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_library_warnings()
        np.log(np.array([-1.0]))  # numpy: RuntimeWarning (invalid value)
        warnings.warn("solver inaccurate", UserWarning, stacklevel=1)  # poise's own: kept
    assert [str(w.message) for w in caught] == ["solver inaccurate"]


@pytest.mark.parametrize(
    "args",
    [
        ["optimize", "--prices", "sp500", "--model", "max_sharpe", "--json"],
        [
            "backtest",
            EXAMPLES / "household.toml",
            "--prices",
            "sp500",
            "--start",
            "2021-01-04",
            "--json",
        ],
    ],
)
def test_a_successful_run_writes_nothing_on_stderr(args) -> None:
    out = run_cli(args)
    assert out.code == 0
    assert out.stderr == ""
