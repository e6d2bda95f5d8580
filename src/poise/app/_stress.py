"""The stress use case: data quality, concentration, hypothetical shocks, crisis replays, a
Monte Carlo of the household's future and its drawdown overlay, in one request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from poise._errors import InputError
from poise._progress import ProgressCallback
from poise.allocate import resolve_targets
from poise.io import prices_on
from poise.model import CASH, Holdings, Household
from poise.risk import (
    CrisisWindow,
    MonteCarloResult,
    MonteCarloSettings,
    OverlayComparison,
    QualityWarning,
    ReplayResult,
    ShockResult,
    apply_shock,
    backtest_overlay,
    check_concentration,
    check_prices,
    covered_windows,
    holdings_at_target,
    monte_carlo,
    replay,
    risk_rules,
)

__all__ = ["StressRequest", "StressResult", "stress"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StressRequest:
    """What to stress and how.

    Parameters
    ----------
    household : Household
        Accounts, targets, rule and ``[risk]`` settings.
    prices : DataFrame
        Adjusted closes, one row per trading day, one column per symbol.
    holdings : Holdings, optional
        The household's lots; without them it holds its targets, worth ``initial``.
    as_of : date, optional
        Valuation day (default: the last day of ``prices``).
    initial : float
        Household value when no holdings are given (``field`` ``initial``).
    shocks : sequence of mapping
        Hypothetical instant returns per group or symbol (``poise.risk.parse_shock``).
    windows : sequence of CrisisWindow
        Crises to replay (default: every built-in window the prices cover).
    crises, overlay : bool
        Run the crisis replays / the ``[risk.overlay]`` backtest.
    montecarlo : MonteCarloSettings, optional
        The Monte Carlo to run (None: none).
    progress : ProgressCallback, optional
        Told how far the Monte Carlo has come.
    report : bool
        Also build the HTML report.
    prices_source : str
        Name of the prices, used in messages.
    """

    household: Household
    prices: pd.DataFrame
    holdings: Holdings | None = None
    as_of: date | None = None
    initial: float = 100_000.0
    shocks: Sequence[Mapping[str, float]] = ()
    windows: Sequence[CrisisWindow] = ()
    crises: bool = True
    overlay: bool = True
    montecarlo: MonteCarloSettings | None = field(default_factory=MonteCarloSettings)
    progress: ProgressCallback | None = None
    report: bool = False
    prices_source: str = "prices"


@dataclass(frozen=True, slots=True)
class StressResult:
    """Every section of the stress test (a skipped section is empty or None)."""

    household: Household
    as_of: date
    value: float
    weights: dict[str, float]
    quality: tuple[QualityWarning, ...]
    concentration: tuple[str, ...]
    shocks: tuple[ShockResult, ...]
    crises: tuple[ReplayResult, ...]
    crises_skipped: tuple[tuple[CrisisWindow, str], ...]
    montecarlo: MonteCarloResult | None
    overlay: OverlayComparison | None
    report_html: str | None = None


def stress(request: StressRequest) -> StressResult:
    """Run every section of the stress test the request asks for.

    Raises
    ------
    InputError
        A non-positive ``initial``, a held symbol without a price, a goal outside the Monte
        Carlo's horizon, a window the prices do not cover.
    """
    hh, table = request.household, request.prices
    rules = risk_rules(hh)
    if not request.initial > 0:
        raise InputError(f"must be a positive amount, got {request.initial:g}", field="initial")
    universe = [s for s in hh.targets if s != CASH]
    if hh.allocation is not None:
        universe = list(dict.fromkeys([*universe, *hh.allocation.symbols]))
    lots = request.holdings
    needed = universe if lots is None else list(dict.fromkeys([*universe, *lots.symbols]))
    on, price_map = prices_on(table, request.as_of, needed, source=request.prices_source)
    backtested = hh  # crisis replays and the overlay refit an [allocation] model as they go
    if hh.allocation is not None:  # shocks and the Monte Carlo hold the as-of targets
        hh = replace(hh, targets=resolve_targets(hh, table, on), allocation=None)
    if lots is None:
        lots = holdings_at_target(hh, price_map, request.initial, on)
        start_weights = None
    else:
        start_weights = lots.weights(price_map)
    value = lots.value(price_map)
    history = table.loc[: str(on)]

    quality = check_prices(history, symbols=needed, as_of=on, source=request.prices_source)
    breaches = [
        b.message
        for b in (
            *check_concentration(dict(hh.targets), rules, what="targets"),
            *check_concentration(lots.weights(price_map), rules, what="holdings"),
        )
    ]
    shocks = [apply_shock(hh, lots, price_map, s, on) for s in request.shocks]

    crises = []
    skipped: list[tuple[Any, str]] = []
    if request.crises:
        if request.windows:
            chosen = list(request.windows)
        else:
            chosen, skipped = covered_windows(history, universe)
        crises = [replay(backtested, history, w, initial=value) for w in chosen]

    mc = None
    settings = request.montecarlo
    if settings is not None:
        mc = monte_carlo(
            hh,
            history,
            settings,
            initial_value=value,
            initial_weights=start_weights,
            start=on,
            progress=request.progress,
        )
        for g in settings.goals:
            mc.goal(g)  # a goal outside the horizon is bad input: say so now

    overlay = None
    if request.overlay and rules.overlay is not None:
        overlay = backtest_overlay(backtested, history, rules.overlay, initial=value)

    text = None
    if request.report:
        from poise.risk._report import stress_report

        text = stress_report(
            title=f"{hh.name}: stress test",
            subtitle=f"valued on {on} at {value:,.2f}; rule: {hh.policy.describe()}",
            quality=quality,
            breaches=breaches,
            shocks=shocks,
            crises=crises,
            montecarlo=mc,
            overlay=overlay,
        )
    return StressResult(
        household=hh,
        as_of=on,
        value=value,
        weights={k: float(v) for k, v in lots.weights(price_map).items()},
        quality=tuple(quality),
        concentration=tuple(breaches),
        shocks=tuple(shocks),
        crises=tuple(crises),
        crises_skipped=tuple(skipped),
        montecarlo=mc,
        overlay=overlay,
        report_html=text,
    )
