"""``[allocation]``, ``[risk_profile]`` and ``[[goals]]`` in the household TOML."""

from __future__ import annotations

from datetime import date

import pytest

from poise._errors import InputError
from poise.allocate import (
    CovarianceName,
    GlidePathAllocation,
    ModelAllocation,
    ModelName,
    View,
    resolve_targets,
)
from poise.data import load_dataset
from poise.io import read_household
from poise.model import CASH
from poise.policy import Frequency

HEAD = """
name = "t"
[[accounts]]
id = "brokerage"
kind = "taxable"
"""

MODEL = (
    HEAD
    + """
[allocation]
model = "black_litterman"
symbols = ["JNJ", "KO", "PG", "WMT"]
covariance = "ledoit_wolf"
lookback_days = 504
refit = "quarterly"
max_weight = 0.5
cash = 0.05
views = ["KO-PG=0.02@0.5", { view = "JNJ=0.08", confidence = 0.3 }]
[allocation.max_weights]
WMT = 0.3
[allocation.groups.staples]
symbols = ["KO", "PG"]
max = 0.6
"""
)

GLIDE = (
    HEAD
    + """
[allocation]
model = "glide_path"
growth = { JNJ = 0.5, KO = 0.5 }
defensive = { PG = 0.6, cash = 0.4 }

[risk_profile]
horizon = "over_20_years"
drop_reaction = "hold"
max_loss = "loss_30"
income_stability = "stable"
emergency_fund = "over_6_months"
experience = "experienced"
objective = "growth"

[[goals]]
name = "Home"
kind = "home"
date = 2010-01-01
target_amount = 200000
"""
)


def read(tmp_path, text: str, name: str = "h.toml"):
    path = tmp_path / name
    path.write_text(text)
    return read_household(path)


def test_model_allocation_is_read(tmp_path):
    household = read(tmp_path, MODEL)
    allocation = household.allocation
    assert isinstance(allocation, ModelAllocation)
    spec = allocation.spec
    assert spec.model is ModelName.BLACK_LITTERMAN
    assert spec.covariance is CovarianceName.LEDOIT_WOLF
    assert allocation.lookback_days == 504
    assert allocation.refit is Frequency.QUARTERLY
    assert spec.constraints.max_weight == 0.5
    assert spec.constraints.asset_max == {"WMT": 0.3}
    assert spec.constraints.groups[0].symbols == ("KO", "PG")
    assert spec.views == (View("KO", 0.02, "PG", 0.5), View("JNJ", 0.08, None, 0.3))
    # targets before any fit: equal weights after the cash weight
    assert household.targets == {
        "JNJ": 0.2375,
        "KO": 0.2375,
        "PG": 0.2375,
        "WMT": 0.2375,
        CASH: 0.05,
    }


def test_rebalance_targets_come_from_the_fitted_model(tmp_path):
    household = read(tmp_path, MODEL)
    prices = load_dataset("sp500")
    targets = resolve_targets(household, prices, date(2020, 6, 30))
    assert targets[CASH] == 0.05
    assert sum(targets.values()) == pytest.approx(1.0)
    assert targets["WMT"] <= 0.95 * 0.3 + 1e-6
    assert targets["KO"] + targets["PG"] <= 0.95 * 0.6 + 1e-6
    later = prices.copy()
    later.loc["2020-07-01":] *= 2.0
    assert resolve_targets(household, later, date(2020, 6, 30)) == targets


