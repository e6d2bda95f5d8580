"""``poise optimize``: the contract keys, options, reports and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poise.allocate import daily_returns
from poise.data import load_dataset
from tests.conftest import run_cli

FIVE = "JNJ,KO,PG,WMT,XOM"


def optimize(*args: object):
    return run_cli(["optimize", "--prices", "sp500", *args])


def test_default_min_variance_on_the_whole_file_matches_closed_form_premise():
    result = optimize("--model", "min_variance", "--symbols", FIVE, "--json")
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["model"] == "min_variance"
    assert out["start"] == "1990-01-03"
    assert out["end"] == "2022-12-28"
    weights = out["weights"]
    assert list(weights) == FIVE.split(",")
    assert sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= 0
    returns = daily_returns(load_dataset("sp500")[FIVE.split(",")])
    cov = np.cov(returns.to_numpy(), rowvar=False)
    x = np.linalg.solve(cov, np.ones(5))
    x /= x.sum()
    assert x.min() > 0  # long-only bound does not bind
    np.testing.assert_allclose(list(weights.values()), x, atol=1e-4)
    rc = out["risk_contributions"]
    assert sum(rc.values()) == pytest.approx(1.0)
    # minimum variance: every asset's marginal risk is equal, so contribution = weight
    np.testing.assert_allclose(list(rc.values()), list(weights.values()), atol=1e-4)
    assert out["volatility"] == pytest.approx(np.sqrt(x @ cov @ x * 252), rel=1e-4)


@pytest.mark.parametrize(
    "model", ["max_sharpe", "risk_parity", "hrp", "equal_weight", "inverse_volatility"]
)
def test_every_model_runs(model):
    result = optimize("--model", model, "--start", "2018-01-01", "--json")
    assert result.code == 0, result.stderr
    assert sum(result.json()["weights"].values()) == pytest.approx(1.0)


def test_constraints_and_views_are_applied():
    result = optimize(
        "--model",
        "black_litterman",
        "--start",
        "2019-01-01",
        "--max-weight",
        "0.3",
        "--max-weight",
        "AAPL=0.12",
        "--min-weight",
        "KO=0.02",
        "--group",
        "banks=BAC,JPM<=0.05",
        "--view",
        "AAPL=0.4@0.9",
        "--view",
        "MSFT-JNJ=0.05@0.5",
        "--json",
    )
    assert result.code == 0, result.stderr
    out = result.json()
    w = out["weights"]
    assert max(w.values()) <= 0.3 + 1e-6
    assert w["AAPL"] == pytest.approx(0.12, abs=1e-5)  # the bullish view hits the cap
    assert w["KO"] >= 0.02 - 1e-6
    assert w["BAC"] + w["JPM"] <= 0.05 + 1e-6
    assert out["views"] == ["AAPL=0.4@0.9", "MSFT-JNJ=0.05@0.5"]
    assert out["constraints"]["groups"][0] == {
        "name": "banks",
        "symbols": ["BAC", "JPM"],
        "min": 0.0,
        "max": 0.05,
    }


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_views_file(tmp_path, suffix):
    path = tmp_path / f"views{suffix}"
    if suffix == ".toml":
        path.write_text(
            'tau = 0.1\nviews = ["AAPL=0.3@0.8", {view = "KO-PG=0.01", confidence = 0.5}]\n'
        )
    else:
        path.write_text(
            json.dumps(
                {"tau": 0.1, "views": ["AAPL=0.3@0.8", {"view": "KO-PG=0.01", "confidence": 0.5}]}
            )
        )
    result = optimize(
        "--model", "black_litterman", "--start", "2020-01-01", "--views", path, "--json"
    )
    assert result.code == 0, result.stderr
    assert result.json()["views"] == ["AAPL=0.3@0.8", "KO-PG=0.01@0.5"]


def test_frontier_and_report(tmp_path):
    report = tmp_path / "out" / "frontier.html"
    result = optimize(
        "--model",
        "max_sharpe",
        "--symbols",
        FIVE,
        "--frontier",
        "--points",
        "8",
        "--report",
        report,
        "--json",
    )
    assert result.code == 0, result.stderr
    out = result.json()
    frontier = out["frontier"]
    assert len(frontier) == 8
    vols = [p["volatility"] for p in frontier]
    rets = [p["expected_return"] for p in frontier]
    assert vols == sorted(vols)
    assert rets == sorted(rets)
    # the maximum Sharpe portfolio is at least as good as every frontier point
    assert out["sharpe"] >= max(p["sharpe"] for p in frontier) - 1e-6
    html = report.read_text()
    assert "<html>" in html[:100]
    assert "Efficient frontier" in html
    assert "<script src=" not in html
    assert len(html) > 1_000_000
    assert out["report"] == str(report)
    assert not list(report.parent.glob(".*.tmp"))


def test_terminal_output_lists_weights():
    result = optimize("--model", "risk_parity", "--symbols", FIVE, "--frontier", "--points", "5")
    assert result.code == 0, result.stderr
    assert "risk contribution" in result.stdout
    assert "Efficient frontier" in result.stdout
    assert "JNJ" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "magic"], "--model: unknown value 'magic'; use one of min_variance"),
        (["--model", "min_variance", "--covariance", "x"], "--covariance: unknown value"),
        (["--model", "min_variance", "--symbols", "AAPL,TSLA"], "--symbols: TSLA not in"),
        (["--model", "min_variance", "--max-weight", "0.01"], "--max-weight: the maximum"),
        (["--model", "min_variance", "--max-weight", "lots"], "--max-weight: 'lots' is not"),
        (["--model", "min_variance", "--group", "tech:AAPL"], "--group: 'tech:AAPL' is not"),
        (["--model", "hrp", "--view", "AAPL=0.1"], "--view: views apply to black_litterman"),
        (["--model", "min_variance", "--view", "TSLA=0.1"], "--view: view 'TSLA=0.1'"),
        (["--model", "mean_variance"], "--target-volatility: mean_variance needs"),
        (
            ["--model", "mean_variance", "--target-volatility", "0.01"],
            "--target-volatility: target volatility 1.00% cannot be reached",
        ),
        (
            [
                "--model",
                "min_variance",
                "--symbols",
                FIVE,
                "--group",
                "a=JNJ,KO>=0.6",
                "--group",
                "b=PG,WMT>=0.6",
            ],
            "--group: the group limits conflict",
        ),
        (["--model", "min_variance", "--start", "2022-12-20"], "too few to fit"),
        (["--model", "min_variance", "--start", "2022-13-01"], "--start: '2022-13-01' is not"),
        (["--model", "risk_parity", "--risk-budget", "AAPL"], "--risk-budget: 'AAPL': write"),
    ],
)
def test_bad_options_exit_2_with_a_message(args, message):
    result = optimize(*args)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_prices_file(tmp_path):
    result = run_cli(["optimize", "--prices", tmp_path / "nope.csv", "--model", "hrp"])
    assert result.code == 2
    assert "file not found" in result.stderr


def test_csv_prices_with_a_late_listing(tmp_path):
    path = tmp_path / "p.csv"
    rows = ["date,A,B,C"]
    rng = np.random.default_rng(0)
    a, b, c = 100.0, 50.0, 20.0
    for i in range(80):
        a *= 1 + rng.normal(0, 0.01)
        b *= 1 + rng.normal(0, 0.02)
        c *= 1 + rng.normal(0, 0.015)
        day = f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}"
        rows.append(f"{day},{a},{b},{'' if i < 30 else c}")
    path.write_text("\n".join(rows) + "\n")
    result = run_cli(["optimize", "--prices", path, "--model", "min_variance", "--json"])
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["observations"] == 49  # returns from the day after C's first price
    assert out["start"] == "2024-02-04"
