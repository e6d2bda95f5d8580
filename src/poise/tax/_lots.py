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
    "min_tax_lots",
    "order_lots",
    "pick_lots",
    "select_lots",
]


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


def order_lots(lots: Sequence[Lot], method: LotMethod, price: float, as_of: date) -> list[Lot]:
    """``lots`` in the order ``method`` sells them.

    fifo: oldest first; lifo: newest first; hifo: highest basis per share first; tax_order
    (and tax_min, whose lots ``select_lots`` chooses by minimum tax instead): losses first
    (largest loss per share first), then long-term gains (smallest first), then short-term
    gains (smallest first).
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
        take = min(lot.quantity, remaining)
        out.append((lot, take))
        remaining -= take
    return out


def min_tax_lots(
    lots: Sequence[Lot], quantity: float, price: float, as_of: date, rules: TaxRules
) -> list[tuple[Lot, float]]:
    """The shares of ``lots`` whose sale of ``quantity`` at ``price`` costs the least tax.

    With ``x_i`` the shares sold from lot i, ``S`` and ``L`` the short- and long-term gains
    realized, the tax ``estimate_tax(S, L)`` is linear on each of six pieces of the (S, L)
    plane (both gains ≥ 0; both ≤ 0; one of each with the net ≥ 0 or ≤ 0). Each piece is a
    small linear program (HiGHS through scipy); the cheapest solution wins. Among equal taxes
    the one realizing the most loss value (``r_st S + r_lt L`` smallest) is kept, then the
    fixed tax order's. Gains here are before trading costs (which share out in proportion).
    """
    if not lots or quantity <= 1e-12:
        return []
    ordered = order_lots(lots, LotMethod.TAX_ORDER, price, as_of)
    fallback = select_lots(ordered, quantity, LotMethod.TAX_ORDER, price, as_of)
    available = sum(lot.quantity for lot in ordered)
    if quantity >= available - 1e-12 or len(ordered) == 1:
        return fallback
    gains = [price - lot.basis_per_share for lot in ordered]
    longs = [is_long_term(lot.acquired, as_of) for lot in ordered]
    best = _lp_min_tax(ordered, gains, longs, quantity, rules)
    if best is None:
        return fallback
    tax_of = _tax_of(fallback, gains, longs, ordered, rules)
    if tax_of[0] <= best[0][0] + 1e-9:
        return fallback  # the fixed order is already cheapest: keep its simpler choice
    out = [(lot, float(x)) for lot, x in zip(ordered, best[1], strict=True) if x > 1e-12]
    scale = quantity / sum(x for _, x in out)  # exact total despite solver rounding
    return [(lot, min(lot.quantity, x * scale)) for lot, x in out]


def _tax_of(
    chosen: Sequence[tuple[Lot, float]],
    gains: Sequence[float],
    longs: Sequence[bool],
    ordered: Sequence[Lot],
    rules: TaxRules,
) -> tuple[float, float]:
    index = {id(lot): i for i, lot in enumerate(ordered)}
    st = sum(gains[index[id(lot)]] * x for lot, x in chosen if not longs[index[id(lot)]])
    lt = sum(gains[index[id(lot)]] * x for lot, x in chosen if longs[index[id(lot)]])
    return estimate_tax(st, lt, rules), rules.short_term_rate * st + rules.long_term_rate * lt


def _lp_min_tax(
    lots: Sequence[Lot],
    gains: Sequence[float],
    longs: Sequence[bool],
    quantity: float,
    rules: TaxRules,
) -> tuple[tuple[float, float], list[float]] | None:
    import numpy as np
    from scipy.optimize import linprog

    g = np.array(gains)
    is_lt = np.array(longs)
    st_row = np.where(is_lt, 0.0, g)
    lt_row = np.where(is_lt, g, 0.0)
    net_row = g
    rs, rl = rules.short_term_rate, rules.long_term_rate
    bounds = [(0.0, lot.quantity) for lot in lots]
    a_eq, b_eq = np.ones((1, len(lots))), np.array([quantity])
    # (objective, [(row, sign)]) with sign +1: row·x ≥ 0, −1: row·x ≤ 0
    pieces = [
        (rs * st_row + rl * lt_row, [(st_row, 1), (lt_row, 1)]),
        (np.zeros(len(lots)), [(st_row, -1), (lt_row, -1)]),
        (rl * net_row, [(st_row, -1), (lt_row, 1), (net_row, 1)]),
        (np.zeros(len(lots)), [(st_row, -1), (lt_row, 1), (net_row, -1)]),
        (rs * net_row, [(st_row, 1), (lt_row, -1), (net_row, 1)]),
        (np.zeros(len(lots)), [(st_row, 1), (lt_row, -1), (net_row, -1)]),
    ]
    tie = 1e-9 * (rs * st_row + rl * lt_row)  # among equal taxes: the most loss value
    best: tuple[tuple[float, float], list[float]] | None = None
    for cost, signs in pieces:
        a_ub = np.array([-sign * row for row, sign in signs])
        result = linprog(
            cost + tie,
            A_ub=a_ub,
            b_ub=np.zeros(len(signs)),
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            continue
        x = np.clip(result.x, 0.0, [lot.quantity for lot in lots])
        st, lt = float(st_row @ x), float(lt_row @ x)
        key = (estimate_tax(st, lt, rules), rs * st + rl * lt)
        if best is None or key < best[0]:
            best = (key, x.tolist())
    return best


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
