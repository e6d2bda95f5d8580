"""Asset location: which kind of account each asset's new money goes to first.

The rule (documented in docs/tax.md): household targets are met across all accounts; where an
asset is *bought* depends on its declared tax efficiency (``[location]``):

- ``inefficient`` (bonds, REITs: income taxed every year at ordinary rates): tax-deferred
  accounts first, then tax-free, then taxable;
- ``growth`` (the highest expected growth, whose gains should never be taxed): tax-free first,
  then tax-deferred, then taxable;
- ``efficient`` (the default: broad equity funds with qualified dividends and low turnover):
  taxable first, then tax-deferred, then tax-free, leaving sheltered room to the others.

Buys are placed inefficient assets first, then growth, then efficient, so that the scarce
sheltered cash goes to the assets that gain most from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poise._errors import InputError
from poise.model import AccountKind, TaxEfficiency

__all__ = ["LOCATION_ORDER", "location_from_table", "location_rank"]

LOCATION_ORDER: Mapping[TaxEfficiency, tuple[AccountKind, ...]] = {
    TaxEfficiency.INEFFICIENT: (
        AccountKind.TAX_DEFERRED,
        AccountKind.TAX_FREE,
        AccountKind.TAXABLE,
    ),
    TaxEfficiency.GROWTH: (AccountKind.TAX_FREE, AccountKind.TAX_DEFERRED, AccountKind.TAXABLE),
    TaxEfficiency.EFFICIENT: (
        AccountKind.TAXABLE,
        AccountKind.TAX_DEFERRED,
        AccountKind.TAX_FREE,
    ),
}
"""Account kinds in the order an asset of each tax efficiency is bought into."""

_PRIORITY = {TaxEfficiency.INEFFICIENT: 0, TaxEfficiency.GROWTH: 1, TaxEfficiency.EFFICIENT: 2}


def location_rank(efficiency: TaxEfficiency, kind: AccountKind) -> int:
    """Position of ``kind`` in ``efficiency``'s preference (0 = first choice)."""
    return LOCATION_ORDER[efficiency].index(kind)


def buy_priority(efficiency: TaxEfficiency) -> int:
    """Order in which assets are placed: inefficient (0), growth (1), efficient (2)."""
    return _PRIORITY[efficiency]


def location_from_table(table: Mapping[str, Any], source: str) -> dict[str, TaxEfficiency]:
    """Parse ``[location]``: ``SYMBOL = "inefficient" | "growth" | "efficient"``."""
    out: dict[str, TaxEfficiency] = {}
    choices = " | ".join(e.value for e in TaxEfficiency)
    for symbol, value in table.items():
        try:
            out[symbol] = TaxEfficiency(value)
        except ValueError:
            raise InputError(
                f"unknown tax efficiency {value!r}; use {choices} "
                '(e.g. BND = "inefficient" for bonds and REITs)',
                source=source,
                field=f"location.{symbol}",
            ) from None
    return out
