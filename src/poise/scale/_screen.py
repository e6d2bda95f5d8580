"""The book screen: which of N households would rebalance today, as arrays, without plans.

A :class:`Book` holds N households over one symbol universe as arrays (shares held, cash,
target weights, each household's band half-widths for today, whether a calendar rule is due,
and its lots at a loss). :func:`screen` prices the whole book in one pass of array arithmetic
and returns, per household, whether its policy triggers, its worst drift beyond its band, its
cash weight above target and its harvestable losses.

What is guaranteed. The screen takes its bands from the policies themselves
(the trigger each policy declares, ``poise.policy.trigger_of``: its bands, scaled by the
policy's own ``scales`` over the day's prices where they move, the calendar's period rule,
any-of as the tightest band and any due calendar) and applies the policies' own
test ``|weight - target| > band + 1e-12`` to weights computed as the plan computes them (shares
× close over the total value, cash included; a held harvest substitute counted in its primary
target). Its decision equals ``household.policy.decide`` wherever a drift is not within
:data:`NEAR` of its band, where sums in another order could round the other way: those
households are flagged ``near`` and a batch plans them to let the policy decide (tested on
thousands of random households against each household's own plan).

What is simplified. The book is a live check: no previous day, so a policy's check frequency
always allows a check (as in ``poise rebalance``). A policy the screen does not know is
``unknown`` for every household holding it: the batch plans those households. Harvestable
losses are the ``[harvest]`` candidates (lots in taxable accounts at a loss of at least
``min_loss`` and ``min_loss_fraction`` of basis) before wash-sale and substitute checks: an
upper bound of what ``poise harvest`` may sell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from poise.allocate import resolve_targets
from poise.io import history_matrix
from poise.model import CASH, Holdings, Household
from poise.policy import (
    BandTrigger,
    CalendarTrigger,
    NoTrigger,
    PolicyContext,
    Trigger,
    period_key,
    trigger_of,
)

__all__ = ["NEAR", "TOLERANCE", "Book", "ScreenResult", "book_of", "screen"]

TOLERANCE = 1e-12
"""The policies' own tolerance: an asset breaches when ``|drift| > band + 1e-12``."""

NEAR = 1e-9
"""Weight points within which a drift counts as at its band (``near``): the screen's weights
may differ from the plan's in the last bits, so these households are left to the policy."""

_BLOCK = 8192  # households per pass: keeps a block's arrays in cache


