"""A household valued on one day, and what the book and the household page show of it.

Everything here works on the engine's values (``Household``, ``Holdings``, a prices table), so
it is tested without a server; the pages fetch those values through the service's stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise._errors import InputError, PoiseError
from poise.allocate import resolve_targets
from poise.io import prices_on
from poise.model import CASH, Holdings, Household
from poise.service.web._views import (
    BookRow,
    LotRow,
    WeightRow,
    current_weights,
    policy_view,
    weight_rows,
)

__all__ = [
    "BookEntry",
    "Valuation",
    "day_prices",
    "lots_by_account",
    "screen_book",
    "value_household",
]


@dataclass(frozen=True, slots=True)
class Valuation:
    """A household at the close of ``as_of``: its targets, weights, bands and the policy's
    verdict."""

    as_of: date
    total_value: float
    prices: Mapping[str, float]
    rows: tuple[WeightRow, ...]
    reasons: tuple[str, ...]
    triggered: bool

    @property
    def worst(self) -> WeightRow | None:
        """The asset furthest beyond its band (or, with no bands, furthest from target)."""
        banded = [r for r in self.rows if r.half_band is not None]
        if banded:
            return max(banded, key=lambda r: abs(r.drift) - (r.half_band or 0.0))
        return max(self.rows, key=lambda r: abs(r.drift), default=None)


def day_prices(
    prices: pd.DataFrame, as_of: date | None = None, *, source: str = "prices"
) -> tuple[date, dict[str, float]]:
    """Every symbol's close on ``as_of`` (the table's last day when None), read once for a
    whole book.

    Raises
    ------
    InputError
        ``as_of`` is not a day of the table.
    """
    on, _ = prices_on(prices, as_of, (), source=source)
    row = prices.loc[pd.Timestamp(on)].to_numpy(dtype=float)
    closes = {str(k): float(v) for k, v in zip(prices.columns, row, strict=True) if v == v}
    return on, closes


def value_household(
    household: Household,
    holdings: Holdings,
    prices: pd.DataFrame,
    as_of: date | None = None,
    *,
    source: str = "prices",
    closes: Mapping[str, float] | None = None,
) -> Valuation:
    """Value ``holdings`` at the close of ``as_of`` (the table's last day when None) and ask the
    household's policy about the weights.

    ``closes`` (from :func:`day_prices` on the same table and day) saves reading the day's row
    again for each household of a book.

    Raises
    ------
    InputError
        No prices on ``as_of``, or a held or targeted symbol without a price that day.
    """
    if closes is None:
        on, closes = day_prices(prices, as_of, source=source)
    else:
        on = as_of if as_of is not None else prices.index[-1].date()
    needed = [s for s in household.targets if s != CASH] + list(holdings.symbols)
    missing = [s for s in dict.fromkeys(needed) if s not in closes]
    if missing:
        raise InputError(
            f"no price on {on} for {', '.join(missing)}; add them to the prices or pick "
            "another day",
            source=source,
            field="prices",
        )
    targets = (
        dict(household.targets)
        if household.allocation is None
        else resolve_targets(household, prices, on)
    )
    weights = current_weights(holdings, closes)
    bands, reasons, triggered = policy_view(household, targets, weights, on)
    total = sum(q * closes[s] for s, q in holdings.symbol_quantities().items())
    total += sum(holdings.cash.values())
    rows = tuple(weight_rows(targets, weights, bands))
    return Valuation(on, total, closes, rows, reasons, triggered)


@dataclass(frozen=True, slots=True)
class BookEntry:
    """A household to put in the book, with what the store knows of its plans."""

    id: str
    household: Household
    holdings: Holdings
    plan_status: str | None = None
    last_rebalanced: date | None = None


def _no_value(entry: BookEntry, message: str) -> BookRow:
    return BookRow(
        id=entry.id,
        name=entry.household.name,
        total_value=float("nan"),
        worst_symbol=None,
        worst_drift=0.0,
        half_band=None,
        triggered=False,
        reasons=(),
        error=message,
    )


def screen_book(
    entries: Sequence[BookEntry],
    prices: pd.DataFrame,
    as_of: date,
    *,
    source: str = "prices",
) -> list[BookRow]:
    """One row per household, from the batch's vectorised book screen
    (:func:`poise.scale.screen`: the policies' own bands and test, on weights computed as the
    plan computes them, harvestable losses as ``[harvest]`` candidates).

    Where the screen cannot be sure (a drift within rounding of its band, a policy it does not
    know, a missing price), the household's own policy decides, and a household that cannot be
    valued gets a row saying why. Rows come in the order of ``entries``.
    """
    from poise.scale import TOLERANCE, book_of, screen

    try:
        book, closes = book_of(
            [(e.household, e.holdings) for e in entries],
            prices,
            as_of,
            last_rebalanced=[e.last_rebalanced for e in entries],
        )
    except (PoiseError, KeyError, ValueError) as exc:
        if len(entries) == 1:
            return [_no_value(entries[0], str(exc))]
        return [row for e in entries for row in screen_book([e], prices, as_of, source=source)]
    found = screen(book, closes)
    symbols = (*book.symbols, CASH)
    value = np.nan_to_num(closes)
    rows = []
    for i, entry in enumerate(entries):
        household, holdings = entry.household, entry.holdings
        triggered = bool(found.triggered[i])
        reasons: tuple[str, ...] = ()
        if found.near[i]:  # let the policy decide
            try:
                valuation = value_household(household, holdings, prices, as_of, source=source)
            except PoiseError as exc:
                rows.append(_no_value(entry, str(exc)))
                continue
            triggered = valuation.triggered
            reasons = valuation.reasons if triggered else ()
        total = float(found.total_value[i])
        weights = np.append(book.quantities[i] * value, book.cash[i]) / (total if total else 1.0)
        drift = weights - book.target_weights[i]
        limits = book.band_limits[i]
        if np.isfinite(found.worst_excess[i]):
            col = int(found.worst_asset[i])
        else:  # no band anywhere: the largest drift
            col = int(np.argmax(np.abs(drift)))
        band = float(limits[col] - TOLERANCE) if np.isfinite(limits[col]) else None
        symbol = symbols[col]
        if triggered and not reasons:
            if band is not None and abs(drift[col]) > band:
                reasons = (
                    f"{symbol} {weights[col] * 100:.1f}% against a target of "
                    f"{book.target_weights[i, col] * 100:.1f}%, outside its band "
                    f"of ±{band * 100:.2f} pp",
                )
            elif book.calendar_due[i]:
                reasons = (f"{household.policy.describe()}: a rebalance is due",)
        largest = int(np.argmax(np.abs(drift)))
        reserve = household.trading.cash_reserve
        rows.append(
            BookRow(
                id=entry.id,
                name=household.name,
                total_value=total,
                worst_symbol=symbol,
                worst_drift=float(drift[col]),
                half_band=band,
                triggered=triggered,
                reasons=reasons,
                cash_to_invest=sum(max(c - reserve, 0.0) for c in holdings.cash.values()),
                harvestable_loss=float(found.harvestable_loss[i]),
                last_rebalanced=entry.last_rebalanced,
                plan_status=entry.plan_status,
                as_of=as_of,
                largest_symbol=symbols[largest],
                largest_weight=float(weights[largest]),
                largest_target=float(book.target_weights[i, largest]),
            )
        )
    return rows


def lots_by_account(
    household: Household, holdings: Holdings, lots: Sequence[LotRow]
) -> list[dict[str, Any]]:
    """Each account of the household with its kind, cash and lots (accounts in the
    household's order)."""
    return [
        {
            "id": account.id,
            "kind": str(account.kind).replace("_", "-"),
            "cash": holdings.cash.get(account.id, 0.0),
            "lots": [lot for lot in lots if lot.account == account.id],
        }
        for account in household.accounts
    ]
