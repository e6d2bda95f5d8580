"""The volatility policy reads each asset's own prices, whatever order the door lists them in.

The defect (issue 9): ``poise rebalance`` built the price history in its own column order
(targets, then held symbols as the holdings file lists them) while the plan folds a held
harvest substitute into the targets first; with a substitute and an untargeted symbol both
held, the policy read the substitute's calm prices as the untargeted symbol's and proposed a
rebalance that the engine, given aligned history, would not make.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poise.app import RebalanceRequest, rebalance
from poise.io import read_holdings, read_household, read_prices
from poise.plan import plan_rebalance
from tests.conftest import run_cli

N_DAYS = 300
WINDOW, LONG = 20, 250
HOUSEHOLD = f"""
name = "labelled history"

[[accounts]]
id = "brokerage"
kind = "taxable"

[targets]
T1 = 0.5
P = 0.5

[policy]
kind = "volatility"
absolute = 0.05
window = {WINDOW}
long_window = {LONG}
min_scale = 0.5
max_scale = 2.0

[harvest]
enabled = true

[harvest.substitutes]
P = ["SUB"]
"""


def _alternating(n: int, size: float) -> np.ndarray:
    return np.array([size if i % 2 else -size for i in range(n)])


def _prices() -> pd.DataFrame:
    days = pd.bdate_range("2023-01-02", periods=N_DAYS + 1)
    calm = _alternating(N_DAYS, 0.005)
    wild = np.concatenate([_alternating(N_DAYS - WINDOW, 0.005), _alternating(WINDOW, 0.03)])
    path = {
        "T1": 100 * np.cumprod(np.concatenate([[1.0], 1 + calm])),
        "P": 50 * np.cumprod(np.concatenate([[1.0], 1 + calm])),
        "SUB": 80 * np.cumprod(np.concatenate([[1.0], 1 + calm])),
        "UNT": 20 * np.cumprod(np.concatenate([[1.0], 1 + wild])),
    }
    return pd.DataFrame(path, index=days)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    prices = _prices()
    last = prices.iloc[-1]
    # T1 46 %, P 23 %, SUB 23 % (the P group 46 %), UNT 8 % of 100,000; the untargeted
    # symbol is listed before the substitute, as a holdings export may well list them
    value = {"T1": 46_000.0, "P": 23_000.0, "UNT": 8_000.0, "SUB": 23_000.0}
    rows = ["account,symbol,quantity,cost_basis,acquired"]
    for sym, v in value.items():
        q = v / float(last[sym])
        rows.append(f"brokerage,{sym},{q!r},{v!r},2022-06-01")
    (tmp_path / "hh.toml").write_text(HOUSEHOLD)
    (tmp_path / "holdings.csv").write_text("\n".join(rows) + "\n")
    prices.index.name = "date"
    prices.to_csv(tmp_path / "prices.csv", date_format="%Y-%m-%d")
    return {
        "household": tmp_path / "hh.toml",
        "holdings": tmp_path / "holdings.csv",
        "prices": tmp_path / "prices.csv",
    }


def test_the_untargeted_symbol_is_judged_on_its_own_volatility(files: dict[str, Path]) -> None:
    # by hand: UNT's recent vol over its long-run vol is 0.03 / sqrt((230×0.005² + 20×0.03²)
    # / 250) ≈ 3.2, clipped to 2: its band is 10 pp, and it holds 8 % (target 0): inside.
    # Every other asset (and the P group) drifts 4 pp against a calm 5 pp band (scale 1).
    r = np.concatenate([_alternating(LONG - WINDOW, 0.005), _alternating(WINDOW, 0.03)])
    assert min(np.std(r[-WINDOW:]) / np.std(r), 2.0) * 0.05 > 0.08

    cli = run_cli(
        ["rebalance", files["household"], "--holdings", files["holdings"], "--prices",
         files["prices"], "--json"]
    )  # fmt: skip
    assert cli.code == 0, cli.stderr
    out = cli.json()

    hh = read_household(files["household"])
    lots = read_holdings(files["holdings"], hh)
    table = read_prices(str(files["prices"]))
    on = table.index[-1].date()
    api = plan_rebalance(
        hh, lots, {str(s): float(p) for s, p in table.iloc[-1].items()}, on, history=table
    )
    via_app = rebalance(RebalanceRequest(household=hh, holdings=lots, prices=table)).plan

    assert not api.triggered, api.reasons
    assert out["triggered"] is False, out["reasons"]
    assert out["reasons"] == list(api.reasons) == list(via_app.reasons)
    assert out["trades"] == []
    assert api.trades == ()
    assert via_app.trades == ()


def test_history_is_aligned_by_label_not_position() -> None:
    from poise.policy import PolicyContext, aligned_history

    table = pd.DataFrame(
        {"A": [1.0, 2.0], "B": [10.0, 20.0]}, index=pd.bdate_range("2024-01-01", periods=2)
    )
    got = aligned_history(table, ("B", "Z", "A", "CASH"))
    expected = np.array([[10.0, np.nan, 1.0, 1.0], [20.0, np.nan, 2.0, 1.0]])
    np.testing.assert_array_equal(got, expected)
    context = PolicyContext.labelled(
        date(2024, 1, 2),
        weights={"B": 0.6, "A": 0.4},
        targets={"A": 0.5, "B": 0.5},
        history=table,
    )
    assert context.symbols == ("A", "B", "CASH")
    np.testing.assert_array_equal(context.weights, [0.4, 0.6, 0.0])
    np.testing.assert_array_equal(context.history[:, 1], [10.0, 20.0])
