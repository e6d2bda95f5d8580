"""Readers for households (TOML), holdings, transactions and prices (CSV), with precise
errors, and atomic writers."""

from poise.io._atomic import write_text_atomic
from poise.io._holdings import HOLDINGS_COLUMNS, check_acquired_by, read_holdings
from poise.io._household import household_from_dict, parse_targets, read_household
from poise.io._prices import case_note, history_matrix, prices_on, read_prices
from poise.io._transactions import (
    TRANSACTIONS_COLUMNS,
    check_transactions_by,
    read_transactions,
)

__all__ = [
    "HOLDINGS_COLUMNS",
    "TRANSACTIONS_COLUMNS",
    "case_note",
    "check_acquired_by",
    "check_transactions_by",
    "history_matrix",
    "household_from_dict",
    "parse_targets",
    "prices_on",
    "read_holdings",
    "read_household",
    "read_prices",
    "read_transactions",
    "write_text_atomic",
]
