"""Use cases: one function per thing a user asks poise to do, typed request in, typed result
out. Every door (command line, service, batch) calls these; none copies their steps. Nothing
here imports typer, rich, FastAPI or SQLAlchemy. Errors name request fields (``initial``,
``withdraw.amount``); doors map them to their own names (flags, JSON paths).

==============  =======================  ==================  =====================
use case        request                  result              JSON (``poise.report``)
==============  =======================  ==================  =====================
rebalance       RebalanceRequest         RebalanceResult     rebalance_to_dict
                (prices: a PriceDay prepared once for many households)
harvest         HarvestRequest           HarvestResult       harvest_to_dict
backtest        BacktestRequest          BacktestOutcome     backtest_to_dict
compare, demo   CompareRequest           CompareOutcome      compare_to_dict
attribution     AttributionRequest       AttributionResult   attribution_to_dict
stress          StressRequest            StressResult        stress_to_dict
optimize        OptimizeRequest          OptimizeResult      optimize_to_dict
==============  =======================  ==================  =====================

Names load on first use (``poise._lazy.attach``): ``poise rebalance`` imports the rebalance
use case without the backtest, the Monte Carlo or the optimisers. A new use case adds its
names both to the ``TYPE_CHECKING`` imports and to the ``attach`` table below (a test checks
that every name of ``__all__`` can be imported).
"""

from typing import TYPE_CHECKING

from poise._lazy import attach

if TYPE_CHECKING:  # the names for type checkers; at run time each module loads on first use
    from poise.app._attribution import AttributionRequest, AttributionResult, attribution
    from poise.app._backtest import (
        BacktestOutcome,
        BacktestRequest,
        CompareOutcome,
        CompareRequest,
        ReportOptions,
        backtest,
        check_window,
        compare,
        run_description,
        scheduled_flows,
    )
    from poise.app._demo import DEMO_HOUSEHOLD, DEMO_POLICIES, demo, demo_household
    from poise.app._harvest import HarvestRequest, HarvestResult, harvest
    from poise.app._optimize import OptimizeRequest, OptimizeResult, optimize, select_universe
    from poise.app._priceday import PriceDay
    from poise.app._rebalance import (
        QUALITY_LOOKBACK_DAYS,
        RebalanceRequest,
        RebalanceResult,
        cash_flows,
        optional_prices,
        rebalance,
    )
    from poise.app._stores import (
        HoldingsRecord,
        HouseholdRecord,
        HouseholdStore,
        InMemoryHouseholdStore,
        InMemoryLedgerStore,
        LedgerStore,
        NotFoundError,
        StoredRequest,
        stored_request,
    )
    from poise.app._stress import StressRequest, StressResult, stress

__getattr__, __dir__ = attach(
    __name__,
    {
        "poise.app._attribution": [
            "AttributionRequest",
            "AttributionResult",
            "attribution",
        ],
        "poise.app._backtest": [
            "BacktestOutcome",
            "BacktestRequest",
            "CompareOutcome",
            "CompareRequest",
            "ReportOptions",
            "backtest",
            "check_window",
            "compare",
            "run_description",
            "scheduled_flows",
        ],
        "poise.app._demo": [
            "DEMO_HOUSEHOLD",
            "DEMO_POLICIES",
            "demo",
            "demo_household",
        ],
        "poise.app._harvest": [
            "HarvestRequest",
            "HarvestResult",
            "harvest",
        ],
        "poise.app._optimize": [
            "OptimizeRequest",
            "OptimizeResult",
            "optimize",
            "select_universe",
        ],
        "poise.app._priceday": [
            "PriceDay",
        ],
        "poise.app._rebalance": [
            "QUALITY_LOOKBACK_DAYS",
            "RebalanceRequest",
            "RebalanceResult",
            "cash_flows",
            "optional_prices",
            "rebalance",
        ],
        "poise.app._stores": [
            "HoldingsRecord",
            "HouseholdRecord",
            "HouseholdStore",
            "InMemoryHouseholdStore",
            "InMemoryLedgerStore",
            "LedgerStore",
            "NotFoundError",
            "StoredRequest",
            "stored_request",
        ],
        "poise.app._stress": [
            "StressRequest",
            "StressResult",
            "stress",
        ],
    },
)

__all__ = [
    "DEMO_HOUSEHOLD",
    "DEMO_POLICIES",
    "QUALITY_LOOKBACK_DAYS",
    "AttributionRequest",
    "AttributionResult",
    "BacktestOutcome",
    "BacktestRequest",
    "CompareOutcome",
    "CompareRequest",
    "HarvestRequest",
    "HarvestResult",
    "HoldingsRecord",
    "HouseholdRecord",
    "HouseholdStore",
    "InMemoryHouseholdStore",
    "InMemoryLedgerStore",
    "LedgerStore",
    "NotFoundError",
    "OptimizeRequest",
    "OptimizeResult",
    "PriceDay",
    "RebalanceRequest",
    "RebalanceResult",
    "ReportOptions",
    "StoredRequest",
    "StressRequest",
    "StressResult",
    "attribution",
    "backtest",
    "cash_flows",
    "check_window",
    "compare",
    "demo",
    "demo_household",
    "harvest",
    "optimize",
    "optional_prices",
    "rebalance",
    "run_description",
    "scheduled_flows",
    "select_universe",
    "stored_request",
    "stress",
]
