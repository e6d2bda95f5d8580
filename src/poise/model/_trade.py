"""Trades and plans: what poise proposes to do, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from poise.model._holdings import Holdings, Lot
from poise.model._reason import Reason

__all__ = ["LotSale", "Plan", "Side", "Trade"]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class LotSale:
    """The part of one lot that a sell disposes of.

    ``gain`` is proceeds (after this part's share of the trade's cost) less basis;
    ``long_term`` follows the holding-period rule (held more than one year).
    ``washed`` is the part of a loss disallowed by the wash-sale rule (a positive number).
    """

    lot: Lot
    quantity: float
    proceeds: float
    basis: float
    gain: float
    long_term: bool
    washed: float = 0.0


@dataclass(frozen=True, slots=True)
class Trade:
    """One order in one account. ``value`` = quantity × price; ``cost`` is paid from cash.

    ``reason`` is the text users read; ``why`` the same reason with its fields (a
    :class:`Reason`, whose ``str()`` is ``reason``), or None for trades made elsewhere (e.g.
    read from a file). ``why`` takes no part in equality.
    """

    account: str
    symbol: str
    side: Side
    quantity: float
    price: float
    cost: float
    reason: str
    realized_short_term: float = 0.0
    realized_long_term: float = 0.0
    lot_sales: tuple[LotSale, ...] = ()
    why: Reason | None = field(default=None, compare=False)

    @property
    def value(self) -> float:
        return self.quantity * self.price

    @property
    def cash_change(self) -> float:
        """Change in the account's cash: proceeds less cost, or minus value and cost."""
        if self.side is Side.BUY:
            return -self.value - self.cost
        return self.value - self.cost


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of one decision: the trades, and the household before and after them.

    ``triggered`` and ``reasons`` say whether the policy called for a rebalance and why;
    a plan with no trades still carries its reasons.
    """

    as_of: date
    triggered: bool
    reasons: tuple[str, ...]
    total_value: float
    targets: Mapping[str, float]
    weights_before: Mapping[str, float]
    weights_after: Mapping[str, float]
    trades: tuple[Trade, ...]
    holdings_before: Holdings
    holdings_after: Holdings
    estimated_tax: float = 0.0
    warnings: tuple[str, ...] = field(default=())
    unmet_withdrawals: Mapping[str, float] = field(default_factory=dict)

    @property
    def total_cost(self) -> float:
        return float(sum(t.cost for t in self.trades))

    @property
    def realized_short_term(self) -> float:
        return float(sum(t.realized_short_term for t in self.trades))

    @property
    def realized_long_term(self) -> float:
        return float(sum(t.realized_long_term for t in self.trades))
