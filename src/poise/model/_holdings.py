"""Tax lots and per-account cash: what a household holds at one moment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import reduce
from itertools import chain
from operator import add, attrgetter

from poise.model._household import CASH

__all__ = ["Holdings", "Lot"]

_KEY = attrgetter("account", "symbol")
_QUANTITY = attrgetter("quantity")


@dataclass(frozen=True, slots=True)
class Lot:
    """One tax lot.

    ``cost_basis`` is the lot's total basis in currency (washed losses included);
    ``acquired`` is the start of its holding period (carried over through a wash sale).
    """

    account: str
    symbol: str
    quantity: float
    cost_basis: float
    acquired: date

    @property
    def basis_per_share(self) -> float:
        return self.cost_basis / self.quantity if self.quantity else 0.0

    def take(self, quantity: float) -> tuple[Lot, Lot | None]:
        """Split off ``quantity`` shares: (the part taken, the remainder or None)."""
        if quantity >= self.quantity - 1e-12:
            return self, None
        share = quantity / self.quantity
        basis = self.cost_basis
        taken = Lot(self.account, self.symbol, quantity, basis * share, self.acquired)
        rest = Lot(
            self.account,
            self.symbol,
            self.quantity - quantity,
            basis * (1.0 - share),
            self.acquired,
        )
        return taken, rest


@dataclass(frozen=True, slots=True)
class Holdings:
    """All lots and each account's cash. Immutable: trades produce new ``Holdings``.

    The lots grouped per (account, symbol) and their quantities are computed once, on first
    use (``groups``, ``quantities``), and kept with the holdings (they take no part in
    equality or ``repr``).
    """

    lots: tuple[Lot, ...] = ()
    cash: Mapping[str, float] = field(default_factory=dict)
    _groups: dict[tuple[str, str], tuple[Lot, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _quantities: dict[tuple[str, str], float] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, lots: Iterable[Lot], cash: Mapping[str, float]) -> Holdings:
        return cls(tuple(lot for lot in lots if lot.quantity > 0), dict(cash))

    @classmethod
    def from_groups(
        cls, groups: Mapping[tuple[str, str], Iterable[Lot]], cash: Mapping[str, float]
    ) -> Holdings:
        """Holdings whose lots are ``groups``' lots (per (account, symbol), in that order),
        empty lots (quantity ≤ 1e-12) dropped; the groups are kept, not rebuilt on first use."""
        kept: dict[tuple[str, str], tuple[Lot, ...]] = {}
        for key, group in groups.items():
            full = [lot for lot in group if lot.quantity > 1e-12]
            if full:
                same = isinstance(group, tuple) and len(full) == len(group)
                kept[key] = group if same else tuple(full)  # type: ignore[assignment]
        out = cls(tuple(chain.from_iterable(kept.values())), cash)
        object.__setattr__(out, "_groups", kept)
        return out

    def with_cash(self, cash: Mapping[str, float]) -> Holdings:
        """The same lots with ``cash`` (currency per account); the lot groups and quantities
        already built are kept, not rebuilt by the next plan."""
        out = Holdings(self.lots, cash)
        object.__setattr__(out, "_groups", self._groups)
        object.__setattr__(out, "_quantities", self._quantities)
        return out

    def groups(self) -> dict[tuple[str, str], tuple[Lot, ...]]:
        """Lots per (account, symbol), in their order in ``lots``, keys in first-seen order.
        Built once per ``Holdings``; do not modify the returned mapping."""
        groups = self._groups
        if groups is None:
            building: dict[tuple[str, str], list[Lot]] = {}
            for key, lot in zip(map(_KEY, self.lots), self.lots, strict=True):
                group = building.get(key)
                if group is None:
                    building[key] = [lot]
                else:
                    group.append(lot)
            groups = {key: tuple(group) for key, group in building.items()}
            object.__setattr__(self, "_groups", groups)
        return groups

    def quantities(self) -> dict[tuple[str, str], float]:
        """Shares held per (account, symbol): each group's lots summed in order (a new dict
        on every call)."""
        qty = self._quantities
        if qty is None:
            qty = {}
            for key, group in self.groups().items():  # in order, one addition at a time
                qty[key] = reduce(add, map(_QUANTITY, group), 0.0)
            object.__setattr__(self, "_quantities", qty)
        return dict(qty)

    def symbol_quantities(self) -> dict[str, float]:
        """Shares held per symbol across the household."""
        qty = self.quantities()
        if len({symbol for _, symbol in qty}) == len(qty):  # one position per symbol
            return {symbol: q for (_, symbol), q in qty.items()}
        out: dict[str, float] = {}
        for lot in self.lots:
            out[lot.symbol] = out.get(lot.symbol, 0.0) + lot.quantity
        return out

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols held (cash excluded), in first-seen order."""
        return tuple(dict.fromkeys(symbol for _, symbol in self.groups()))

    @property
    def total_cash(self) -> float:
        return float(sum(self.cash.values()))

    def value(self, prices: Mapping[str, float]) -> float:
        """Total value (cash included) at ``prices``."""
        return self.total_cash + sum(lot.quantity * prices[lot.symbol] for lot in self.lots)

    def symbol_values(self, prices: Mapping[str, float]) -> dict[str, float]:
        """Value per symbol across the household, with ``CASH``."""
        out: dict[str, float] = {CASH: self.total_cash}
        for sym, qty in self.symbol_quantities().items():
            out[sym] = out.get(sym, 0.0) + qty * prices[sym]
        return out

    def weights(self, prices: Mapping[str, float]) -> dict[str, float]:
        """Weight per symbol (``CASH`` included) of the household's total value."""
        values = self.symbol_values(prices)
        total = sum(values.values())
        if total <= 0:
            return {sym: 0.0 for sym in values}
        return {sym: v / total for sym, v in values.items()}

    def lots_of(self, account: str, symbol: str) -> list[Lot]:
        return list(self.groups().get((account, symbol), ()))
