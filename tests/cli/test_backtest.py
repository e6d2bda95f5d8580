"""``poise backtest``, ``poise compare`` and ``poise demo`` through the command line."""

from __future__ import annotations

from datetime import date

import pytest

from poise.backtest import ScheduledFlow, run_backtest
from poise.io import read_household, read_prices
from tests.conftest import EXAMPLES, run_cli, write

HOUSEHOLD = """
name = "Test"
[[accounts]]
id = "brokerage"
kind = "taxable"
[[accounts]]
id = "ira"
kind = "tax_deferred"
[targets]
AAPL = 0.4
KO = 0.3
XOM = 0.3
[policy]
kind = "threshold"
absolute = 0.05
[tax]
short_term_rate = 0.3
long_term_rate = 0.15
"""

DESIGN_KEYS = {
    "start",
    "end",
    "initial_value",
    "final_value",
    "total_contributions",
    "cagr",
    "volatility",
    "sharpe",
    "max_drawdown",
    "turnover",
    "rebalances",
    "total_cost",
    "taxes_paid",
}
WINDOW = ["--start", "2015-01-01", "--end", "2017-12-31"]


@pytest.fixture
def household(tmp_path):
    return write(tmp_path, "h.toml", HOUSEHOLD)


def test_backtest_json_matches_the_python_api(household) -> None:
    result = run_cli(
        ["backtest", household, "--prices", "sp500", *WINDOW, "--json", "--initial", "50000"]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert set(out) >= DESIGN_KEYS
    direct = run_backtest(
        read_household(household),
        read_prices("sp500"),
        start=date(2015, 1, 1),
        end=date(2017, 12, 31),
        initial=50_000.0,
    )
    assert out["start"] == "2015-01-02"
    assert out["end"] == "2017-12-29"
    assert out["initial_value"] == 50_000.0
    assert out["final_value"] == pytest.approx(direct.final_value, rel=1e-9)
    assert out["rebalances"] == direct.metrics.rebalances
    assert out["taxes_paid"] == pytest.approx(direct.taxes_paid, rel=1e-9)
    assert out["total_contributions"] == 0.0


def test_backtest_with_contributions_and_withdrawals(household) -> None:
    result = run_cli(
        [
            "backtest",
            household,
            "--prices",
            "sp500",
            *WINDOW,
            "--json",
            "--contribution",
            "1000",
            "--withdrawal",
            "250",
            "--every",
            "quarter",
            "--account",
            "brokerage",
        ]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    direct = run_backtest(
        read_household(household),
        read_prices("sp500"),
        start=date(2015, 1, 1),
        end=date(2017, 12, 31),
        flows=[
            ScheduledFlow(1000.0, "quarter", "brokerage"),
            ScheduledFlow(-250.0, "quarter", "brokerage"),
        ],
    )
    assert out["total_contributions"] == pytest.approx(11 * 1000.0)
    assert out["total_withdrawals"] == pytest.approx(11 * 250.0)
    assert out["final_value"] == pytest.approx(direct.final_value, rel=1e-9)
    assert out["irr"] is not None


def test_backtest_table_and_report(household, tmp_path) -> None:
    report = tmp_path / "out.html"
    result = run_cli(["backtest", household, "--prices", "sp500", *WINDOW, "--report", report])
    assert result.code == 0, result.stderr
    assert "CAGR" in result.stdout
    assert "Report written to" in result.stdout
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "Plotly.newPlot" in text
    assert '<script src="http' not in text  # plotly.js is embedded: works offline
    assert len(text) > 3_000_000
    assert "Weights against their bands" in text


def test_backtest_of_the_example_household() -> None:
    result = run_cli(
        ["backtest", EXAMPLES / "household.toml", "--prices", "sp500", *WINDOW, "--json"]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["household"] == "Rivera household"
    assert out["total_cost"] > 0  # 5 bp spread


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start", "2015-13-01"], "--start"),
        (["--start", "2016-01-01", "--end", "2015-01-01"], "--end"),
        (["--start", "2040-01-01"], "no trading days"),
        (["--initial", "-5"], "--initial"),
        (["--contribution", "100", "--every", "week"], "--every"),
        (["--contribution", "-100"], "--contribution"),
        (["--contribution", "100", "--account", "roth"], "unknown account 'roth'"),
        (["--report", "out.txt"], "--report"),
    ],
)
def test_backtest_bad_input_exits_2(household, extra, message) -> None:
    result = run_cli(["backtest", household, "--prices", "sp500", *extra])
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_backtest_missing_files_exit_2(tmp_path, household) -> None:
    result = run_cli(["backtest", tmp_path / "nope.toml", "--prices", "sp500"])
    assert result.code == 2
    assert "nope.toml" in result.stderr
    result = run_cli(["backtest", household, "--prices", tmp_path / "prices.csv"])
    assert result.code == 2
    prices = write(tmp_path, "p.csv", "date,AAPL,KO\n2024-01-02,1,2\n")
    result = run_cli(["backtest", household, "--prices", prices])
    assert result.code == 2
    assert "XOM" in result.stderr


def test_compare_json(household, tmp_path) -> None:
    report = tmp_path / "compare.html"
    result = run_cli(
        [
            "compare",
            household,
            "--prices",
            "sp500",
            *WINDOW,
            "--policy",
            "calendar:annual",
            "--policy",
            "5/25",
            "--policy",
            "cash_flow",
            "--contribution",
            "500",
            "--json",
            "--report",
            report,
        ]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert [p["spec"] for p in out["policies"]] == ["calendar:annual", "5/25", "cash_flow"]
    for p in out["policies"]:
        assert set(p) >= DESIGN_KEYS
        assert p["total_contributions"] == pytest.approx(35 * 500.0)
    by_spec = {p["spec"]: p for p in out["policies"]}
    assert by_spec["cash_flow"]["rebalances"] == 0
    assert by_spec["calendar:annual"]["rebalances"] == 2
    assert report.exists()
    assert out["report"] == str(report.resolve())


def test_compare_table(household) -> None:
    result = run_cli(
        [
            "compare",
            household,
            "--prices",
            "sp500",
            *WINDOW,
            "--policy",
            "never",
            "--policy",
            "5/25",
        ]
    )
    assert result.code == 0, result.stderr
    assert "buy and hold" in result.stdout
    assert "5/25 bands" in result.stdout


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        (["--policy", "sometimes"], "unknown policy kind"),
        (["--policy", "5/25", "--policy", "5/25"], "given twice"),
    ],
)
def test_compare_bad_input_exits_2(household, policies, message) -> None:
    result = run_cli(["compare", household, "--prices", "sp500", *policies])
    assert result.code == 2
    assert message in result.stderr


