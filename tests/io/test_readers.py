"""Every reader refuses bad input with a message naming the file, the place and the fix."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from poise import InputError
from poise.io import read_holdings, read_household, read_prices
from poise.model import AccountKind, LotMethod
from poise.policy import ThresholdPolicy
from tests.conftest import EXAMPLES, write

GOOD = """
name = "T"
[[accounts]]
id = "brokerage"
kind = "taxable"
[[accounts]]
id = "ira"
kind = "tax_deferred"
[targets]
VTI = 0.6
BND = 0.4
"""


def test_example_household_reads():
    hh = read_household(EXAMPLES / "household.toml")
    assert [a.kind for a in hh.accounts] == [
        AccountKind.TAXABLE,
        AccountKind.TAX_DEFERRED,
        AccountKind.TAX_FREE,
    ]
    assert sum(hh.targets.values()) == pytest.approx(1.0)
    assert hh.policy == ThresholdPolicy(0.05, 0.25)
    assert hh.tax.lot_method is LotMethod.TAX_MIN
    assert hh.trading.fractional is False
    assert hh.harvest.substitutes["JNJ"] == ("MRK", "PFE")


def test_defaults(tmp_path):
    hh = read_household(write(tmp_path, "h.toml", GOOD))
    assert hh.name == "T"
    assert hh.trading.fractional is True
    assert hh.tax.lot_method is LotMethod.FIFO


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        ("colour = 1\n" + GOOD, "colour", "unknown key"),
        (GOOD + "[trading]\nfees = 1\n", "trading.fees", "allowed:"),
        (GOOD.replace("0.4", "0.3"), "targets", "sum to 0.9"),
        (GOOD.replace("0.4", "0.5"), "targets", "reduce them"),
        (GOOD.replace("BND = 0.4", "BND = -0.1\nX = 0.5"), "targets.BND", "≥ 0"),
        (GOOD.replace('kind = "tax_deferred"', 'kind = "roth"'), "accounts[1].kind", "taxable |"),
        (GOOD.replace('id = "ira"', 'id = "brokerage"'), "accounts[1].id", "used twice"),
        (GOOD + "[tax]\nlot_method = 'avg'\n", "tax.lot_method", "fifo | lifo"),
        (GOOD + "[tax]\nlong_term_rate = 15\n", "tax.long_term_rate", "fraction"),
        (GOOD + "[trading]\nfractional = 'yes'\n", "trading.fractional", "true or false"),
        (GOOD + "[trading]\ncommission = -1\n", "trading.commission", "negative"),
        (GOOD + "[policy]\nkind = 'sometimes'\n", "policy.kind", "calendar |"),
        ('name = "x"\n[targets]\nA = 1.0\n', "accounts", "at least one account"),
        (GOOD + "[plan]\nmethod = 'magic'\n", "plan.method", "heuristic"),
    ],
)
def test_household_errors(tmp_path, text, field, hint):
    path = write(tmp_path, "h.toml", text)
    with pytest.raises(InputError) as err:
        read_household(path)
    message = str(err.value)
    assert str(path) in message
    assert field in message
    assert hint in message


def test_household_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        read_household(write(tmp_path, "h.toml", "name = \n"))
    with pytest.raises(InputError, match="file not found"):
        read_household(tmp_path / "nope.toml")


HEADER = "account,symbol,quantity,cost_basis,acquired\n"


def test_holdings_read(tmp_path):
    hh = read_household(write(tmp_path, "h.toml", GOOD))
    path = write(
        tmp_path,
        "lots.csv",
        HEADER
        + "brokerage,VTI,10,2000,2023-01-05\nira,BND,5.5,400,2022-02-01\n"
        + "brokerage,CASH,100,,\nbrokerage,CASH,50.5,,\n",
    )
    holdings = read_holdings(path, hh)
    assert holdings.cash == {"brokerage": 150.5, "ira": 0.0}
    assert holdings.quantities() == {("brokerage", "VTI"): 10.0, ("ira", "BND"): 5.5}
    assert holdings.lots[0].acquired == date(2023, 1, 5)


@pytest.mark.parametrize(
    ("body", "where", "hint"),
    [
        ("roth,VTI,10,2000,2023-01-05\n", "line 2", "unknown account 'roth'"),
        ("brokerage,VTI,-1,2000,2023-01-05\n", "line 2", "negative"),
        ("brokerage,VTI,ten,2000,2023-01-05\n", "line 2", "quantity must be a number"),
        ("brokerage,VTI,1,2000,05/01/2023\n", "line 2", "YYYY-MM-DD"),
        ("brokerage,VTI,1,-5,2023-01-05\n", "line 2", "cost_basis is negative"),
        ("brokerage,CASH,100,5,\n", "line 2", "CASH row"),
        ("brokerage,VTI,1,2000\n", "line 2", "4 fields"),
        ("brokerage,,1,2000,2023-01-05\n", "line 2", "symbol is empty"),
    ],
)
def test_holdings_errors(tmp_path, body, where, hint):
    hh = read_household(write(tmp_path, "h.toml", GOOD))
    path = write(tmp_path, "lots.csv", HEADER + body)
    with pytest.raises(InputError) as err:
        read_holdings(path, hh)
    message = str(err.value)
    assert str(path) in message
    assert where in message
    assert hint in message


def test_holdings_header_and_empty(tmp_path):
    with pytest.raises(InputError, match="missing acquired"):
        read_holdings(write(tmp_path, "a.csv", "account,symbol,quantity,cost_basis\n"))
    with pytest.raises(InputError, match="empty"):
        read_holdings(write(tmp_path, "b.csv", ""))
    # A header alone is an empty household (a first deposit invests it; issue 10, kind 2).
    empty = read_holdings(write(tmp_path, "c.csv", HEADER))
    assert empty.lots == ()
    assert not any(empty.cash.values())


def test_prices_read(tmp_path):
    path = write(tmp_path, "p.csv", "date,A,B\n2024-01-02,10,\n2024-01-03,11,20.5\n")
    prices = read_prices(path)
    assert list(prices.columns) == ["A", "B"]
    assert np.isnan(prices.iloc[0, 1])
    assert prices.iloc[1, 1] == 20.5


def test_bundled_dataset():
    prices = read_prices("sp500")
    assert prices.shape == (8313, 20)
    assert prices.index[0].date() == date(1990, 1, 2)
    assert prices.index.is_monotonic_increasing


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ("", None, "empty"),
        ("day,A\n2024-01-02,1\n", "line 1", "must be 'date'"),
        ("date,A,A\n2024-01-02,1,2\n", "line 1", "appears twice"),
        ("date,A\n2024-13-02,1\n", "line 2", "not an ISO date"),
        ("date,A\n2024-01-03,1\n2024-01-02,1\n", "line 3", "ascending"),
        ("date,A\n2024-01-03,1\n2024-01-03,1\n", "line 3", "repeats"),
        ("date,A\n2024-01-02,1\n2024-01-03,abc\n", "line 3", "not a number"),
        ("date,A\n2024-01-02,-3\n", "line 2", "must be positive"),
        ("date,A\n", None, "no rows"),
    ],
)
def test_price_errors(tmp_path, text, where, hint):
    path = write(tmp_path, "p.csv", text)
    with pytest.raises(InputError) as err:
        read_prices(path)
    message = str(err.value)
    assert str(path) in message
    assert where is None or where in message
    assert hint in message


def test_unknown_dataset_or_missing_file():
    with pytest.raises(InputError, match="sp500"):
        read_prices("no_such_file.csv")


def test_atomic_write_leaves_an_ordinary_readable_file(tmp_path):
    import os
    import stat

    from poise.io import write_text_atomic

    target = write_text_atomic(tmp_path / "out" / "report.html", "<html></html>")
    assert target.read_text() == "<html></html>"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_substitute_that_is_a_target_is_refused(tmp_path):
    text = GOOD + '[harvest]\nenabled = true\n[harvest.substitutes]\nVTI = ["ITOT", "BND"]\n'
    with pytest.raises(InputError) as err:
        read_household(write(tmp_path, "h.toml", text))
    message = str(err.value)
    assert "harvest.substitutes.VTI" in message
    assert "substitute BND for VTI is itself a target" in message
