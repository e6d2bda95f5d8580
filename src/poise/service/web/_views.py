"""What the pages show, computed from the engine's values and independent of HTTP: each
asset's weight against its target and band, each lot's gain, holding period and wash-sale
window, the book's order and filters.

Bands and the drift reasons come from the household's own policy (:meth:`Policy.decide` on the
current weights), never from a copy of its rule here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from poise.model import CASH, Holdings, Household, Side
from poise.policy import PolicyContext
from poise.tax import Transaction, identical_group, long_term_date

__all__ = [
    "WASH_WINDOW_DAYS",
    "BookRow",
    "LotRow",
    "WeightRow",
    "current_weights",
    "filter_book",
    "lot_rows",
    "policy_view",
    "sort_book",
    "wash_windows",
    "weight_rows",
]

WASH_WINDOW_DAYS = 30
"""A loss sale is washed by a buy of the same or a substantially identical security within
this many days before or after it (IRC §1091)."""

BandStatus = Literal["inside", "above", "below", "no band"]


@dataclass(frozen=True, slots=True)
class WeightRow:
    """One asset's current weight against its target and band (fractions of total value).

    ``half_band`` is the band's half-width in weight points, None when the policy sets none.
    """

    symbol: str
    target_weight: float
    weight: float
    half_band: float | None

    @property
    def drift(self) -> float:
        """Current minus target weight (weight points; positive when overweight)."""
        return self.weight - self.target_weight

    @property
    def lower(self) -> float | None:
        return None if self.half_band is None else max(self.target_weight - self.half_band, 0.0)

    @property
    def upper(self) -> float | None:
        return None if self.half_band is None else self.target_weight + self.half_band

    @property
    def status(self) -> BandStatus:
        if self.half_band is None:
            return "no band"
        if self.drift > self.half_band + 1e-12:
            return "above"
        if -self.drift > self.half_band + 1e-12:
            return "below"
        return "inside"


def current_weights(holdings: Holdings, prices: Mapping[str, float]) -> dict[str, float]:
    """Each symbol's share of the household's total value (cash included, as ``CASH``).

    Raises
    ------
    KeyError
        A held symbol has no price.
    """
    values: dict[str, float] = {}
    for lot in holdings.lots:
        values[lot.symbol] = values.get(lot.symbol, 0.0) + lot.quantity * prices[lot.symbol]
    cash = sum(holdings.cash.values())
    if cash:
        values[CASH] = cash
    total = sum(values.values())
    if total <= 0:
        return {symbol: 0.0 for symbol in values}
    return {symbol: value / total for symbol, value in values.items()}


def _symbols(targets: Mapping[str, float], weights: Mapping[str, float]) -> list[str]:
    """Targets in their order, then held symbols without a target, cash last."""
    symbols = [s for s in targets if s != CASH] + [
        s for s in weights if s not in targets and s != CASH
    ]
    if CASH in targets or CASH in weights:
        symbols.append(CASH)
    return symbols


def policy_view(
    household: Household,
    targets: Mapping[str, float],
    weights: Mapping[str, float],
    as_of: date,
) -> tuple[dict[str, float | None], tuple[str, ...], bool]:
    """Ask the household's policy about today's weights.

    Returns
    -------
    half_bands : dict
        Band half-width per symbol (weight points), None where the policy sets no band.
    reasons : tuple of str
        The policy's reasons (why it would, or would not, rebalance).
    triggered : bool
        Whether the policy would rebalance now.

    A policy that needs price history to decide (volatility-scaled bands) is asked without it
    only when it can answer; otherwise no bands are drawn and the reason says so.
    """
    symbols = _symbols(targets, weights)
    context = PolicyContext(
        as_of=as_of,
        symbols=tuple(symbols),
        weights=np.array([weights.get(s, 0.0) for s in symbols], dtype=float),
        target_weights=np.array([targets.get(s, 0.0) for s in symbols], dtype=float),
    )
    try:
        decision = household.policy.decide(context)
    except (TypeError, ValueError, AttributeError, IndexError):
        return (
            dict.fromkeys(symbols),
            (f"{household.policy.describe()}: needs price history to decide",),
            False,
        )
    bands: dict[str, float | None] = dict.fromkeys(symbols)
    half_widths = decision.bands_for(symbols)  # by name, in this view's order
    if half_widths is not None:
        for symbol, band in zip(symbols, half_widths, strict=True):
            bands[symbol] = float(band) if math.isfinite(band) else None
    return bands, decision.reasons, decision.triggered


def weight_rows(
    targets: Mapping[str, float],
    weights: Mapping[str, float],
    half_bands: Mapping[str, float | None],
) -> list[WeightRow]:
    """One row per asset: targets in their order, then untargeted holdings, cash last."""
    return [
        WeightRow(s, targets.get(s, 0.0), weights.get(s, 0.0), half_bands.get(s))
        for s in _symbols(targets, weights)
    ]


@dataclass(frozen=True, slots=True)
class LotRow:
    """One tax lot as the household page shows it.

    ``gain`` is unrealised (value minus basis); ``days_held`` counts from ``acquired`` to the
    as-of day; ``long_term_on`` is the first day a sale is long-term. ``wash_until`` is the last
    day on which a loss sale of this symbol would be washed by a recent buy of it (or of a
    substantially identical security), None when no such buy happened in the last 30 days.
    """

    account: str
    symbol: str
    quantity: float
    cost_basis: float
    acquired: date
    price: float | None
    days_held: int
    long_term_on: date
    as_of: date
    wash_until: date | None

    @property
    def value(self) -> float | None:
        return None if self.price is None else self.quantity * self.price

    @property
    def gain(self) -> float | None:
        value = self.value
        return None if value is None else value - self.cost_basis

    @property
    def long_term(self) -> bool:
        return self.as_of >= self.long_term_on


def _recent_buys(
    holdings: Holdings, transactions: Iterable[Transaction], as_of: date
) -> dict[str, date]:
    """The latest buy day of each symbol within the wash window before ``as_of``."""
    start = as_of - timedelta(days=WASH_WINDOW_DAYS)
    days = [(lot.symbol, lot.acquired) for lot in holdings.lots]
    days += [(t.symbol, t.date) for t in transactions if t.side is Side.BUY]
    latest: dict[str, date] = {}
    for symbol, day in days:
        if start <= day <= as_of and day > latest.get(symbol, date.min):
            latest[symbol] = day
    return latest


def wash_windows(
    holdings: Holdings,
    as_of: date,
    *,
    identical_groups: Sequence[frozenset[str]] = (),
    transactions: Iterable[Transaction] = (),
) -> dict[str, date]:
    """For each held symbol bought (itself, or a substantially identical security) within the
    last 30 days: the last day on which a loss sale of it would be washed by that buy."""
    recent = _recent_buys(holdings, transactions, as_of)
    if not recent:
        return {}
    out = {}
    for symbol in holdings.symbols:
        buys = [recent[s] for s in identical_group(symbol, identical_groups) if s in recent]
        if buys:
            out[symbol] = max(buys) + timedelta(days=WASH_WINDOW_DAYS)
    return out


def lot_rows(
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    *,
    identical_groups: Sequence[frozenset[str]] = (),
    transactions: Iterable[Transaction] = (),
) -> list[LotRow]:
    """Every lot with its value, unrealised gain, holding period and wash-sale window, by
    account then symbol then acquisition day."""
    windows = wash_windows(
        holdings, as_of, identical_groups=identical_groups, transactions=transactions
    )
    return [
        LotRow(
            account=lot.account,
            symbol=lot.symbol,
            quantity=lot.quantity,
            cost_basis=lot.cost_basis,
            acquired=lot.acquired,
            price=prices.get(lot.symbol),
            days_held=(as_of - lot.acquired).days,
            long_term_on=long_term_date(lot.acquired),
            as_of=as_of,
            wash_until=windows.get(lot.symbol),
        )
        for lot in sorted(holdings.lots, key=lambda x: (x.account, x.symbol, x.acquired))
    ]


@dataclass(frozen=True, slots=True)
class BookRow:
    """One household in the firm's book.

    ``worst_drift`` is the signed drift (weight points) of ``worst_symbol``, the asset furthest
    outside (or nearest to leaving) its band; ``excess`` is how far beyond the band it is
    (weight points, negative while inside; None without a band). ``as_of`` and ``prices``
    say which close valued it (None when it could not be valued).
    """

    id: str
    name: str
    total_value: float
    worst_symbol: str | None
    worst_drift: float
    half_band: float | None
    triggered: bool
    reasons: tuple[str, ...]
    cash_to_invest: float = 0.0
    harvestable_loss: float = 0.0
    last_rebalanced: date | None = None
    plan_status: str | None = None
    error: str | None = None
    as_of: date | None = None
    prices: str | None = None
    largest_symbol: str | None = None
    largest_weight: float = math.nan
    largest_target: float = math.nan

    @property
    def largest_drift(self) -> float:
        """Weight minus target of ``largest_symbol``, the asset (cash included) furthest from
        its target whatever the bands: the ``worst`` of ``GET /api/v1/drift``."""
        return self.largest_weight - self.largest_target

    @property
    def excess(self) -> float | None:
        if self.half_band is None:
            return None
        return abs(self.worst_drift) - self.half_band


def sort_book(rows: Iterable[BookRow]) -> list[BookRow]:
    """Worst first: households whose policy triggers, then by how far the worst asset is
    beyond its band, then by its drift; households that could not be valued come last."""

    def key(row: BookRow) -> tuple[int, int, float, float, str]:
        excess = row.excess
        return (
            row.error is not None,
            not row.triggered,
            -(excess if excess is not None else -math.inf),
            -abs(row.worst_drift),
            row.name.casefold(),
        )

    return sorted(rows, key=key)


BookFilter = Literal["all", "breached", "inside", "proposed"]


def filter_book(rows: Iterable[BookRow], *, query: str = "", show: str = "all") -> list[BookRow]:
    """Rows whose name or worst asset contains ``query`` (any case), and that match ``show``:
    ``breached`` (the policy triggers), ``inside`` (it does not), ``proposed`` (a plan waits
    for approval) or ``all``."""
    needle = query.strip().casefold()
    out = []
    for row in rows:
        if (
            needle
            and needle not in row.name.casefold()
            and needle != (row.worst_symbol or "").casefold()
        ):
            continue
        if show == "breached" and not row.triggered:
            continue
        if show == "inside" and (row.triggered or row.error is not None):
            continue
        if show == "proposed" and row.plan_status != "proposed":
            continue
        out.append(row)
    return out
