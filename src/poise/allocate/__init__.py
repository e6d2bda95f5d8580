"""Which targets to hold: allocation models fitted on prices (skfolio), risk profiles, goals.

Everything here imports without skfolio; skfolio is loaded when a model is first fitted.
"""

from typing import TYPE_CHECKING

from poise._lazy import attach

if TYPE_CHECKING:  # the names for type checkers; at run time each module loads on first use
    from poise.allocate._allocation import Allocation, ModelAllocation, history_until
    from poise.allocate._fast import ProblemCache
    from poise.allocate._fit import (
        FitResult,
        FrontierPoint,
        efficient_frontier,
        fit_model,
        price_returns,
        risk_contributions,
    )
    from poise.allocate._goals import GLIDE_DEFAULTS, GlidePathAllocation, Goal, GoalKind
    from poise.allocate._profile import (
        BANDS,
        QUESTIONS,
        RiskProfile,
        profile_from_answers,
        profile_from_score,
    )
    from poise.allocate._regime import RegimeCovariance
    from poise.allocate._resolve import resolve_targets
    from poise.allocate._spec import allocation_from_table, goals_from_list, risk_profile_from_table
    from poise.allocate._types import (
        TRADING_DAYS,
        Constraints,
        CovarianceName,
        GroupLimit,
        ModelName,
        ModelSpec,
        View,
        parse_view,
    )
    from poise.allocate._walkforward import WalkForwardResult, walk_forward

__getattr__, __dir__ = attach(
    __name__,
    {
        "poise.allocate._allocation": [
            "Allocation",
            "ModelAllocation",
            "history_until",
        ],
        "poise.allocate._fast": [
            "ProblemCache",
        ],
        "poise.allocate._fit": [
            "FitResult",
            "FrontierPoint",
            "efficient_frontier",
            "fit_model",
            "price_returns",
            "risk_contributions",
        ],
        "poise.allocate._goals": [
            "GLIDE_DEFAULTS",
            "GlidePathAllocation",
            "Goal",
            "GoalKind",
        ],
        "poise.allocate._profile": [
            "BANDS",
            "QUESTIONS",
            "RiskProfile",
            "profile_from_answers",
            "profile_from_score",
        ],
        "poise.allocate._resolve": [
            "resolve_targets",
        ],
        "poise.allocate._spec": [
            "allocation_from_table",
            "goals_from_list",
            "risk_profile_from_table",
        ],
        "poise.allocate._types": [
            "TRADING_DAYS",
            "Constraints",
            "CovarianceName",
            "GroupLimit",
            "ModelName",
            "ModelSpec",
            "View",
            "parse_view",
        ],
        "poise.allocate._walkforward": [
            "WalkForwardResult",
            "walk_forward",
        ],
        # RegimeCovariance subclasses a skfolio estimator: skfolio loads only when it is used
        "poise.allocate._regime": ["RegimeCovariance"],
    },
    # the former name of price_returns (not exported: the public ``daily_returns`` is
    # ``poise.analytics.daily_returns``, the returns of a value series)
    aliases={"daily_returns": "price_returns"},
)

__all__ = [
    "BANDS",
    "GLIDE_DEFAULTS",
    "QUESTIONS",
    "TRADING_DAYS",
    "Allocation",
    "Constraints",
    "CovarianceName",
    "FitResult",
    "FrontierPoint",
    "GlidePathAllocation",
    "Goal",
    "GoalKind",
    "GroupLimit",
    "ModelAllocation",
    "ModelName",
    "ModelSpec",
    "ProblemCache",
    "RegimeCovariance",
    "RiskProfile",
    "View",
    "WalkForwardResult",
    "allocation_from_table",
    "efficient_frontier",
    "fit_model",
    "goals_from_list",
    "history_until",
    "parse_view",
    "price_returns",
    "profile_from_answers",
    "profile_from_score",
    "resolve_targets",
    "risk_contributions",
    "risk_profile_from_table",
    "walk_forward",
]
