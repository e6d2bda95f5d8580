"""CAPM against an independent least-squares fit; Brinson-Fachler against a textbook example
and the identity that the parts sum to the active return; contributions that add up."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from poise import DataError
from poise.risk import (
    Linking,
    brinson_fachler,
    brinson_from_assets,
    capm,
    contributions,
    contributions_by_period,
    link_factors,
)


def series(values: np.ndarray, start: str = "2020-01-01") -> pd.Series:
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)))


@pytest.fixture
def pair() -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(11)
    bench = rng.normal(0.0004, 0.012, 750)
    port = 0.0001 + 0.8 * bench + rng.normal(0, 0.004, 750)
    return series(port), series(bench)


def test_capm_matches_numpy_least_squares(pair):
    port, bench = pair
    rf_annual = 0.02
    result = capm(port, bench, risk_free=rf_annual)

    rf = (1 + rf_annual) ** (1 / 252) - 1
    y = port.to_numpy() - rf
    x = bench.to_numpy() - rf
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    n, k = design.shape
    sigma2 = resid @ resid / (n - k)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    se = np.sqrt(np.diag(cov))
    r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    active = port.to_numpy() - bench.to_numpy()
    te = active.std(ddof=1) * math.sqrt(252)

    assert result.alpha == pytest.approx(coef[0] * 252, rel=1e-9)
    assert result.beta == pytest.approx(coef[1], rel=1e-9)
    assert result.alpha_t == pytest.approx(coef[0] / se[0], rel=1e-9)
    assert result.beta_t == pytest.approx(coef[1] / se[1], rel=1e-9)
    assert result.alpha_stderr == pytest.approx(se[0] * 252, rel=1e-9)
    assert result.beta_stderr == pytest.approx(se[1], rel=1e-9)
    assert result.r_squared == pytest.approx(r2, rel=1e-9)
    assert result.tracking_error == pytest.approx(te, rel=1e-9)
    assert result.information_ratio == pytest.approx(active.mean() * 252 / te, rel=1e-9)
    assert result.residual_volatility == pytest.approx(math.sqrt(sigma2 * 252), rel=1e-9)
    assert result.observations == 750
    # and it recovers the parameters the data were made with
    assert result.beta == pytest.approx(0.8, abs=0.03)


def test_capm_exact_line_has_known_alpha_beta_and_infinite_t():
    bench = series(np.random.default_rng(2).normal(0, 0.01, 100))
    port = 0.0002 + 1.5 * bench
    result = capm(port, bench)
    assert result.alpha == pytest.approx(0.0002 * 252)
    assert result.beta == pytest.approx(1.5)
    assert result.r_squared == pytest.approx(1.0)
    assert result.residual_volatility == pytest.approx(0.0, abs=1e-12)
    assert result.beta_t > 1e6


def test_capm_aligns_dates_and_drops_missing():
    bench = series(np.random.default_rng(4).normal(0, 0.01, 50))
    port = bench * 2
    port.iloc[3] = np.nan
    longer = pd.concat([port, series(np.array([0.1, 0.2]), start="2021-01-01")])
    result = capm(longer, bench)
    assert result.observations == 49
    assert result.beta == pytest.approx(2.0)


def test_capm_refuses_too_little_or_flat_data():
    with pytest.raises(DataError, match="at least 3"):
        capm(series(np.array([0.01, 0.02])), series(np.array([0.0, 0.01])))
    with pytest.raises(DataError, match="never vary"):
        capm(series(np.array([0.01, 0.02, 0.03])), series(np.zeros(3)))


# Bacon, Practical Portfolio Performance Measurement and Attribution, ch. 5 (one period):
# portfolio UK 40% @ 20%, Japan 30% @ -5%, US 30% @ 6%;
# benchmark UK 40% @ 10%, Japan 20% @ -4%, US 40% @ 8%.
GROUPS = ["UK", "Japan", "US"]


def frame(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=GROUPS, index=pd.RangeIndex(len(rows)))


def test_brinson_fachler_textbook_single_period():
    result = brinson_fachler(
        frame([[0.4, 0.3, 0.3]]),
        frame([[0.20, -0.05, 0.06]]),
        frame([[0.4, 0.2, 0.4]]),
        frame([[0.10, -0.04, 0.08]]),
    )
    # Rp = 8.3%, Rb = 6.4%; allocation (wp-wb)(rb_g - Rb), selection wb(rp_g-rb_g),
    # interaction (wp-wb)(rp_g-rb_g), worked by hand:
    assert result.portfolio_total == pytest.approx(0.083)
    assert result.benchmark_total == pytest.approx(0.064)
    assert result.linked_allocation.to_dict() == pytest.approx(
        {"UK": 0.0, "Japan": -0.0104, "US": -0.0016}
    )
    assert result.linked_selection.to_dict() == pytest.approx(
        {"UK": 0.04, "Japan": -0.002, "US": -0.008}
    )
    assert result.linked_interaction.to_dict() == pytest.approx(
        {"UK": 0.0, "Japan": -0.001, "US": 0.002}
    )
    assert result.totals() == pytest.approx(
        {"allocation": -0.012, "selection": 0.03, "interaction": 0.001}
    )
    assert result.active_return == pytest.approx(0.019)


def random_periods(n: int, seed: int):
    rng = np.random.default_rng(seed)
    wp = rng.dirichlet(np.ones(3), n)
    wb = rng.dirichlet(np.ones(3), n)
    rp = rng.normal(0.01, 0.05, (n, 3))
    rb = rng.normal(0.01, 0.05, (n, 3))
    return frame(wp.tolist()), frame(rp.tolist()), frame(wb.tolist()), frame(rb.tolist())


@pytest.mark.parametrize("linking", list(Linking))
def test_linked_parts_sum_to_the_cumulative_active_return_exactly(linking):
    wp, rp, wb, rb = random_periods(60, seed=5)
    result = brinson_fachler(wp, rp, wb, rb, linking=linking)
    cumulative_p = np.prod(1 + (wp.to_numpy() * rp.to_numpy()).sum(axis=1)) - 1
    cumulative_b = np.prod(1 + (wb.to_numpy() * rb.to_numpy()).sum(axis=1)) - 1
    parts = sum(result.totals().values())
    assert parts == pytest.approx(cumulative_p - cumulative_b, abs=1e-14)
    assert result.active_return == pytest.approx(cumulative_p - cumulative_b, abs=1e-14)
    # each period's unlinked effects sum to that period's active return
    per_period = result.allocation + result.selection + result.interaction
    np.testing.assert_allclose(
        per_period.sum(axis=1),
        result.portfolio_returns - result.benchmark_returns,
        atol=1e-15,
    )


def test_grap_linking_by_hand_on_two_periods():
    rp = np.array([0.10, -0.05])
    rb = np.array([0.04, 0.02])
    factors = link_factors(rp, rb, Linking.GRAP)
    # period 1 grows with the benchmark after it, period 2 with the portfolio before it
    assert factors == pytest.approx([1.02, 1.10])
    carino = link_factors(rp, rb, Linking.CARINO)
    total_p, total_b = 1.10 * 0.95 - 1, 1.04 * 1.02 - 1
    big_k = (math.log(1 + total_p) - math.log(1 + total_b)) / (total_p - total_b)
    k = [(math.log(1 + p) - math.log(1 + b)) / (p - b) for p, b in zip(rp, rb, strict=True)]
    assert carino == pytest.approx([k[0] / big_k, k[1] / big_k])


def test_carino_handles_equal_returns():
    factors = link_factors(np.array([0.01, 0.02]), np.array([0.01, 0.03]), Linking.CARINO)
    assert np.isfinite(factors).all()


def test_weights_must_sum_to_one():
    wp, rp, wb, rb = random_periods(3, seed=1)
    with pytest.raises(DataError, match="sum to"):
        brinson_fachler(wp * 0.9, rp, wb, rb)
    with pytest.raises(DataError, match="share"):
        brinson_fachler(wp, rp.iloc[:2], wb, rb)


def test_brinson_from_assets_groups_assets_and_keeps_the_identity():
    rng = np.random.default_rng(8)
    assets = ["A", "B", "C", "CASH"]
    index = pd.date_range("2021-01-01", periods=40, freq="D")
    wp = pd.DataFrame(rng.dirichlet(np.ones(4), 40), index=index, columns=assets)
    wb = pd.DataFrame(np.tile([0.3, 0.3, 0.3, 0.1], (40, 1)), index=index, columns=assets)
    returns = pd.DataFrame(rng.normal(0, 0.02, (40, 4)), index=index, columns=assets)
    returns["CASH"] = 0.0
    groups = {"A": "eq", "B": "eq", "C": "bond", "CASH": "CASH"}
    result = brinson_from_assets(wp, wb, returns, groups)
    assert list(result.linked_allocation.index) == ["eq", "bond", "CASH"]
    # group return in the portfolio = weighted mean of its members, by hand for period 0
    w0, r0 = wp.iloc[0], returns.iloc[0]
    eq = (w0["A"] * r0["A"] + w0["B"] * r0["B"]) / (w0["A"] + w0["B"])
    sel_eq = 0.6 * (eq - (r0["A"] + r0["B"]) / 2)
    assert result.selection.iloc[0]["eq"] == pytest.approx(sel_eq)
    total_p = np.prod(1 + (wp * returns).sum(axis=1)) - 1
    total_b = np.prod(1 + (wb * returns).sum(axis=1)) - 1
    assert sum(result.totals().values()) == pytest.approx(total_p - total_b, abs=1e-14)
    yearly = result.by_period("YE")
    assert yearly.to_numpy().sum() == pytest.approx(total_p - total_b, abs=1e-14)


def test_group_held_by_one_side_only_has_no_selection_effect():
    index = pd.RangeIndex(1)
    wp = pd.DataFrame([[1.0, 0.0]], index=index, columns=["A", "B"])
    wb = pd.DataFrame([[0.5, 0.5]], index=index, columns=["A", "B"])
    r = pd.DataFrame([[0.1, -0.2]], index=index, columns=["A", "B"])
    result = brinson_from_assets(wp, wb, r, {})
    assert result.selection.iloc[0].to_dict() == pytest.approx({"A": 0.0, "B": 0.0})
    # Rp = 10%, Rb = -5%: all of it is allocation
    assert result.totals()["allocation"] == pytest.approx(0.15)


def test_contributions_add_up_to_the_cumulative_return():
    rng = np.random.default_rng(21)
    index = pd.bdate_range("2020-01-01", periods=300)
    weights = pd.DataFrame(rng.dirichlet(np.ones(3), 300), index=index, columns=list("XYZ"))
    returns = pd.DataFrame(rng.normal(0.0005, 0.01, (300, 3)), index=index, columns=list("XYZ"))
    total = np.prod(1 + (weights * returns).sum(axis=1)) - 1
    per_asset = contributions(weights, returns)
    assert per_asset.sum() == pytest.approx(total, abs=1e-14)
    yearly = contributions_by_period(weights, returns, "YE")
    assert list(yearly.index.astype(str)) == ["2020", "2021"]
    assert yearly.to_numpy().sum() == pytest.approx(total, abs=1e-14)


def test_contributions_two_periods_by_hand():
    weights = pd.DataFrame([[0.5, 0.5], [0.6, 0.4]], columns=["X", "Y"])
    returns = pd.DataFrame([[0.10, 0.0], [0.0, -0.10]], columns=["X", "Y"])
    # R1 = 5%; period 2 scaled by 1.05: Y contributes 0.4 × -0.1 × 1.05
    assert contributions(weights, returns).to_dict() == pytest.approx({"X": 0.05, "Y": -0.042})
