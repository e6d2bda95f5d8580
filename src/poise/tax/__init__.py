"""US tax rules: lots and holding periods, wash sales, annual accounting, asset location."""

from poise.tax._annual import Carryforward, TaxYear, annual_tax, tax_years
from poise.tax._jurisdiction import US, Jurisdiction
from poise.tax._location import LOCATION_ORDER, location_from_table, location_rank
from poise.tax._lots import (
    estimate_tax,
    is_long_term,
    long_term_date,
    min_tax_lots,
    order_lots,
    pick_lots,
    select_lots,
)
from poise.tax._wash import (
    LossSale,
    Purchase,
    Transaction,
    WashCalendar,
    WashMatch,
    identical_group,
    match_wash_sales,
    wash_adjusted_lot,
)

__all__ = [
    "LOCATION_ORDER",
    "US",
    "Carryforward",
    "Jurisdiction",
    "LossSale",
    "Purchase",
    "TaxYear",
    "Transaction",
    "WashCalendar",
    "WashMatch",
    "annual_tax",
    "estimate_tax",
    "identical_group",
    "is_long_term",
    "location_from_table",
    "location_rank",
    "long_term_date",
    "match_wash_sales",
    "min_tax_lots",
    "order_lots",
    "pick_lots",
    "select_lots",
    "tax_years",
    "wash_adjusted_lot",
]
