"""Taxes in a backtest: gains realized in taxable accounts, summed per calendar year, and the
tax each year owes (paid from each account's cash on the first trading day of the next year).

``TaxLedger.close_year`` is the one place a year's tax is computed. It applies the annual
accounting of ``poise.tax.annual_tax``: short- and long-term results netted, a net loss
deducted against ordinary income up to the yearly limit (its value is ``TaxYear.
ordinary_tax_saving``, reported, and credited to the portfolio only when ``PayTaxes`` is asked
to), and the rest carried forward with its character into the next year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from poise.model import Side, TaxRules, Trade
from poise.tax import Carryforward, TaxYear, estimate_tax
from poise.tax import annual_tax as account_year

__all__ = ["RealizedGains", "TaxLedger", "tax_by_account"]


@dataclass(slots=True)
class RealizedGains:
    """Net gains (losses negative) realized in one account in one year."""

    short_term: float = 0.0
    long_term: float = 0.0


def tax_by_account(
    gains: Mapping[str, RealizedGains],
    rules: TaxRules,
    carried_in: Carryforward = Carryforward(),
) -> dict[str, float]:
    """A year's capital-gains tax, per taxable account.

    The household's short- and long-term gains (with the losses ``carried_in``) are netted by
    the annual accounting (``poise.tax.annual_tax``); a net loss owes nothing. The tax is split
    over the accounts in proportion to what each would owe on its own gains.
    """
    short_term = sum(g.short_term for g in gains.values())
    long_term = sum(g.long_term for g in gains.values())
    total = account_year(short_term, long_term, rules, carried_in).capital_gains_tax
    if total <= 0:
        return {}
    own = {a: estimate_tax(g.short_term, g.long_term, rules) for a, g in gains.items()}
    weight = sum(own.values())
    if weight <= 0:  # cannot happen when total > 0; kept for safety
        return {}
    return {a: total * v / weight for a, v in own.items() if v > 0}


class TaxLedger:
    """Realized gains per year and account, and each closed year's tax."""

    def __init__(
        self, rules: TaxRules, taxable_accounts: Sequence[str], credit_savings: bool = False
    ) -> None:
        self.rules = rules
        self.taxable = frozenset(taxable_accounts)
        self.credit_savings = credit_savings  # reinvest the ordinary-income deduction's saving
        self.gains: dict[int, dict[str, RealizedGains]] = {}
        self.bills: dict[int, dict[str, float]] = {}
        self.years: dict[int, TaxYear] = {}

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
        """The tax ``year`` owes, per account (computed once; later calls return it again).

        Earlier years are closed first, so that their unused losses carry into ``year``; the
        year's full accounting is kept in ``years``."""
        if year not in self.bills:
            first = min([*self.gains, *self.years, year])
            carry = Carryforward()
            for y in range(first, year + 1):
                if y in self.years:
                    carry = self.years[y].carried_out
                    continue
                totals = self.year_totals(y)
                self.years[y] = account_year(
                    totals.short_term, totals.long_term, self.rules, carry, y
                )
                self.bills[y] = tax_by_account(self.gains.get(y, {}), self.rules, carry)
                carry = self.years[y].carried_out
        return self.bills[year]

    def year_totals(self, year: int) -> RealizedGains:
        out = RealizedGains()
        for g in self.gains.get(year, {}).values():
            out.short_term += g.short_term
            out.long_term += g.long_term
        return out
