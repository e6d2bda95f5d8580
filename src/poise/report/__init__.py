"""Results as JSON, terminal tables and self-contained HTML reports."""

from poise.report._html import METRIC_ROWS, backtest_report, format_metric
from poise.report._json import plan_to_dict, rebalance_to_dict, trade_to_dict

__all__ = [
    "METRIC_ROWS",
    "backtest_report",
    "format_metric",
    "plan_to_dict",
    "rebalance_to_dict",
    "trade_to_dict",
]
