"""US tax rules: lot selection, holding periods, estimated tax."""

from poise.tax._lots import estimate_tax, is_long_term, long_term_date, order_lots, select_lots

__all__ = ["estimate_tax", "is_long_term", "long_term_date", "order_lots", "select_lots"]
