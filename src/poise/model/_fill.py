"""Fills: what a venue (or the close, in a backtest) actually did with an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from poise.model._trade import Side, Trade

__all__ = ["Fill"]


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of all or part of an order: the ledger row every venue reports.

    Parameters
    ----------
    account, symbol : str
        Household account and security.
    side : Side
        Buy or sell.
    quantity : float
        Shares filled by this execution (> 0).
    price : float
        Fill price per share (currency).
    filled_at : datetime
        When the venue filled it (UTC); its date is the trade date.
    cost : float
        Commission and fees the venue charged, paid from the account's cash.
    execution_id : str
        The venue's id of this execution, unique at that venue: a fill is recorded once per id.
    client_order_id : str
        The order it belongs to.
    """

    account: str
    symbol: str
    side: Side
    quantity: float
    price: float
    filled_at: datetime
    cost: float = 0.0
    execution_id: str = ""
    client_order_id: str = ""

    @property
    def value(self) -> float:
        """quantity × price (currency)."""
        return self.quantity * self.price

    @property
    def cash_change(self) -> float:
        """Change in the account's cash: proceeds less cost, or minus value and cost."""
        if self.side is Side.BUY:
            return -self.value - self.cost
        return self.value - self.cost

    def to_trade(self, reason: str = "fill") -> Trade:
        """The fill as a :class:`Trade` (no lot choice recorded: sells take oldest lots)."""
        return Trade(
            self.account, self.symbol, self.side, self.quantity, self.price, self.cost, reason
        )
