"""``poise rebalance`` through the real command line: contract keys, tables, and every
bad-input path (exit 2, a message naming the file and field, no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
AAA = 0.6
BBB = 0.4
[policy]
kind = "threshold"
absolute = 0.05
[tax]
lot_method = "fifo"
short_term_rate = 0.3
long_term_rate = 0.15
"""

PRICES = "date,AAA,BBB\n2024-06-03,100,50\n2024-06-04,110,50\n"
LOTS = (
    "account,symbol,quantity,cost_basis,acquired\n"
    "brokerage,AAA,70,5600,2020-01-02\n"
    "ira,BBB,60,3000,2021-01-04\n"
    "ira,CASH,0,,\n"
)


@pytest.fixture
def files(tmp_path):
    return (
        write(tmp_path, "h.toml", HOUSEHOLD),
        write(tmp_path, "lots.csv", LOTS),
        write(tmp_path, "prices.csv", PRICES),
    )


def args(files, *extra):
    hh, lots, prices = files
    return ["rebalance", hh, "--holdings", lots, "--prices", prices, *extra]


CONTRACT_KEYS = {
    "as_of",
    "triggered",
    "reasons",
    "total_value",
    "targets",
    "weights_before",
    "weights_after",
    "trades",
    "total_cost",
    "realized_short_term",
    "realized_long_term",
    "estimated_tax",
}
TRADE_KEYS = {
    "account",
    "symbol",
    "side",
    "quantity",
    "price",
    "value",
    "cost",
    "realized_short_term",
    "realized_long_term",
    "reason",
}


def test_json_contract(files):
    # 2024-06-04: AAA 70 × 110 = 7,700, BBB 60 × 50 = 3,000; total 10,700; AAA 71.96% > 65%.
    # Goal AAA 6,420 → sell 1,280 / 110 = 11.636 sh (brokerage, the only holder: taxable, FIFO,
    # long-term gain 11.636 × (110 - 80) = 349.09). Cash lands in the brokerage, so BBB
    # (goal 4,280, +1,280) is bought there.
    result = run_cli(args(files, "--json"))
    assert result.code == 0, result.stderr
    out = result.json()
    assert set(out) >= CONTRACT_KEYS
    assert out["as_of"] == "2024-06-04"
    assert out["triggered"] is True
    assert out["total_value"] == pytest.approx(10700)
    assert set(out["weights_before"]) == {"AAA", "BBB", "CASH"}
    assert out["weights_before"]["AAA"] == pytest.approx(7700 / 10700)
    trades = {(t["account"], t["symbol"], t["side"]): t for t in out["trades"]}
    assert set(trades) == {("brokerage", "AAA", "sell"), ("brokerage", "BBB", "buy")}
    sell = trades[("brokerage", "AAA", "sell")]
    assert set(sell) >= TRADE_KEYS
    assert sell["quantity"] == pytest.approx(1280 / 110)
    assert sell["value"] == pytest.approx(sell["quantity"] * sell["price"])
    assert sell["realized_long_term"] == pytest.approx(1280 / 110 * 30)
    assert out["estimated_tax"] == pytest.approx(0.15 * 1280 / 110 * 30)
    assert out["weights_after"]["AAA"] == pytest.approx(0.6)
    # the reason's fields ride along with its text
    why = sell["why"]
    assert (why["kind"], why["action"], why["symbol"]) == ("to target", "sell to target", "AAA")
    assert why["weight"] == pytest.approx(7700 / 10700)
    assert why["target"] == pytest.approx(0.6)
    assert sell["reason"].startswith("AAA 72.0% vs target 60.0%")


def test_as_of_and_table_output(files):
    result = run_cli(args(files, "--as-of", "2024-06-03"))
    assert result.code == 0, result.stderr
    assert "2024-06-03" in result.stdout
    assert "Weights" in result.stdout
    assert "Trades" in result.stdout or "No trades" in result.stdout


def test_deposit_into_account(files):
    result = run_cli(args(files, "--deposit", "1000", "--account", "ira", "--json"))
    assert result.code == 0, result.stderr
    buys = [t for t in result.json()["trades"] if t["side"] == "buy"]
    assert buys
    assert {t["account"] for t in buys} <= {"ira", "brokerage"}


