"""Results as JSON, terminal tables and self-contained HTML reports."""

from poise.report._json import plan_to_dict, trade_to_dict

__all__ = ["plan_to_dict", "trade_to_dict"]