def test_glide_path_allocation_is_read(tmp_path):
    household = read(tmp_path, GLIDE)
    allocation = household.allocation
    assert isinstance(allocation, GlidePathAllocation)
    assert allocation.max_growth == 0.75  # score 80 → moderately aggressive
    assert allocation.symbols == ("JNJ", "KO", "PG")
    assert allocation.defensive == {"PG": 0.6, CASH: 0.4}
    assert household.targets["JNJ"] == pytest.approx(0.375)
    # five years before the home goal the glide starts; on the goal date all defensive
    on_goal = resolve_targets(household, load_dataset("sp500"), date(2010, 1, 4))
    assert on_goal["JNJ"] == 0.0
    assert on_goal[CASH] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + '[allocation]\nsymbols = ["A", "B"]\n', "allocation.model: needs model"),
        (HEAD + '[allocation]\nmodel = "magic"\n', "allocation.model: 'magic' is not valid"),
        (
            HEAD + '[allocation]\nmodel = "hrp"\nsymbols = ["A", "B"]\nfoo = 1\n',
            r"allocation.foo: unknown key\(s\) foo in \[allocation\]",
        ),
        (HEAD + '[allocation]\nmodel = "hrp"\nsymbols = ["A"]\n', "allocation.symbols"),
        (
            HEAD + '[allocation]\nmodel = "hrp"\nsymbols = ["A", "B"]\ncovariance = "x"\n',
            "allocation.covariance: 'x' is not valid; use one of sample",
        ),
        (
            HEAD + '[allocation]\nmodel = "min_variance"\nsymbols = ["A", "B"]\nviews = ["A=1"]\n',
            "allocation.views: views apply to black_litterman",
        ),
        (
            HEAD + '[allocation]\nmodel = "min_variance"\nsymbols = ["A", "B"]\nmax_weight = 0.4\n',
            "allocation.max_weight: the maximum weights sum to 0.8 < 1",
        ),
        (
            HEAD + '[allocation]\nmodel = "min_variance"\nsymbols = ["A", "B"]\nrefit = "weekly"\n',
            "allocation.refit: 'weekly' is not valid",
        ),
        (
            HEAD + '[allocation]\nmodel = "glide_path"\ngrowth = {A = 1}\ndefensive = {B = 1}\n',
            "needs a \\[risk_profile\\]",
        ),
        (
            HEAD
            + '[allocation]\nmodel = "glide_path"\ngrowth = {A = 1}\ndefensive = {B = 1}\n'
            + "[risk_profile]\nscore = 50\n",
            'glide_path" needs at least one \\[\\[goals\\]\\]',
        ),
        (
            HEAD
            + '[allocation]\nmodel = "profile"\ngrowth = {A = 0.5}\ndefensive = {B = 1}\n'
            + "[risk_profile]\nscore = 50\n",
            "allocation.growth: sleeve weights sum to 0.5",
        ),
        (
            HEAD + '[targets]\nA = 1\n[[goals]]\nname = "x"\nkind = "boat"\n',
            "goals\\[0\\].kind: 'boat' is not valid",
        ),
        (
            HEAD + '[targets]\nA = 1\n[[goals]]\nname = "x"\ndate = 2030-01-01\n',
            "goals\\[0\\].target_amount: needs target_amount",
        ),
        (
            HEAD + '[targets]\nA = 1\n[risk_profile]\nscore = 50\nhorizon = "over_20_years"\n',
            "give either score or the answers",
        ),
        (
            HEAD + '[targets]\nA = 1\n[[goals]]\nname = "x"\ndate = 2030-01-01\n'
            "target_amount = 1\ncolour = 1\n",
            "goals\\[0\\].colour: unknown key",
        ),
    ],
)
def test_bad_tables_are_rejected_with_the_key(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read(tmp_path, text)


def test_static_targets_with_profile_and_goals_are_accepted(tmp_path):
    text = HEAD + (
        "[targets]\nVTI = 1\n[risk_profile]\nscore = 30\n"
        '[[goals]]\nname = "x"\nkind = "education"\ndate = 2035-09-01\ntarget_amount = 5e4\n'
    )
    household = read(tmp_path, text)
    assert household.allocation is None
    assert household.targets == {"VTI": 1.0}


def test_rebalance_door_fits_the_model_up_to_as_of(tmp_path):
    from tests.conftest import run_cli

    household = tmp_path / "h.toml"
    household.write_text(MODEL)
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("account,symbol,quantity,cost_basis,acquired\nbrokerage,CASH,100000,,\n")
    args = ["rebalance", household, "--holdings", holdings, "--prices", "sp500"]
    result = run_cli([*args, "--as-of", "2020-06-30", "--json"])
    assert result.code == 0, result.stderr
    out = result.json()
    expected = resolve_targets(read_household(household), load_dataset("sp500"), date(2020, 6, 30))
    assert out["targets"] == pytest.approx(expected)
    assert sum(out["weights_after"].values()) == pytest.approx(1.0)


def test_backtest_follows_the_glide_path(tmp_path):
    from poise.backtest import run_backtest

    text = GLIDE.replace("date = 2010-01-01", "date = 2012-01-03")
    text += '[policy]\nkind = "calendar"\nfrequency = "monthly"\n'
    household = read(tmp_path, text)
    prices = load_dataset("sp500")
    result = run_backtest(household, prices, start=date(2006, 1, 3), end=date(2012, 6, 29))
    weights = result.weights
    # five years before the goal (profile growth 75%): growth sleeve JNJ + KO at 75%
    early = weights.loc["2006-01-03"]
    assert early["JNJ"] + early["KO"] == pytest.approx(0.75, abs=0.01)
    # half way down the glide (2009-07-03: 2.5 years left; re-fitted on 2009-07-01, the
    # month's first trading day) and after the goal date
    middle = weights.loc["2009-07-06"]
    assert middle["JNJ"] + middle["KO"] == pytest.approx(0.375, abs=0.03)
    late = weights.loc["2012-02-01"]
    assert late["JNJ"] + late["KO"] == pytest.approx(0.0, abs=1e-9)
    assert late["CASH"] == pytest.approx(0.4, abs=0.02)