def test_example_table_runs():
    result = run_cli(
        [
            "rebalance",
            EXAMPLES / "household.toml",
            "--holdings",
            EXAMPLES / "holdings.csv",
            "--prices",
            "sp500",
        ]
    )
    assert result.code == 0, result.stderr
    assert "Rivera household" in result.stdout


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        (["--as-of", "2024-06-08"], "no prices on 2024-06-08"),
        (["--as-of", "June 3"], "--as-of"),
        (["--deposit", "100", "--account", "roth"], "unknown account 'roth'"),
        (["--deposit", "-5", "--account", "ira"], "positive amount"),
        (
            ["--deposit", "100"],
            "--account: say which account the cash flow is for: brokerage | ira",
        ),
        (["--withdraw", "100000", "--account", "ira"], "exceed"),
        (["--withdraw", "5000", "--account", "ira"], "cannot be met"),
        (["--account", "ira"], "--account: an account goes with a deposit or a withdrawal"),
    ],
)
def test_bad_options_exit_2(files, extra, hint):
    result = run_cli(args(files, *extra))
    assert result.code == 2
    assert hint in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("which", "text", "hint"),
    [
        (0, HOUSEHOLD.replace("0.4", "0.3"), "sum to 0.9"),
        (1, LOTS + "brokerage,AAA,-3,10,2020-01-01\n", "negative"),
        (1, LOTS + "roth,AAA,3,10,2020-01-01\n", "unknown account"),
        (1, LOTS + "brokerage,AAA,3,10,2025-01-01\n", "after the as-of day"),
        (2, "date,AAA,BBB\n2024-06-03,100,\n2024-06-04,110,\n", "no price for 'BBB'"),
        (2, "date,AAA,AAA\n2024-06-03,1,2\n", "appears twice"),
        (2, "", "empty"),
    ],
)
def test_bad_files_exit_2(tmp_path, files, which, text, hint):
    paths = list(files)
    paths[which] = write(tmp_path, f"bad{which}", text)
    extra = ["--as-of", "2024-06-04"] if which == 1 else []
    result = run_cli(args(paths, *extra))
    assert result.code == 2, result.stderr
    assert hint in result.stderr
    assert str(paths[which]) in result.stderr
    assert "Traceback" not in result.stderr


def test_held_symbol_missing_from_prices_names_the_prices_file(tmp_path, files):
    lots = write(tmp_path, "more.csv", LOTS + "brokerage,CCC,3,10,2020-01-01\n")
    result = run_cli(args((files[0], lots, files[2])))
    assert result.code == 2
    assert f"{files[2]}: CCC: has no column for 'CCC'" in result.stderr


def test_usage_error_is_exit_2(files):
    result = run_cli(["rebalance", files[0]])
    assert result.code == 2


def test_console_script_has_no_traceback(tmp_path, files):
    bad = write(tmp_path, "bad.toml", HOUSEHOLD.replace("taxable", "brokerage"))
    proc = subprocess.run(
        [sys.executable, "-m", "poise", *args((bad, files[1], files[2]))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "accounts[0].kind" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_data_quality_warnings_reach_the_plan(tmp_path, files):
    # AAA is stuck at 100 for 7 days (stale) and BBB doubles overnight (impossible jump).
    prices = write(
        tmp_path,
        "stale.csv",
        "date,AAA,BBB\n"
        + "".join(f"2024-05-{d},100,50\n" for d in (27, 28, 29, 30, 31))
        + "2024-06-03,100,50\n2024-06-04,100,100\n",
    )
    result = run_cli(args((files[0], files[1], prices), "--json"))
    assert result.code == 0, result.stderr
    warnings = " ".join(result.json()["data_warnings"])
    assert "AAA" in warnings
    assert "BBB" in warnings
    table = run_cli(args((files[0], files[1], prices)))
    assert "data:" in table.stdout


def test_warnings_keep_their_brackets(capsys):
    from poise.cli._app import warn

    warn("warning", "add one under [harvest.substitutes]")
    assert "add one under [harvest.substitutes]" in capsys.readouterr().out
