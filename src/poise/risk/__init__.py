"""How bad could it get, and where did the return come from: stress tests (hypothetical
shocks, Monte Carlo), data-quality checks, the concentration guard, and attribution (CAPM,
Brinson-Fachler, contributions)."""

from typing import TYPE_CHECKING

from poise._lazy import attach

if TYPE_CHECKING:  # the names for type checkers; at run time each module loads on first use
    from poise.risk._attribution import (
        BrinsonResult,
        CapmResult,
        Linking,
        brinson_fachler,
        brinson_from_assets,
        capm,
        contributions,
        contributions_by_period,
        link_factors,
    )
    from poise.risk._concentration import (
        ConcentrationBreach,
        Limit,
        check_concentration,
        concentration_guard,
        effective_assets,
        group_weights,
    )
    from poise.risk._config import (
        BreachAction,
        OverlayKind,
        OverlayRules,
        RiskRules,
        risk_from_table,
        risk_rules,
    )
    from poise.risk._explain import BacktestAttribution, attribute_backtest, benchmark_series
    from poise.risk._montecarlo import (
        STEP_DAYS,
        GoalOutcome,
        MonteCarloResult,
        MonteCarloSettings,
        StepRule,
        TailRisk,
        ValueGoal,
        monte_carlo,
        simulate_paths,
        step_rule,
    )
    from poise.risk._overlay import (
        OverlayComparison,
        OverlayStep,
        backtest_overlay,
        overlay_targets,
    )
    from poise.risk._quality import QualityIssue, QualityRules, QualityWarning, check_prices
    from poise.risk._replay import (
        CRISES,
        CrisisWindow,
        ReplayOutcome,
        ReplayResult,
        covered_windows,
        parse_window,
        replay,
    )
    from poise.risk._shocks import (
        ShockResult,
        apply_shock,
        holdings_at_target,
        parse_shock,
        resolve_shock,
    )

__getattr__, __dir__ = attach(
    __name__,
    {
        "poise.risk._attribution": [
            "BrinsonResult",
            "CapmResult",
            "Linking",
            "brinson_fachler",
            "brinson_from_assets",
            "capm",
            "contributions",
            "contributions_by_period",
            "link_factors",
        ],
        "poise.risk._concentration": [
            "ConcentrationBreach",
            "Limit",
            "check_concentration",
            "concentration_guard",
            "effective_assets",
            "group_weights",
        ],
        "poise.risk._config": [
            "BreachAction",
            "OverlayKind",
            "OverlayRules",
            "RiskRules",
            "risk_from_table",
            "risk_rules",
        ],
        "poise.risk._explain": [
            "BacktestAttribution",
            "attribute_backtest",
            "benchmark_series",
        ],
        "poise.risk._montecarlo": [
            "STEP_DAYS",
            "GoalOutcome",
            "MonteCarloResult",
            "MonteCarloSettings",
            "StepRule",
            "TailRisk",
            "ValueGoal",
            "monte_carlo",
            "simulate_paths",
            "step_rule",
        ],
        "poise.risk._overlay": [
            "OverlayComparison",
            "OverlayStep",
            "backtest_overlay",
            "overlay_targets",
        ],
        "poise.risk._quality": [
            "QualityIssue",
            "QualityRules",
            "QualityWarning",
            "check_prices",
        ],
        "poise.risk._replay": [
            "CRISES",
            "CrisisWindow",
            "ReplayOutcome",
            "ReplayResult",
            "covered_windows",
            "parse_window",
            "replay",
        ],
        "poise.risk._shocks": [
            "ShockResult",
            "apply_shock",
            "holdings_at_target",
            "parse_shock",
            "resolve_shock",
        ],
    },
    # the former name of ValueGoal (not exported: the public ``Goal`` is
    # ``poise.allocate.Goal``, a household's life goal)
    aliases={"Goal": "ValueGoal"},
)

__all__ = [
    "CRISES",
    "STEP_DAYS",
    "BacktestAttribution",
    "BreachAction",
    "BrinsonResult",
    "CapmResult",
    "ConcentrationBreach",
    "CrisisWindow",
    "GoalOutcome",
    "Limit",
    "Linking",
    "MonteCarloResult",
    "MonteCarloSettings",
    "OverlayComparison",
    "OverlayKind",
    "OverlayRules",
    "OverlayStep",
    "QualityIssue",
    "QualityRules",
    "QualityWarning",
    "ReplayOutcome",
    "ReplayResult",
    "RiskRules",
    "ShockResult",
    "StepRule",
    "TailRisk",
    "ValueGoal",
    "apply_shock",
    "attribute_backtest",
    "backtest_overlay",
    "benchmark_series",
    "brinson_fachler",
    "brinson_from_assets",
    "capm",
    "check_concentration",
    "check_prices",
    "concentration_guard",
    "contributions",
    "contributions_by_period",
    "covered_windows",
    "effective_assets",
    "group_weights",
    "holdings_at_target",
    "link_factors",
    "monte_carlo",
    "overlay_targets",
    "parse_shock",
    "parse_window",
    "replay",
    "resolve_shock",
    "risk_from_table",
    "risk_rules",
    "simulate_paths",
    "step_rule",
]