@dataclass(frozen=True, slots=True, kw_only=True)
class Book:
    """N households over one universe of S symbols, as arrays (the input of :func:`screen`).

    Attributes
    ----------
    symbols : tuple of str
        The S symbols (``CASH`` excluded); column j of ``quantities`` is ``symbols[j]``.
    quantities : ndarray, shape (N, S)
        Shares held, all accounts of the household together.
    cash : ndarray, shape (N,)
        Cash, all accounts together (currency).
    target_weights : ndarray, shape (N, S + 1)
        Target weights; the last column is ``CASH``.
    band_limits : ndarray, shape (N, S + 1)
        The breach limit of each asset today: its band half-width plus :data:`TOLERANCE`
        (``inf`` where no band rule applies), so that an asset breaches when
        ``|weight - target| > band_limits``, the policies' own test.
    calendar_due : ndarray of bool, shape (N,)
        A calendar rule is due today.
    unknown : ndarray of bool, shape (N,)
        The policy is not one the screen knows: only the policy can decide.
    moves : ndarray of int, shape (M, 3)
        Rows ``(household, from column, to column)``: a held harvest substitute whose weight
        counts in its primary target's (``group_context`` in the plan).
    lot_household, lot_loss_floor : ndarray, shape (L,)
        For each lot in a taxable account of a household that harvests: its household and the
        smallest loss that makes it a harvest candidate.
    lot_symbol : ndarray of int, shape (L,)
        Its column in ``symbols``.
    lot_quantity, lot_basis : ndarray, shape (L,)
        Its shares and total cost basis.
    """

    symbols: tuple[str, ...]
    quantities: np.ndarray
    cash: np.ndarray
    target_weights: np.ndarray
    band_limits: np.ndarray
    calendar_due: np.ndarray
    unknown: np.ndarray
    moves: np.ndarray
    lot_household: np.ndarray
    lot_symbol: np.ndarray
    lot_quantity: np.ndarray
    lot_basis: np.ndarray
    lot_loss_floor: np.ndarray

    @property
    def size(self) -> int:
        """Number of households N."""
        return int(self.cash.shape[0])

    def subset(self, rows: np.ndarray) -> Book:
        """The households at ``rows`` (indices into this book), in that order."""
        rows = np.asarray(rows, dtype=np.intp)
        where = np.full(self.size, -1, dtype=np.intp)
        where[rows] = np.arange(rows.size)
        moves = self.moves[where[self.moves[:, 0]] >= 0] if self.moves.size else self.moves
        if moves.size:
            moves = moves.copy()
            moves[:, 0] = where[moves[:, 0]]
        keep = where[self.lot_household] >= 0
        return Book(
            symbols=self.symbols,
            quantities=self.quantities[rows],
            cash=self.cash[rows],
            target_weights=self.target_weights[rows],
            band_limits=self.band_limits[rows],
            calendar_due=self.calendar_due[rows],
            unknown=self.unknown[rows],
            moves=moves,
            lot_household=where[self.lot_household[keep]],
            lot_symbol=self.lot_symbol[keep],
            lot_quantity=self.lot_quantity[keep],
            lot_basis=self.lot_basis[keep],
            lot_loss_floor=self.lot_loss_floor[keep],
        )


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """Per household (N), what the screen found.

    Attributes
    ----------
    triggered : ndarray of bool
        The policy triggers today (a band breached or a calendar rule due).
    near : ndarray of bool
        A drift lies within :data:`NEAR` of its limit, the policy is unknown, or a symbol it
        holds or targets has no price: plan the household to let the policy decide (or the
        plan say what is wrong).
    worst_excess : ndarray
        The largest ``|drift| - band`` over the assets (weight points; > 0 is a breach;
        ``-inf`` with no band).
    worst_asset : ndarray of int
        Its column (``len(symbols)`` for ``CASH``).
    cash_excess : ndarray
        Cash weight minus its target weight (cash to invest when positive).
    total_value : ndarray
        Value of the household (currency, cash included).
    harvestable_loss : ndarray
        Sum of the losses of harvest-candidate lots (currency, positive).
    """

    triggered: np.ndarray
    near: np.ndarray
    worst_excess: np.ndarray
    worst_asset: np.ndarray
    cash_excess: np.ndarray
    total_value: np.ndarray
    harvestable_loss: np.ndarray

    @property
    def to_plan(self) -> np.ndarray:
        """Households a batch must plan to get every triggered one: triggered or near."""
        return self.triggered | self.near


def screen(book: Book, prices: np.ndarray) -> ScreenResult:
    """Screen every household of ``book`` at ``prices``.

    Parameters
    ----------
    book : Book
        N households over S symbols.
    prices : ndarray, shape (S,)
        Closes of ``book.symbols`` (the decision day's).

    Returns
    -------
    ScreenResult
        One value per household.

    Notes
    -----
    One pass over the book in blocks of households: value of each holding, total, weights,
    ``|weight - target| - limit`` and its maximum per household. A household with nothing
    (total value 0) has weights 0, as in the plan.
    """
    n, s = book.quantities.shape
    prices = np.array(prices, dtype=float)
    unpriced = ~np.isfinite(prices)
    if unpriced.any():  # only households holding or targeting such a symbol are affected
        prices[unpriced] = 0.0
    worst = np.empty(n)
    worst_at = np.empty(n, dtype=np.intp)
    nearest = np.empty(n)
    cash_excess = np.empty(n)
    totals = np.empty(n)
    moved = _moves_by_block(book.moves)
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        weights = np.empty((hi - lo, s + 1))
        np.multiply(book.quantities[lo:hi], prices, out=weights[:, :s])
        weights[:, s] = book.cash[lo:hi]
        total = weights.sum(axis=1)
        totals[lo:hi] = total
        safe = np.where(total > 0, total, 1.0)
        weights /= safe[:, None]
        weights[total <= 0] = 0.0
        if lo in moved:
            rows, src, dst = moved[lo]
            np.add.at(weights, (rows, dst), weights[rows, src])
            weights[rows, src] = 0.0
        cash_excess[lo:hi] = weights[:, s] - book.target_weights[lo:hi, s]
        weights -= book.target_weights[lo:hi]
        np.abs(weights, out=weights)
        weights -= book.band_limits[lo:hi]
        worst_at[lo:hi] = weights.argmax(axis=1)
        worst[lo:hi] = np.take_along_axis(weights, worst_at[lo:hi, None], axis=1)[:, 0]
        np.abs(weights, out=weights)
        nearest[lo:hi] = weights.min(axis=1)
    breach = worst > 0
    near = (nearest < NEAR) | book.unknown | np.isnan(worst)
    if unpriced.any():  # the plan says which price is missing
        near |= (book.quantities[:, unpriced] != 0).any(axis=1)
        near |= (book.target_weights[:, :s][:, unpriced] != 0).any(axis=1)
    return ScreenResult(
        triggered=breach | book.calendar_due,
        near=near & ~book.calendar_due,
        worst_excess=worst + TOLERANCE,
        worst_asset=worst_at,
        cash_excess=cash_excess,
        total_value=totals,
        harvestable_loss=_harvestable(book, prices),
    )


