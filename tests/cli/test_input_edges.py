"""Input at the edge (issue "Right money in every case", kind 7): every refusal exits 2 with a
message naming the file, the line or field and the fix, never a traceback; what a user
reasonably writes is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Result, run_cli

HOUSEHOLD = """
[[accounts]]
id = "brokerage"
kind = "taxable"

[targets]
VTI = 0.6
BND = 0.4

[policy]
kind = "threshold"
absolute = 0.05
"""

HOLDINGS = "account,symbol,quantity,cost_basis,acquired\n"
PRICES = "date,VTI,BND\n2024-06-03,100,50\n2024-06-04,101,50\n2024-06-05,102,50\n"
GOOD_LOTS = HOLDINGS + "brokerage,VTI,10,900,2023-01-05\nbrokerage,BND,10,500,2023-01-05\n"
TX_HEADER = "date,account,symbol,side,quantity,price,cost_basis\n"


def files(tmp_path: Path, household=HOUSEHOLD, holdings=GOOD_LOTS, prices=PRICES):
    hh = tmp_path / "h.toml"
    hh.write_text(household)
    lots = tmp_path / "lots.csv"
    lots.write_text(holdings)
    px = tmp_path / "prices.csv"
    px.write_text(prices)
    return hh, lots, px


def refused(result: Result, *needles: str) -> None:
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("poise: error:") or "Error:" in result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def rebalance(hh, lots, px, *extra) -> Result:
    return run_cli(["rebalance", hh, "--holdings", lots, "--prices", px, "--json", *extra])


# ----- numbers in the holdings file ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ('"1,5"', "decimal comma; write 1.5"),
        ("inf", "out of range"),
        ("1e309", "out of range"),
        ("1e308", "out of range"),
        ("5e-324", "too small"),
        ("NaN", "not a number"),
        ("ten", "not a number"),
    ],
)
def test_holdings_numbers_are_refused(tmp_path, cell, hint) -> None:
    hh, lots, px = files(tmp_path, holdings=HOLDINGS + f"brokerage,VTI,{cell},900,2023-01-05\n")
    refused(rebalance(hh, lots, px), str(lots), "line 2", "quantity", hint)


def test_thousands_and_dollars_are_accepted(tmp_path) -> None:
    body = HOLDINGS + 'brokerage,VTI,10,"$1,000",2023-01-05\nbrokerage,CASH,"1,000.50",,\n'
    hh, lots, px = files(tmp_path, holdings=body)
    out = rebalance(hh, lots, px)
    assert out.code == 0, out.stderr
    # 10 VTI at 102 plus 1,000.50 cash
    assert out.json()["total_value"] == pytest.approx(1_020 + 1_000.50)


def test_transactions_numbers_are_refused(tmp_path) -> None:
    hh, lots, px = files(tmp_path)
    tx = tmp_path / "tx.csv"
    tx.write_text(TX_HEADER + '2024-06-03,brokerage,VTI,buy,"2,5",100,\n')
    refused(rebalance(hh, lots, px, "--transactions", tx), str(tx), "line 2", "decimal comma")


# ----- numbers in the prices file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ('"1,5"', "decimal comma"),
        ("1e309", "out of range"),
        ("1e308", "out of range"),
        ("inf", "out of range"),
        ("5e-324", "too small"),
        ("NaN", "leave the cell empty"),
        ("abc", "not a number"),
    ],
)
def test_price_cells_are_refused(tmp_path, cell, hint) -> None:
    prices = f"date,VTI,BND\n2024-06-03,100,50\n2024-06-04,{cell},50\n2024-06-05,102,50\n"
    hh, lots, px = files(tmp_path, prices=prices)
    refused(rebalance(hh, lots, px), str(px), "line 3", "VTI", hint)


def test_a_thousands_price_is_read_as_thousands(tmp_path) -> None:
    prices = 'date,VTI,BND\n2024-06-03,"1,000.00",50\n2024-06-05,"$1,020",50\n'
    hh, lots, px = files(tmp_path, prices=prices)
    out = rebalance(hh, lots, px)
    assert out.code == 0, out.stderr
    assert out.json()["total_value"] == pytest.approx(10 * 1_020 + 10 * 50)


@pytest.mark.parametrize("header", ["Date", "DATE", " date "])
def test_date_header_in_any_case(tmp_path, header) -> None:
    hh, lots, px = files(tmp_path, prices=PRICES.replace("date", header, 1))
    out = rebalance(hh, lots, px)
    assert out.code == 0, out.stderr
    assert out.json()["as_of"] == "2024-06-05"


# ----- files that are not what they should be ------------------------------------------------


@pytest.mark.parametrize("which", ["household", "holdings", "prices", "transactions"])
def test_a_folder_is_not_a_file(tmp_path, which) -> None:
    hh, lots, px = files(tmp_path)
    folder = tmp_path / "folder"
    folder.mkdir()
    args = {"household": hh, "holdings": lots, "prices": px}
    extra = []
    if which == "transactions":
        extra = ["--transactions", folder]
    else:
        args[which] = folder
    out = rebalance(args["household"], args["holdings"], args["prices"], *extra)
    refused(out, str(folder), "folder")


@pytest.mark.parametrize("which", ["household", "holdings", "prices"])
def test_nul_characters(tmp_path, which) -> None:
    hh, lots, px = files(tmp_path)
    target = {"household": hh, "holdings": lots, "prices": px}[which]
    target.write_bytes(target.read_bytes().replace(b"\n", b"\x00\n", 2))
    refused(rebalance(hh, lots, px), str(target), "NUL")


@pytest.mark.parametrize("which", ["holdings", "prices"])
def test_a_spreadsheet_says_export_as_csv(tmp_path, which) -> None:
    hh, lots, px = files(tmp_path)
    sheet = tmp_path / "book.xlsx"
    sheet.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    args = {"holdings": lots, "prices": px, which: sheet}
    refused(rebalance(hh, args["holdings"], args["prices"]), str(sheet), "export it as CSV")


@pytest.mark.parametrize(("mark", "name"), [(";", "semicolons"), ("\t", "tabs")])
@pytest.mark.parametrize("which", ["holdings", "prices"])
def test_semicolon_and_tab_files_say_use_commas(tmp_path, mark, name, which) -> None:
    hh, lots, px = files(tmp_path)
    target = {"holdings": lots, "prices": px}[which]
    target.write_text(target.read_text().replace(",", mark))
    refused(rebalance(hh, lots, px), str(target), name, "use commas")


def test_lower_case_symbols_are_named(tmp_path) -> None:
    body = HOLDINGS + "brokerage,vti,10,900,2023-01-05\n"
    hh, lots, px = files(tmp_path, holdings=body)
    refused(rebalance(hh, lots, px), str(lots), "line 2", "letter case", "write VTI")
    lower = PRICES.replace("VTI", "vti")
    hh, lots, px = files(tmp_path, prices=lower)
    refused(rebalance(hh, lots, px), "case-sensitive")


# ----- household options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "field", "hint"),
    [
        (
            'kind = "volatility"\nabsolute = 0.05\nmax_scale = "two"',
            "policy.max_scale",
            "must be a number",
        ),
        ('kind = "calendar"', "policy.frequency", "needs a frequency"),
        ('kind = "threshold"\nabsolute = 5e-324', "policy.absolute", "between 0 and 1"),
        ('kind = "threshold"\nabsolute = inf', "policy.absolute", "between 0 and 1"),
    ],
)
def test_policy_options(tmp_path, policy, field, hint) -> None:
    household = HOUSEHOLD.replace('kind = "threshold"\nabsolute = 0.05', policy)
    hh, lots, px = files(tmp_path, household=household)
    refused(rebalance(hh, lots, px), str(hh), field, hint)


@pytest.mark.parametrize("value", ["inf", "nan", "1e308", "5e-324"])
def test_trading_numbers(tmp_path, value) -> None:
    household = HOUSEHOLD + f"\n[trading]\nmin_trade_value = {value}\n"
    hh, lots, px = files(tmp_path, household=household)
    refused(rebalance(hh, lots, px), str(hh), "trading.min_trade_value")


# ----- command options -----------------------------------------------------------------------


def test_last_rebalanced_after_as_of(tmp_path) -> None:
    hh, lots, px = files(tmp_path)
    out = rebalance(hh, lots, px, "--as-of", "2024-06-04", "--last-rebalanced", "2024-06-05")
    refused(out, "--last-rebalanced", "after the decision day")


def test_transactions_after_as_of_refused_by_rebalance_and_harvest_alike(tmp_path) -> None:
    hh, lots, px = files(tmp_path)
    tx = tmp_path / "tx.csv"
    tx.write_text(TX_HEADER + "2024-06-05,brokerage,VTI,buy,1,102,\n")
    common = [hh, "--holdings", lots, "--prices", px, "--as-of", "2024-06-04"]
    for command in ("rebalance", "harvest"):
        out = run_cli([command, *common, "--transactions", tx])
        refused(out, str(tx), "after the as-of day 2024-06-04", "2024-06-05")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--deposit", "nan"], "--deposit"),
        (["--deposit", "inf"], "--deposit"),
        (["--withdraw", "1e309"], "--withdraw"),
        (["--deposit", "5e-324"], "--deposit"),
    ],
)
def test_rebalance_amounts(tmp_path, args, option) -> None:
    hh, lots, px = files(tmp_path)
    refused(rebalance(hh, lots, px, *args), option)


@pytest.mark.parametrize(
    "args",
    [
        ["--initial", "inf"],
        ["--initial", "1e308"],
        ["--contribution", "nan"],
        ["--withdraw", "-inf"],
    ],
)
def test_backtest_amounts(args) -> None:
    from tests.conftest import EXAMPLES

    out = run_cli(["backtest", EXAMPLES / "household.toml", "--prices", "sp500", *args])
    refused(out, args[0])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--target-volatility", "12"], "--target-volatility"),
        (["--risk-free-rate", "2"], "--risk-free-rate"),
        (["--tau", "inf"], "--tau"),
    ],
)
def test_optimize_percent_where_a_fraction_is_meant(args, option) -> None:
    model = "mean_variance" if args[0].startswith("--target") else "max_sharpe"
    if args[0] == "--tau":
        model = "black_litterman"
    out = run_cli(
        ["optimize", "--prices", "sp500", "--model", model, "--symbols", "AAPL,MSFT,KO", *args]
    )
    refused(out, option)


# ----- accepted ------------------------------------------------------------------------------


def test_a_cash_only_household_needs_no_price_column(tmp_path) -> None:
    household = HOUSEHOLD.replace("VTI = 0.6\nBND = 0.4", "CASH = 1.0")
    hh, lots, px = files(
        tmp_path,
        household=household,
        holdings=HOLDINGS + "brokerage,CASH,1000,,\n",
        prices="date\n2024-06-03\n2024-06-04\n",
    )
    out = rebalance(hh, lots, px)
    assert out.code == 0, out.stderr
    assert out.json()["total_value"] == pytest.approx(1_000.0)
    assert out.json()["trades"] == []
    back = run_cli(["backtest", hh, "--prices", px, "--json", "--initial", "500"])
    assert back.code == 0, back.stderr
    assert back.json()["final_value"] == pytest.approx(500.0)


def test_a_substitute_without_prices_is_fine_in_a_backtest(tmp_path) -> None:
    household = HOUSEHOLD + '\n[harvest]\nenabled = true\n[harvest.substitutes]\nVTI = ["ITOT"]\n'
    hh, _, px = files(tmp_path, household=household)
    out = run_cli(["backtest", hh, "--prices", px, "--json"])
    assert out.code == 0, out.stderr
    assert any("ITOT" in w for w in out.json()["warnings"])


def test_old_option_spellings_still_work_but_are_hidden() -> None:
    from tests.conftest import EXAMPLES

    base = ["backtest", EXAMPLES / "household.toml", "--prices", "sp500", "--json"]
    window = ["--start", "2020-01-02", "--end", "2021-12-31"]
    new = run_cli([*base, *window, "--withdraw", "100"])
    old = run_cli([*base, *window, "--withdrawal", "100"])
    assert new.code == old.code == 0, (new.stderr, old.stderr)
    assert new.json()["total_withdrawals"] == old.json()["total_withdrawals"] > 0
    both = run_cli([*base, *window, "--withdraw", "100", "--withdrawal", "100"])
    refused(both, "--withdraw", "old name")
    assert "--withdrawal" not in run_cli(["backtest", "--help"]).stdout
    assert "--risk-free " not in run_cli(["attribution", "--help"]).stdout
