"""Lot selection, holding periods and a plan's estimated tax (US rules)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise
from operator import attrgetter

from poise._errors import InputError
from poise.model import Lot, LotMethod, TaxRules

__all__ = [
    "estimate_tax",
    "is_long_term",
    "long_term_date",
    "min_tax_lots",
    "order_lots",
    "pick_lots",
    "select_lots",
]


_ACQUIRED = attrgetter("acquired")


@lru_cache(maxsize=65536)
def long_term_date(acquired: date) -> date:
    """The first day on which a lot acquired on ``acquired`` is held more than one year.

    The holding period starts the day after acquisition and is counted in calendar months
    (Rev. Rul. 66-7): the lot is long-term from the same calendar day one year after that
    start (1 March when the start is 29 February). Bought 2023-02-28: the period starts
    2023-03-01, one year runs through 2024-02-29, long-term from 2024-03-01.
    """
    start = acquired + timedelta(days=1)
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # the period starts on 29 February
        return date(start.year + 1, 3, 1)


def is_long_term(acquired: date, sold: date) -> bool:
    """Held more than one year: sold after the anniversary of ``acquired``."""
    return sold >= long_term_date(acquired)


@lru_cache(maxsize=4096)
def long_term_cutoff(sold: date) -> date:
    """The last acquisition date whose lots are long-term when sold on ``sold``:
    ``is_long_term(acquired, sold)`` exactly when ``acquired <= long_term_cutoff(sold)``
    (``long_term_date`` never falls as ``acquired`` rises, and is at least 366 days later)."""
    acquired = sold - timedelta(days=365)
    while long_term_date(acquired) > sold:
        acquired -= timedelta(days=1)
    return acquired


def order_lots(lots: Sequence[Lot], method: LotMethod, price: float, as_of: date) -> list[Lot]:
    """``lots`` in the order ``method`` sells them.

    fifo: oldest first; lifo: newest first; hifo: highest basis per share first; tax_order
    (and tax_min, whose lots ``select_lots`` chooses by minimum tax instead): losses first
    (largest loss per share first), then long-term gains (smallest first), then short-term
    gains (smallest first).
    """
    if method is LotMethod.FIFO:
        return sorted(lots, key=_ACQUIRED)
    if method is LotMethod.LIFO:
        return sorted(lots, key=_ACQUIRED, reverse=True)
    if method is LotMethod.HIFO:
        return sorted(lots, key=lambda lot: (-lot.basis_per_share, lot.acquired))

    cutoff = long_term_cutoff(as_of)

    def tax_min_key(lot: Lot) -> tuple[int, float, date]:
        gain = price - lot.basis_per_share
        if gain < 0:
            return (0, gain, lot.acquired)
        if lot.acquired <= cutoff:  # long-term
            return (1, gain, lot.acquired)
        return (2, gain, lot.acquired)

    return sorted(lots, key=tax_min_key)


def select_lots(
    lots: Sequence[Lot],
    quantity: float,
    method: LotMethod,
    price: float,
    as_of: date,
    rules: TaxRules | None = None,
) -> list[tuple[Lot, float]]:
    """Which lots (and how many shares of each) a sell of ``quantity`` disposes of.

    ``tax_min`` with ``rules`` given chooses the shares that minimise ``estimate_tax`` of the
    sale (``min_tax_lots``); every other method (and tax_min without rates) follows
    ``order_lots``.
    """
    if method is LotMethod.TAX_MIN and rules is not None:
        return min_tax_lots(lots, quantity, price, as_of, rules)
    out: list[tuple[Lot, float]] = []
    remaining = quantity
    for lot in order_lots(lots, method, price, as_of):
        if remaining <= 1e-12:
            break
        q = lot.quantity
        take = remaining if remaining < q else q  # min(q, remaining), without the call
        out.append((lot, take))
        remaining -= take
    return out


def min_tax_lots(
    lots: Sequence[Lot], quantity: float, price: float, as_of: date, rules: TaxRules
) -> list[tuple[Lot, float]]:
    """The shares of ``lots`` whose sale of ``quantity`` at ``price`` costs the least tax.

    ``estimate_tax(S, L)`` never falls when the short-term gain S or the long-term gain L
    rises, so for any split (``a`` shares short-term, the rest long-term) the cheapest sale
    takes each term's lots smallest gain per share first. What is left is one number, ``a``:
    S(a) and L(quantity − a) are piecewise linear, and so is the tax, whose minimum lies at a
    lot boundary or where S, L or S + L crosses zero; every such point is tried. Among equal
    taxes the fixed order (``tax_order``) is kept, else the choice realizing the most loss
    value (``r_st S + r_lt L`` smallest). Gains
    are before trading costs (which share out in proportion). Linear in the lots after a sort.
    """
    if not lots or quantity <= 1e-12:
        return []
    available = sum(lot.quantity for lot in lots)
    if quantity >= available - 1e-12:
        return select_lots(lots, quantity, LotMethod.TAX_ORDER, price, as_of)

    def by_gain(group: list[Lot]) -> list[Lot]:
        return sorted(group, key=lambda lot: (lot.basis_per_share * -1.0, lot.acquired))

    cutoff = long_term_cutoff(as_of)
    short_lots: list[Lot] = []
    long_lots: list[Lot] = []
    for lot in lots:
        (long_lots if lot.acquired <= cutoff else short_lots).append(lot)
    fixed = select_lots(lots, quantity, LotMethod.TAX_ORDER, price, as_of)
    is_short = {id(lot) for lot in short_lots}
    fixed_st = sum((price - lot.basis_per_share) * x for lot, x in fixed if id(lot) in is_short)
    fixed_lt = sum((price - lot.basis_per_share) * x for lot, x in fixed if id(lot) not in is_short)
    fixed_tax = estimate_tax(fixed_st, fixed_lt, rules)
    rs, rl = rules.short_term_rate, rules.long_term_rate
    if rs >= 0 and rl >= 0 and fixed_tax <= 1e-9:
        # With rates >= 0 no tax is below 0: the fixed order (losses first) costs the least.
        return fixed
    short = by_gain(short_lots)
    long = by_gain(long_lots)

    def curve(group: list[Lot]) -> tuple[list[float], list[float]]:
        qs, gs = [0.0], [0.0]  # cumulative shares and gains, smallest gain first
        for lot in group:
            qs.append(qs[-1] + lot.quantity)
            gs.append(gs[-1] + (price - lot.basis_per_share) * lot.quantity)
        return qs, gs

    sq, sg = curve(short)
    lq, lg = curve(long)

    def gain_at(qs: list[float], gs: list[float], x: float) -> float:
        k = bisect_right(qs, x) - 1
        if k >= len(qs) - 1:
            return gs[-1]
        return gs[k] + (gs[k + 1] - gs[k]) * (x - qs[k]) / (qs[k + 1] - qs[k])

    lo, hi = max(0.0, quantity - lq[-1]), min(quantity, sq[-1])
    points = {lo, hi}
    points.update(x for x in sq if lo < x < hi)
    points.update(quantity - x for x in lq if lo < quantity - x < hi)
    ordered = sorted(points)
    candidates = list(ordered)
    for a0, a1 in pairwise(ordered):
        s0, s1 = gain_at(sq, sg, a0), gain_at(sq, sg, a1)
        l0, l1 = gain_at(lq, lg, quantity - a0), gain_at(lq, lg, quantity - a1)
        for v0, v1 in ((s0, s1), (l0, l1), (s0 + l0, s1 + l1)):
            if (v0 < 0) != (v1 < 0) and v0 != v1:
                candidates.append(a0 + (a1 - a0) * v0 / (v0 - v1))

    def key(a: float) -> tuple[float, float]:
        st_gain, lt_gain = gain_at(sq, sg, a), gain_at(lq, lg, quantity - a)
        return (round(estimate_tax(st_gain, lt_gain, rules), 9), rs * st_gain + rl * lt_gain)

    best = min(candidates, key=key)
    if fixed_tax <= key(best)[0] + 1e-9:
        return fixed  # the fixed order is already cheapest: keep its choice (losses first)
    return _take(short, best) + _take(long, quantity - best)


def _take(group: Sequence[Lot], quantity: float) -> list[tuple[Lot, float]]:
    out: list[tuple[Lot, float]] = []
    remaining = quantity
    for lot in group:
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
