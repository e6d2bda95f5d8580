"""A jurisdiction's tax-rule numbers, kept as data so that another country can be added."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["US", "Jurisdiction"]


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """The fixed numbers of a capital-gains tax regime.

    Attributes
    ----------
    name : str
        A short label.
    long_term_after_years : int
        A lot is long-term when held *more than* this many years.
    wash_window_days : int
        A loss sale is washed by a purchase of a substantially identical security within this
        many days before or after it (0 disables the rule).
    loss_offset_limit : float
        Net capital loss deductible against ordinary income per year (the household's
        ``[tax] ordinary_income_offset`` overrides it, e.g. 1,500 when married filing
        separately).
    carryforward_keeps_character : bool
        Whether an unused loss carries forward as short- or long-term as it arose.
    """

    name: str
    long_term_after_years: int = 1
    wash_window_days: int = 30
    loss_offset_limit: float = 3000.0
    carryforward_keeps_character: bool = True


US = Jurisdiction("US (IRC §§1091, 1211, 1212, 1222)")
"""The default: US federal rules (holding period > 1 year, 30-day wash window, 3,000 offset)."""
