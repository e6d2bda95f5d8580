"""Readers for households (TOML), holdings, transactions and prices (CSV), with precise
errors, and atomic writers."""

from poise.io._atomic import write_text_atomic
from poise.io._holdings import (
    HOLDINGS_COLUMNS,
    check_acquired_by,
    holdings_from_text,
    read_holdings,
)
from poise.io._household import household_from_dict, parse_targets, read_household
from poise.io._plan import PlanFile, parse_plan, read_plan
from poise.io._prices import case_note, history_matrix, prices_from_text, prices_on, read_prices
from poise.io._transactions import (
    TRANSACTIONS_COLUMNS,
    check_transactions_by,
    read_transactions,
    transactions_from_text,
)

__all__ = [
    "HOLDINGS_COLUMNS",
    "TRANSACTIONS_COLUMNS",
    "PlanFile",
    "case_note",
    "check_acquired_by",
    "check_transactions_by",
    "history_matrix",
    "holdings_from_text",
    "household_from_dict",
    "parse_plan",
    "parse_targets",
    "prices_from_text",
    "prices_on",
    "read_holdings",
    "read_household",
    "read_plan",
    "read_prices",
    "read_transactions",
    "transactions_from_text",
    "write_text_atomic",
]
