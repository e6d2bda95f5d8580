"""Annual capital-gains accounting: netting, the ordinary-income offset and carryforwards.

US rules (Schedule D and its Capital Loss Carryover Worksheet):

1. Add last year's carryforward to this year's realized results, keeping its character:
   short-term losses to short-term, long-term to long-term.
2. If one side is a net gain and the other a net loss, they offset; what is left keeps the
   character of the larger side.
3. A remaining net gain is taxed at its character's rate (short-term at ``short_term_rate``,
   long-term at ``long_term_rate``).
4. A remaining net loss is deductible against ordinary income up to ``ordinary_income_offset``
   (3,000) a year, short-term loss first; the deduction is worth ``ordinary_income_rate`` per
   unit (``short_term_rate`` when not set: short-term gains are taxed as ordinary income). The
   rest carries forward, keeping its character.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from poise.model import TaxRules

__all__ = ["Carryforward", "TaxYear", "annual_tax", "tax_years"]


@dataclass(frozen=True, slots=True)
class Carryforward:
    """Unused capital losses carried into a year, as positive amounts, by character."""

    short_term_loss: float = 0.0
    long_term_loss: float = 0.0

    @property
    def total(self) -> float:
        return self.short_term_loss + self.long_term_loss


@dataclass(frozen=True, slots=True)
class TaxYear:
    """One year's capital-gains outcome.

    Attributes
    ----------
    year : int or None
        The calendar year, when known.
    realized_short_term, realized_long_term : float
        Gains (positive) or losses (negative) recognised this year, washed losses excluded.
    carried_in, carried_out : Carryforward
        Losses brought in from earlier years and left for later ones.
    taxable_short_term, taxable_long_term : float
        Net gains taxed at each rate after netting (never negative).
    ordinary_offset : float
        Net loss deducted against ordinary income (0 to the yearly limit).
    capital_gains_tax : float
        Tax on the net gains.
    ordinary_tax_saving : float
        Ordinary-income tax saved by the deduction.
    """

    year: int | None
    realized_short_term: float
    realized_long_term: float
    carried_in: Carryforward
    taxable_short_term: float
    taxable_long_term: float
    ordinary_offset: float
    carried_out: Carryforward
    capital_gains_tax: float
    ordinary_tax_saving: float

    @property
    def tax(self) -> float:
        """Net effect on the household's tax bill: gains tax less the deduction's saving.

        Negative when the year's net loss lowers the tax on other income."""
        return self.capital_gains_tax - self.ordinary_tax_saving


def annual_tax(
    realized_short_term: float,
    realized_long_term: float,
    rules: TaxRules,
    carried_in: Carryforward = Carryforward(),
    year: int | None = None,
) -> TaxYear:
    """Net one year's realized gains and losses and work out the tax and the carryforward.

    Parameters
    ----------
    realized_short_term, realized_long_term : float
        The year's recognised gains (positive) or losses (negative) in taxable accounts.
    rules : TaxRules
        Rates and the yearly ordinary-income offset.
    carried_in : Carryforward
        Losses carried from the previous year.
    year : int, optional
        Recorded on the result.

    Returns
    -------
    TaxYear
    """
    limit = rules.ordinary_income_offset
    st = realized_short_term - carried_in.short_term_loss
    lt = realized_long_term - carried_in.long_term_loss
    taxable_st = taxable_lt = offset = 0.0
    carry_st = carry_lt = 0.0
    if st >= 0 and lt >= 0:
        taxable_st, taxable_lt = st, lt
    elif st < 0 and lt < 0:
        offset = min(limit, -(st + lt))
        st_used = min(offset, -st)
        carry_st = -st - st_used
        carry_lt = -lt - (offset - st_used)
    else:
        net = st + lt
        if net >= 0:
            if st > 0:
                taxable_st = net
            else:
                taxable_lt = net
        else:
            offset = min(limit, -net)
            if st < 0:
                carry_st = -net - offset
            else:
                carry_lt = -net - offset
    income_rate = (
        rules.ordinary_income_rate
        if rules.ordinary_income_rate is not None
        else rules.short_term_rate
    )
    return TaxYear(
        year=year,
        realized_short_term=realized_short_term,
        realized_long_term=realized_long_term,
        carried_in=carried_in,
        taxable_short_term=taxable_st,
        taxable_long_term=taxable_lt,
        ordinary_offset=offset,
        carried_out=Carryforward(carry_st, carry_lt),
        capital_gains_tax=taxable_st * rules.short_term_rate + taxable_lt * rules.long_term_rate,
        ordinary_tax_saving=offset * income_rate,
    )


def tax_years(
    realized: Mapping[int, tuple[float, float]] | Iterable[tuple[int, float, float]],
    rules: TaxRules,
    carried_in: Carryforward = Carryforward(),
) -> list[TaxYear]:
    """``annual_tax`` over consecutive years, carrying losses forward.

    ``realized`` maps year → (short-term, long-term), or is a sequence of
    (year, short-term, long-term); years without activity in between are filled in, so that a
    carryforward still yields its yearly offset.
    """
    rows = (
        {y: (s, lt) for y, (s, lt) in realized.items()}
        if isinstance(realized, Mapping)
        else {y: (s, lt) for y, s, lt in realized}
    )
    if not rows:
        return []
    out: list[TaxYear] = []
    carry = carried_in
    for year in range(min(rows), max(rows) + 1):
        st, lt = rows.get(year, (0.0, 0.0))
        result = annual_tax(st, lt, rules, carry, year)
        out.append(result)
        carry = result.carried_out
    return out
