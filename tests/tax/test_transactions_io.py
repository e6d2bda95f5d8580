"""The transactions CSV reader: format per DESIGN.md, errors that name file, line and fix."""

from __future__ import annotations

from datetime import date

import pytest

from poise import InputError
from poise.io import read_transactions
from poise.model import AccountKind, Side
from tests.conftest import make_household, write

HH = make_household(
    {"VTI": 1.0}, accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED))
)
HEADER = "date,account,symbol,side,quantity,price,cost_basis\n"


def test_reads_buys_and_sells_in_date_order(tmp_path):
    path = write(
        tmp_path,
        "tx.csv",
        HEADER + "2024-05-20,brokerage,VTI,sell,10,90,1000\n2024-05-02,ira,VTI,buy,5,95,\n",
    )
    buy, sell = read_transactions(path, HH)
    assert (buy.date, buy.side, buy.account, buy.cost_basis) == (
        date(2024, 5, 2),
        Side.BUY,
        "ira",
        None,
    )
    assert sell.side is Side.SELL
    assert sell.loss == pytest.approx(1000 - 900)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2024-13-01,brokerage,VTI,buy,1,1,", "line 2.*YYYY-MM-DD"),
        ("2024-05-01,roth,VTI,buy,1,1,", "unknown account 'roth'"),
        ("2024-05-01,brokerage,VTI,hold,1,1,", "side must be buy or sell"),
        ("2024-05-01,brokerage,VTI,buy,-1,1,", "positive number of shares"),
        ("2024-05-01,brokerage,VTI,sell,1,1,", "needs cost_basis"),
        ("2024-05-01,brokerage,VTI,buy,1,1,5", "leaves cost_basis empty"),
        ("2024-05-01,brokerage,CASH,buy,1,1,", "must name a security"),
        ("2024-05-01,brokerage,VTI,buy,x,1,", "quantity must be a number"),
    ],
)
def test_bad_rows_name_the_file_line_and_fix(tmp_path, row, message):
    path = write(tmp_path, "tx.csv", HEADER + row + "\n")
    with pytest.raises(InputError, match=message) as info:
        read_transactions(path, HH)
    assert "tx.csv" in str(info.value)


def test_bad_header(tmp_path):
    path = write(tmp_path, "tx.csv", "date,account,symbol,quantity\n")
    with pytest.raises(InputError, match="header must be"):
        read_transactions(path, HH)
