"""Taxes in a backtest: gains realized in taxable accounts, summed per calendar year, and the
tax each year owes (paid from each account's cash on the first trading day of the next year).

``TaxLedger.close_year`` is the one place a year's tax is computed; it calls ``annual_tax``.
A fuller annual accounting (the 3,000 ordinary-income offset, loss carryforward) replaces
these two and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from poise.model import Side, TaxRules, Trade
from poise.tax import estimate_tax

__all__ = ["RealizedGains", "TaxLedger", "annual_tax"]


@dataclass(slots=True)
class RealizedGains:
    """Net gains (losses negative) realized in one account in one year."""

    short_term: float = 0.0
    long_term: float = 0.0


def annual_tax(gains: Mapping[str, RealizedGains], rules: TaxRules) -> dict[str, float]:
    """A year's tax, per taxable account.

    The household's short- and long-term gains are netted as ``poise.tax.estimate_tax`` does
    (a net loss owes nothing and is not carried forward here); the tax is split over the
    accounts in proportion to what each would owe on its own gains.
    """
    short_term = sum(g.short_term for g in gains.values())
    long_term = sum(g.long_term for g in gains.values())
    total = estimate_tax(short_term, long_term, rules)
    if total <= 0:
        return {}
    own = {a: estimate_tax(g.short_term, g.long_term, rules) for a, g in gains.items()}
    weight = sum(own.values())
    if weight <= 0:  # cannot happen when total > 0; kept for safety
        return {}
    return {a: total * v / weight for a, v in own.items() if v > 0}


class TaxLedger:
    """Realized gains per year and account, and each closed year's tax."""

    def __init__(self, rules: TaxRules, taxable_accounts: Sequence[str]) -> None:
        self.rules = rules
        self.taxable = frozenset(taxable_accounts)
        self.gains: dict[int, dict[str, RealizedGains]] = {}
        self.bills: dict[int, dict[str, float]] = {}

    def record(self, year: int, trades: Sequence[Trade]) -> None:
        """Add the gains realized by ``trades`` (sells in taxable accounts) to ``year``."""
        if not self.taxable:
            return
        for trade in trades:
            if trade.side is not Side.SELL or trade.account not in self.taxable:
                continue
            if trade.realized_short_term == 0 and trade.realized_long_term == 0:
                continue
            year_gains = self.gains.setdefault(year, {})
            g = year_gains.setdefault(trade.account, RealizedGains())
            g.short_term += trade.realized_short_term
            g.long_term += trade.realized_long_term

    def close_year(self, year: int) -> dict[str, float]:
        """The tax ``year`` owes, per account (computed once; later calls return it again)."""
        if year not in self.bills:
            self.bills[year] = annual_tax(self.gains.get(year, {}), self.rules)
        return self.bills[year]

    def year_totals(self, year: int) -> RealizedGains:
        out = RealizedGains()
        for g in self.gains.get(year, {}).values():
            out.short_term += g.short_term
            out.long_term += g.long_term
        return out