def _moves_by_block(moves: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if not moves.size:
        return out
    block = moves[:, 0] // _BLOCK
    for b in np.unique(block):
        m = moves[block == b]
        out[int(b) * _BLOCK] = (m[:, 0] - int(b) * _BLOCK, m[:, 1], m[:, 2])
    return out


def _harvestable(book: Book, prices: np.ndarray) -> np.ndarray:
    if not book.lot_household.size:
        return np.zeros(book.size)
    loss = book.lot_basis - book.lot_quantity * prices[book.lot_symbol]
    candidate = (loss > 1e-9) & (loss >= book.lot_loss_floor)
    return np.bincount(
        book.lot_household[candidate], weights=loss[candidate], minlength=book.size
    ).astype(float)


# --------------------------------------------------------------------------- building a book

_Bands = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class _Rule:
    """A policy as the screen sees it: bands over target rows, and whether a calendar is due."""

    bands: _Bands | None
    due: bool
    unknown: bool = False


def _rule(
    policy: object, as_of: date, last_rebalanced: date | None, scales: Callable[..., np.ndarray]
) -> _Rule:
    """The screen's view of ``policy`` from the trigger it declares (``trigger_of``; none:
    ``unknown``, the policy decides); ``scales(trigger)`` gives a band trigger's scale of each
    column (``CASH`` last) from the day's prices."""
    trigger = trigger_of(policy)
    if trigger is None:
        return _Rule(None, False, unknown=True)
    return _trigger_rule(trigger, as_of, last_rebalanced, scales)


def _trigger_rule(
    trigger: Trigger, as_of: date, last_rebalanced: date | None, scales: Callable[..., np.ndarray]
) -> _Rule:
    if isinstance(trigger, BandTrigger):
        if trigger.scales is None:
            return _Rule(trigger.bands, False)
        scale = scales(trigger)

        def scaled_bands(targets: np.ndarray) -> np.ndarray:
            return trigger.bands(targets) * scale

        return _Rule(scaled_bands, False)
    if isinstance(trigger, CalendarTrigger):
        f = trigger.frequency
        due = last_rebalanced is None or period_key(as_of, f) != period_key(last_rebalanced, f)
        return _Rule(None, due)
    if isinstance(trigger, NoTrigger):
        return _Rule(None, False)
    rules = [_trigger_rule(p, as_of, last_rebalanced, scales) for p in trigger.parts]
    banded = [r.bands for r in rules if r.bands is not None]

    def tightest(targets: np.ndarray) -> np.ndarray:
        return np.minimum.reduce([b(targets) for b in banded])

    return _Rule(
        tightest if banded else None,
        any(r.due for r in rules),
        any(r.unknown for r in rules),
    )


def book_of(
    households: Sequence[tuple[Household, Holdings]],
    prices: pd.DataFrame,
    as_of: date,
    *,
    last_rebalanced: Sequence[date | None] | None = None,
) -> tuple[Book, np.ndarray]:
    """The book of ``households`` on ``as_of``, and the day's closes of its symbols.

    Parameters
    ----------
    households : sequence of (Household, Holdings)
        Each household with its holdings.
    prices : DataFrame
        Adjusted closes (DatetimeIndex, one column per symbol), at least up to ``as_of``.
    as_of : date
        The decision day (a row of ``prices``).
    last_rebalanced : sequence of date or None, optional
        Last rebalance of each household (calendar rules); None: unknown, so due.

    Returns
    -------
    book : Book
    closes : ndarray, shape (S,)
        The close of each of ``book.symbols`` on ``as_of`` (NaN where the table has none).
    """
    n = len(households)
    lasts = list(last_rebalanced) if last_rebalanced is not None else [None] * n
    targets = [resolve_targets(hh, prices, as_of) for hh, _ in households]
    universe = _universe(households, targets)
    column = {s: j for j, s in enumerate(universe)}
    s = len(universe)
    cash_col = s
    known = [s for s in universe if s in prices.columns]
    closes = np.full(len(universe), np.nan)
    closes[[column[s] for s in known]] = prices.loc[pd.Timestamp(as_of), known].to_numpy(float)

    quantities = np.zeros((n, s))
    cash = np.zeros(n)
    target_w = np.zeros((n, s + 1))
    unknown = np.zeros(n, dtype=bool)
    due = np.zeros(n, dtype=bool)
    moves: list[tuple[int, int, int]] = []
    lot_rows: list[tuple[int, int, float, float, float]] = []
    by_rule: dict[int, tuple[_Bands, list[int]]] = {}
    rules: dict[tuple[object, date | None], _Rule] = {}
    scales = _VolScales(prices, as_of, universe)

    for i, ((hh, lots), tw) in enumerate(zip(households, targets, strict=True)):
        for lot in lots.lots:
            quantities[i, column[lot.symbol]] += lot.quantity
        cash[i] = sum(lots.cash.values())
        for sym, w in tw.items():
            target_w[i, column[sym] if sym != CASH else cash_col] = w
        moves.extend((i, column[a], column[p]) for a, p in _substitute_moves(hh, lots, tw))
        if hh.harvest.enabled:
            taxable = {a.id for a in hh.accounts if a.taxable}
            rules_h = hh.harvest
            for lot in lots.lots:
                if lot.account in taxable:
                    floor = max(rules_h.min_loss, rules_h.min_loss_fraction * lot.cost_basis)
                    lot_rows.append((i, column[lot.symbol], lot.quantity, lot.cost_basis, floor))
        key = (hh.policy, lasts[i])
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = _rule(hh.policy, as_of, lasts[i], scales)
        due[i] = rule.due
        unknown[i] = rule.unknown
        if rule.bands is not None:
            by_rule.setdefault(id(rule), (rule.bands, []))[1].append(i)

    limits = np.full((n, s + 1), np.inf)
    for bands, rows in by_rule.values():
        limits[rows] = bands(target_w[rows]) + TOLERANCE
    lots_arr = np.array(lot_rows, dtype=float).reshape(-1, 5)
    book = Book(
        symbols=tuple(universe),
        quantities=quantities,
        cash=cash,
        target_weights=target_w,
        band_limits=limits,
        calendar_due=due,
        unknown=unknown,
        moves=np.array(moves, dtype=np.intp).reshape(-1, 3),
        lot_household=lots_arr[:, 0].astype(np.intp),
        lot_symbol=lots_arr[:, 1].astype(np.intp),
        lot_quantity=lots_arr[:, 2].copy(),
        lot_basis=lots_arr[:, 3].copy(),
        lot_loss_floor=lots_arr[:, 4].copy(),
    )
    return book, closes


def _universe(
    households: Iterable[tuple[Household, Holdings]], targets: Iterable[Mapping[str, float]]
) -> list[str]:
    seen: dict[str, None] = {}
    for (_, lots), tw in zip(households, targets, strict=True):
        seen.update((s, None) for s in tw if s != CASH)
        seen.update((s, None) for s in lots.symbols)
    return list(seen)


def _substitute_moves(
    hh: Household, lots: Holdings, targets: Mapping[str, float]
) -> list[tuple[str, str]]:
    """(substitute, primary) for each held substitute whose weight counts in its primary's
    (the rule of ``poise.plan._taxaware.group_context``)."""
    subs = hh.harvest.substitutes
    if not subs:
        return []
    out = []
    for sym in lots.symbols:
        if targets.get(sym, 0.0) > 0:
            continue
        for primary, alternates in subs.items():
            if sym in alternates and targets.get(primary, 0.0) > 0:
                out.append((sym, primary))
                break
    return out


class _VolScales:
    """Each scaled band trigger's scale of every universe column on the day, asked of the
    policy once (a column's scale depends on its own prices only)."""

    def __init__(self, prices: pd.DataFrame, as_of: date, universe: Sequence[str]) -> None:
        self._prices, self._as_of, self._universe = prices, as_of, tuple(universe)
        self._history: np.ndarray | None = None
        self._cache: dict[BandTrigger, np.ndarray] = {}

    def __call__(self, trigger: BandTrigger) -> np.ndarray:
        assert trigger.scales is not None
        if trigger not in self._cache:
            if self._history is None:
                self._history = history_matrix(self._prices, self._universe, self._as_of)
            n = len(self._universe) + 1
            context = PolicyContext(
                self._as_of,
                (*self._universe, CASH),
                np.zeros(n),
                np.zeros(n),
                history=self._history,
            )
            scale = trigger.scales(context)
            scale[-1] = 1.0
            self._cache[trigger] = scale
        return self._cache[trigger]
