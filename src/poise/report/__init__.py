"""Results as JSON, terminal tables and self-contained HTML reports."""

from poise.report._html import METRIC_ROWS, backtest_report, format_metric
from poise.report._json import (
    attribution_to_dict,
    backtest_to_dict,
    compare_to_dict,
    harvest_to_dict,
    optimize_to_dict,
    plan_to_dict,
    rebalance_to_dict,
    stress_to_dict,
    trade_to_dict,
)
from poise.report._orders import intent_to_dict, order_report_to_dict

__all__ = [
    "METRIC_ROWS",
    "attribution_to_dict",
    "backtest_report",
    "backtest_to_dict",
    "compare_to_dict",
    "format_metric",
    "harvest_to_dict",
    "intent_to_dict",
    "optimize_to_dict",
    "order_report_to_dict",
    "plan_to_dict",
    "rebalance_to_dict",
    "stress_to_dict",
    "trade_to_dict",
]
