"""``poise attribution``: the DESIGN.md keys, checked against an independent regression on
the same backtest, other benchmarks, the report, and bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from poise.backtest import run_backtest
from poise.data import load_dataset
from poise.io import read_household
from tests.conftest import EXAMPLES, run_cli, write

WINDOW = ["--start", "2018-01-02", "--end", "2020-12-31"]


def attribution(*args: object) -> dict:
    result = run_cli(["attribution", *args, "--json"])
    assert result.code == 0, result.stderr
    return result.json()


def test_contract_keys_against_least_squares():
    household = EXAMPLES / "household.toml"
    out = attribution(household, "--prices", "sp500", *WINDOW)
    for key in ("alpha", "beta", "r_squared", "tracking_error", "information_ratio"):
        assert isinstance(out[key], float)
    assert out["benchmark"] == "sp500_index"

    values = run_backtest(
        read_household(household),
        load_dataset("sp500"),
        start=date(2018, 1, 2),
        end=date(2020, 12, 31),
    ).values
    r = values.pct_change().dropna()
    b = load_dataset("sp500_index")["SP500"].pct_change().reindex(r.index)
    design = np.column_stack([np.ones(len(r)), b.to_numpy()])
    coef, *_ = np.linalg.lstsq(design, r.to_numpy(), rcond=None)
    resid = r.to_numpy() - design @ coef
    active = r.to_numpy() - b.to_numpy()
    te = active.std(ddof=1) * np.sqrt(252)
    assert out["alpha"] == pytest.approx(coef[0] * 252, rel=1e-8)
    assert out["beta"] == pytest.approx(coef[1], rel=1e-8)
    assert out["r_squared"] == pytest.approx(1 - resid.var() / r.to_numpy().var(), rel=1e-8)
    assert out["tracking_error"] == pytest.approx(te, rel=1e-8)
    assert out["information_ratio"] == pytest.approx(active.mean() * 252 / te, rel=1e-8)
    brinson = out["brinson"]
    parts = brinson["allocation"] + brinson["selection"] + brinson["interaction"]
    assert parts == pytest.approx(brinson["active_return"], abs=1e-12)
    assert sum(out["contributions"].values()) == pytest.approx(out["holdings_return"])
    assert set(out["rebalancing_effect"]) >= {"cagr_rule", "cagr_buy_and_hold", "effect"}
    assert out["cost_drag"] >= 0
    assert out["tax_drag"] >= 0


def test_benchmark_from_a_file_and_a_column(tmp_path: Path):
    household = EXAMPLES / "household.toml"
    index = load_dataset("sp500_index").loc["2017-06-01":]
    path = tmp_path / "bench.csv"
    index.to_csv(path, date_format="%Y-%m-%d")
    from_file = attribution(household, "--prices", "sp500", *WINDOW, "--benchmark", path)
    bundled = attribution(household, "--prices", "sp500", *WINDOW)
    assert from_file["beta"] == pytest.approx(bundled["beta"], rel=1e-9)
    ko = attribution(
        household, "--prices", "sp500", *WINDOW, "--benchmark", "sp500", "--benchmark-column", "KO"
    )
    assert ko["benchmark"] == "sp500:KO"
    assert ko["beta"] != pytest.approx(bundled["beta"])


def test_report_and_terminal(tmp_path: Path):
    path = tmp_path / "attribution.html"
    result = run_cli(
        ["attribution", EXAMPLES / "household.toml", "--prices", "sp500", *WINDOW, "--report", path]
    )
    assert result.code == 0, result.stderr
    assert "Brinson-Fachler" in result.stdout
    assert "information ratio" in result.stdout
    text = path.read_text()
    assert text.count("plotly.js v") == 1
    assert "Contribution to return" in text


def test_groups_from_the_household(tmp_path: Path):
    text = (EXAMPLES / "household.toml").read_text()
    text += '\n[risk.groups]\ntech = ["AAPL", "MSFT"]\nstaples = ["KO", "PG", "PEP"]\n'
    household = write(tmp_path, "grouped.toml", text)
    out = attribution(household, "--prices", "sp500", *WINDOW)
    groups = out["brinson"]["groups"]
    assert {"tech", "staples", "JPM", "CASH"} <= set(groups)
    assert "AAPL" not in groups


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--benchmark", "sp500"], "--benchmark-column"),
        (["--benchmark", "sp500", "--benchmark-column", "ZZZ"], "has no column 'ZZZ'"),
        (["--benchmark", "missing.csv"], "file not found"),
        (["--risk-free", "5"], "--risk-free"),
        (["--report", "out.pdf"], "HTML"),
        (["--start", "2030-01-01"], "no trading days"),
        (["--every", "week", "--contribution", "100"], "month | quarter | year"),
    ],
)
def test_bad_input_exits_2(args: list[str], text: str):
    result = run_cli(["attribution", EXAMPLES / "household.toml", "--prices", "sp500", *args])
    assert result.code == 2, result.stdout
    assert text in result.stderr
    assert "Traceback" not in result.stderr
