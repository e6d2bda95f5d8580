"""Every example household in examples/ reads, plans and backtests on the bundled data."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES, run_cli

HOUSEHOLDS = sorted(EXAMPLES.glob("*.toml"))


def test_there_are_examples():
    assert len(HOUSEHOLDS) >= 3


@pytest.mark.parametrize("household", HOUSEHOLDS, ids=lambda p: p.stem)
def test_example_rebalances(household):
    result = run_cli(
        [
            "rebalance",
            household,
            "--holdings",
            EXAMPLES / "holdings.csv",
            "--prices",
            "sp500",
            "--json",
        ]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert sum(out["weights_after"].values()) == pytest.approx(1.0)
    assert sum(out["targets"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("household", HOUSEHOLDS, ids=lambda p: p.stem)
def test_example_backtests(household):
    result = run_cli(
        [
            "backtest",
            household,
            "--prices",
            "sp500",
            "--start",
            "2019-01-02",
            "--end",
            "2020-12-31",
            "--contribution",
            "500",
            "--every",
            "month",
            "--json",
        ]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["final_value"] > 0
    assert out["total_contributions"] == pytest.approx(500 * 24, rel=0.05)
