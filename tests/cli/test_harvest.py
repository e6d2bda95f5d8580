"""``poise harvest``: the JSON contract, hand-checked figures, wash-sale blocks, bad input."""

from __future__ import annotations

import pytest

from poise.data import load_dataset
from tests.conftest import EXAMPLES, run_cli, write

HOUSEHOLD = EXAMPLES / "household.toml"
HOLDINGS = EXAMPLES / "holdings.csv"
TX_HEADER = "date,account,symbol,side,quantity,price,cost_basis\n"


def harvest(*extra):
    return run_cli(["harvest", HOUSEHOLD, "--holdings", HOLDINGS, "--prices", "sp500", *extra])


def test_json_contract_and_the_jpm_harvest_by_hand():
    result = harvest("--json")
    assert result.code == 0, result.stderr
    out = result.json()
    for key in (
        "as_of",
        "trades",
        "harvested_short_term",
        "harvested_long_term",
        "estimated_tax_saving",
        "blocked",
    ):
        assert key in out
    assert out["as_of"] == "2022-12-28"
    # JPM: 50 sh bought 2021-10-20 for 8,100.30 (long-term), close 129.575, spread 5 bps:
    # proceeds 50 × 129.575 × (1 - 0.0005) → loss; saved at the 15% long-term rate.
    price = float(load_dataset("sp500").loc["2022-12-28", "JPM"])
    loss = 50 * price * (1 - 5e-4) - 8100.30
    sell = next(t for t in out["trades"] if t["side"] == "sell")
    assert (sell["symbol"], sell["account"], sell["quantity"]) == ("JPM", "brokerage", 50)
    assert sell["realized_long_term"] == pytest.approx(loss)
    assert out["harvested_long_term"] == pytest.approx(loss)
    assert out["harvested_short_term"] == 0
    assert out["estimated_tax_saving"] == pytest.approx(-loss * 0.15)
    buy = next(t for t in out["trades"] if t["side"] == "buy")
    assert buy["symbol"] == "BAC"  # the declared substitute
    assert buy["quantity"] == int(buy["quantity"])  # whole shares (fractional = false)
    # AAPL and MSFT lots are at a loss but have no substitute: blocked, with the fix
    blocked = {b["symbol"]: b for b in out["blocked"]}
    assert set(blocked) == {"AAPL", "MSFT"}
    assert "[harvest.substitutes]" in blocked["AAPL"]["reason"]
    assert blocked["AAPL"]["loss"] < 0


def test_a_recent_loss_sale_of_the_substitute_blocks_the_harvest(tmp_path):
    # BAC sold at a loss in the brokerage 8 days ago: buying it would wash that loss, and JPM
    # has no other substitute, so JPM is blocked and the reason says why.
    tx = write(tmp_path, "tx.csv", TX_HEADER + "2022-12-20,brokerage,BAC,sell,10,31,400\n")
    out = harvest("--transactions", tx, "--json").json()
    assert not [t for t in out["trades"] if t["symbol"] in {"JPM", "BAC"}]
    jpm = next(b for b in out["blocked"] if b["symbol"] == "JPM")
    assert "BAC was sold at a loss" in jpm["reason"]
    # The same sale in the IRA is no deductible loss and washes nothing: JPM is harvested.
    tx = write(tmp_path, "tx2.csv", TX_HEADER + "2022-12-20,ira,BAC,sell,10,31,400\n")
    out = harvest("--transactions", tx, "--json").json()
    assert [t["symbol"] for t in out["trades"]] == ["JPM", "BAC"]


def test_a_recent_purchase_blocks_and_names_the_window(tmp_path):
    holdings = write(
        tmp_path,
        "holdings.csv",
        HOLDINGS.read_text() + "roth,JPM,60,7800,2022-12-16\n",
    )
    result = run_cli(["harvest", HOUSEHOLD, "--holdings", holdings, "--prices", "sp500", "--json"])
    assert result.code == 0, result.stderr
    out = result.json()
    assert not [t for t in out["trades"] if t["symbol"] == "JPM"]
    jpm = next(b for b in out["blocked"] if b["symbol"] == "JPM")
    assert jpm["until"] == "2023-01-16"  # 2022-12-16 + 31 days
    assert "wash" in jpm["reason"]


def test_table_output_escapes_brackets():
    result = harvest()
    assert result.code == 0, result.stderr
    assert "[harvest.substitutes]" in result.stdout
    assert "JPM" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,account\n", "header must be"),
        (TX_HEADER + "2022-12-20,nowhere,BAC,sell,10,31,400\n", "unknown account"),
        (TX_HEADER + "2023-01-20,brokerage,BAC,buy,10,31,\n", "after the as-of day"),
    ],
)
def test_bad_transactions_exit_2_with_the_file_and_fix(tmp_path, content, message):
    tx = write(tmp_path, "tx.csv", content)
    result = harvest("--transactions", tx)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_rebalance_takes_transactions(tmp_path):
    # A loss sale of KO ten days ago blocks buying KO: the plan buys PEP (its substitute) or
    # leaves the cash, and never KO.
    tx = write(tmp_path, "tx.csv", TX_HEADER + "2022-12-19,brokerage,KO,sell,5,60,400\n")
    result = run_cli(
        [
            "rebalance",
            HOUSEHOLD,
            "--holdings",
            HOLDINGS,
            "--prices",
            "sp500",
            "--force",
            "--transactions",
            tx,
            "--json",
        ]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert not [t for t in out["trades"] if t["symbol"] == "KO" and t["side"] == "buy"]
