"""Lot selection, holding periods and a plan's estimated tax (US rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

from poise._errors import InputError
from poise.model import Lot, LotMethod, TaxRules

__all__ = [
    "estimate_tax",
    "is_long_term",
    "long_term_date",
    "order_lots",
    "pick_lots",
    "select_lots",
]


@lru_cache(maxsize=65536)
def long_term_date(acquired: date) -> date:
    """The first day on which a lot acquired on ``acquired`` is held more than one year."""
    try:
        anniversary = acquired.replace(year=acquired.year + 1)
    except ValueError:  # acquired on 29 February
        anniversary = date(acquired.year + 1, 2, 28)
    return anniversary + timedelta(days=1)


def is_long_term(acquired: date, sold: date) -> bool:
    """Held more than one year: sold after the anniversary of ``acquired``."""
    return sold >= long_term_date(acquired)


def order_lots(lots: Sequence[Lot], method: LotMethod, price: float, as_of: date) -> list[Lot]:
    """``lots`` in the order ``method`` sells them.

    fifo: oldest first; lifo: newest first; hifo: highest basis per share first; tax_min:
    losses first (largest loss per share first), then long-term gains (smallest first), then
    short-term gains (smallest first).
    """
    if method is LotMethod.FIFO:
        return sorted(lots, key=lambda lot: lot.acquired)
    if method is LotMethod.LIFO:
        return sorted(lots, key=lambda lot: lot.acquired, reverse=True)
    if method is LotMethod.HIFO:
        return sorted(lots, key=lambda lot: (-lot.basis_per_share, lot.acquired))

    def tax_min_key(lot: Lot) -> tuple[int, float, date]:
        gain = price - lot.basis_per_share
        if gain < 0:
            return (0, gain, lot.acquired)
        if is_long_term(lot.acquired, as_of):
            return (1, gain, lot.acquired)
        return (2, gain, lot.acquired)

    return sorted(lots, key=tax_min_key)


def select_lots(
    lots: Sequence[Lot], quantity: float, method: LotMethod, price: float, as_of: date
) -> list[tuple[Lot, float]]:
    """Which lots (and how many shares of each) a sell of ``quantity`` disposes of."""
    out: list[tuple[Lot, float]] = []
    remaining = quantity
    for lot in order_lots(lots, method, price, as_of):
        if remaining <= 1e-12:
            break
        take = min(lot.quantity, remaining)
        out.append((lot, take))
        remaining -= take
    return out


def pick_lots(
    lots: Sequence[Lot], chosen: Sequence[tuple[Lot | date, float]]
) -> list[tuple[Lot, float]]:
    """Specific identification: the lots the caller names, and how many shares of each.

    Each choice names a lot by the ``Lot`` itself or by its ``acquired`` date (which must then
    be unique among ``lots``), with the shares to sell from it.

    Raises
    ------
    InputError
        For a lot that is not among ``lots``, an ambiguous date, a negative quantity or more
        shares than the lot holds.
    """
    out: list[tuple[Lot, float]] = []
    taken: dict[int, float] = {}
    for which, quantity in chosen:
        if isinstance(which, Lot):
            matches = [i for i, lot in enumerate(lots) if lot == which]
        else:
            matches = [i for i, lot in enumerate(lots) if lot.acquired == which]
        if not matches:
            raise InputError(f"no lot acquired {getattr(which, 'acquired', which)} to sell")
        if len(matches) > 1 and not isinstance(which, Lot):
            raise InputError(
                f"{len(matches)} lots were acquired on {which}; name the lot itself",
                field="lots",
            )
        index = matches[0]
        if quantity < 0:
            raise InputError(f"cannot sell {quantity:g} shares of a lot", field="lots")
        taken[index] = taken.get(index, 0.0) + quantity
        if taken[index] > lots[index].quantity + 1e-9:
            raise InputError(
                f"the lot acquired {lots[index].acquired} holds {lots[index].quantity:g} shares, "
                f"not {taken[index]:g}",
                field="lots",
            )
        if quantity > 0:
            out.append((lots[index], quantity))
    return out


def turns_long_term_within(lot: Lot, as_of: date, days: int) -> bool:
    """Short-term on ``as_of`` but long-term within ``days`` days (a sale worth deferring)."""
    if days <= 0 or is_long_term(lot.acquired, as_of):
        return False
    return (long_term_date(lot.acquired) - as_of).days <= days


def estimate_tax(short_term: float, long_term: float, rules: TaxRules) -> float:
    """Tax on net realized gains, netting short- against long-term as US rules do.

    A net loss gives zero here (its value against ordinary income and its carryforward are
    counted by the annual accounting, not by one plan).
    """
    if short_term >= 0 and long_term >= 0:
        return short_term * rules.short_term_rate + long_term * rules.long_term_rate
    if short_term < 0 and long_term < 0:
        return 0.0
    net = short_term + long_term
    if net <= 0:
        return 0.0
    rate = rules.long_term_rate if long_term > 0 else rules.short_term_rate
    return net * rate