def test_demo_writes_a_report(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(["demo", "--start", "2020-01-01", "--end", "2021-12-31"])
    assert result.code == 0, result.stderr
    default = tmp_path / "poise-demo.html"
    assert default.exists()
    assert str(default.resolve()) in result.stdout.replace("\n", "")
    assert "5/25 bands" in result.stdout
    out = tmp_path / "sub" / "d.html"
    out.parent.mkdir()
    result = run_cli(["demo", "--start", "2021-01-01", "--out", out, "--json"])
    assert result.code == 0, result.stderr
    data = result.json()
    assert len(data["policies"]) == 6
    assert data["report"] == str(out.resolve())
    assert "Plotly.newPlot" in out.read_text()


def test_backtest_report_adds_attribution_and_monte_carlo(household, tmp_path) -> None:
    report = tmp_path / "risk.html"
    result = run_cli(
        [
            "backtest",
            household,
            "--prices",
            "sp500",
            *WINDOW,
            "--report",
            report,
            "--paths",
            "200",
            "--years",
            "3",
            "--json",
        ]
    )
    assert result.code == 0, result.stderr
    text = report.read_text()
    assert "Against sp500_index" in text
    assert "Brinson-Fachler" in text
    assert "Monte Carlo: the next 3 years from 2017-12-29" in text
    assert "200 × 36" in text
    assert text.count("Plotly.newPlot") >= 8
    assert text.count("* plotly.js v") == 1  # plotly.js embedded once, works offline


def test_backtest_report_without_benchmark_overlap_says_so(household, tmp_path) -> None:
    bench = write(tmp_path, "bench.csv", "date,IDX\n1980-01-02,100\n1980-01-03,101\n")
    report = tmp_path / "r.html"
    args = ["--report", report, "--benchmark", bench, "--paths", "50", "--years", "1"]
    result = run_cli(["backtest", household, "--prices", "sp500", *WINDOW, *args])
    assert result.code == 0, result.stderr
    assert "Attribution</h2>\n<p>Not available" in report.read_text()
