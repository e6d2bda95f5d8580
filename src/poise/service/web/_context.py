"""A household valued on one day, and what the book and the household page show of it.

Everything here works on the engine's values (``Household``, ``Holdings``, a prices table), so
it is tested without a server; the pages fetch those values through the service's stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from poise._errors import InputError
from poise.allocate import resolve_targets
from poise.io import prices_on
from poise.model import CASH, Holdings, Household
from poise.service.web._views import (
    BookRow,
    LotRow,
    WeightRow,
    current_weights,
    lot_rows,
    policy_view,
    weight_rows,
)
from poise.tax import Transaction

__all__ = [
    "Valuation",
    "book_row",
    "day_prices",
    "harvestable_loss",
    "lots_by_account",
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


def harvestable_loss(
    household: Household,
    lots: Iterable[LotRow],
) -> float:
    """Unrealised losses (a positive amount) of lots in taxable accounts that the household's
    harvest rules would consider (``min_loss``, ``min_loss_fraction``) and that no recent buy
    would wash."""
    taxable = {a.id for a in household.accounts if a.taxable}
    rules = household.harvest
    total = 0.0
    for lot in lots:
        gain = lot.gain
        if lot.account not in taxable or gain is None or gain >= 0 or lot.wash_until:
            continue
        loss = -gain
        if loss >= rules.min_loss and loss >= rules.min_loss_fraction * lot.cost_basis:
            total += loss
    return total


def book_row(
    household_id: str,
    household: Household,
    holdings: Holdings,
    valuation: Valuation,
    *,
    transactions: Sequence[Transaction] = (),
    plan_status: str | None = None,
    last_rebalanced: date | None = None,
) -> BookRow:
    """The household's line in the book."""
    worst = valuation.worst
    lots = lot_rows(
        holdings,
        valuation.prices,
        valuation.as_of,
        identical_groups=household.identical_groups,
        transactions=transactions,
    )
    reserve = household.trading.cash_reserve
    return BookRow(
        id=household_id,
        name=household.name,
        total_value=valuation.total_value,
        worst_symbol=worst.symbol if worst else None,
        worst_drift=worst.drift if worst else 0.0,
        half_band=worst.half_band if worst else None,
        triggered=valuation.triggered,
        reasons=valuation.reasons if valuation.triggered else (),
        cash_to_invest=sum(max(cash - reserve, 0.0) for cash in holdings.cash.values()),
        harvestable_loss=harvestable_loss(household, lots),
        last_rebalanced=last_rebalanced,
        plan_status=plan_status,
    )


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
