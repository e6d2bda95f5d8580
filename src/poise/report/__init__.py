"""Results as JSON, terminal tables and self-contained HTML reports.

The JSON of every result comes from here. Names load on first use (``poise._lazy``): the
rebalance JSON does not import the HTML reports (pandas, plotly) or the execution records.
"""

from typing import TYPE_CHECKING

from poise._lazy import attach

if TYPE_CHECKING:
    from poise.report._html import METRIC_ROWS, backtest_report, format_metric
    from poise.report._json import (
        attribution_to_dict,
        backtest_to_dict,
        compare_to_dict,
        harvest_to_dict,
        optimize_to_dict,
        plan_to_dict,
        profile_to_dict,
        rebalance_to_dict,
        stress_to_dict,
        trade_to_dict,
    )
    from poise.report._orders import intent_to_dict, order_report_to_dict, venue_order_to_dict
    from poise.report._results import (
        backtest_attribution_to_dict,
        backtest_result_to_dict,
        metrics_to_dict,
        monte_carlo_to_dict,
        overlay_to_dict,
        replay_outcome_to_dict,
        replay_to_dict,
    )

__getattr__, __dir__ = attach(
    __name__,
    {
        "poise.report._html": ["METRIC_ROWS", "backtest_report", "format_metric"],
        "poise.report._json": [
            "attribution_to_dict",
            "backtest_to_dict",
            "compare_to_dict",
            "harvest_to_dict",
            "optimize_to_dict",
            "plan_to_dict",
            "profile_to_dict",
            "rebalance_to_dict",
            "stress_to_dict",
            "trade_to_dict",
        ],
        "poise.report._orders": ["intent_to_dict", "order_report_to_dict", "venue_order_to_dict"],
        "poise.report._results": [
            "backtest_attribution_to_dict",
            "backtest_result_to_dict",
            "metrics_to_dict",
            "monte_carlo_to_dict",
            "overlay_to_dict",
            "replay_outcome_to_dict",
            "replay_to_dict",
        ],
    },
)

__all__ = [
    "METRIC_ROWS",
    "attribution_to_dict",
    "backtest_attribution_to_dict",
    "backtest_report",
    "backtest_result_to_dict",
    "backtest_to_dict",
    "compare_to_dict",
    "format_metric",
    "harvest_to_dict",
    "intent_to_dict",
    "metrics_to_dict",
    "monte_carlo_to_dict",
    "optimize_to_dict",
    "order_report_to_dict",
    "overlay_to_dict",
    "plan_to_dict",
    "profile_to_dict",
    "rebalance_to_dict",
    "replay_outcome_to_dict",
    "replay_to_dict",
    "stress_to_dict",
    "trade_to_dict",
    "venue_order_to_dict",
]
