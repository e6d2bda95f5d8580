"""One trading-cost model: what a trade costs, and how much a sum of cash can buy or must raise.

A :class:`CostModel` is the sum of three kinds of term, each charged on every trade:

* ``commission``: currency per trade (a ticket charge);
* ``spread_bps``: basis points of the trade's value (half the bid-ask spread plus any
  market impact the user wants to charge);
* ``tickets``: per-share commissions, each with a minimum per trade (``max(per_share ×
  |quantity|, minimum)``, as brokers that charge by the share bill it).

Models compose: ``commission(1.0) + spread(5.0)`` is the model of a broker charging 1 per trade
plus 5 bps. The cost of a sum is the sum of the costs; the commission and spread terms are
stored summed, so ``a + b`` stays one object and costs one expression per trade.

Every function here has a scalar form (one trade, Python floats: the planning loops) and, where
a loop over many trades needs it, a vectorised form (numpy arrays: the backtest screens and the
Monte Carlo). Both evaluate the same expression in the same order, so the two agree to the bit.

The gross-up (:meth:`CostModel.affordable_value`, :meth:`CostModel.cash_needed`,
:meth:`CostModel.value_to_raise`) answers the planner's questions: how much can be bought with
cash ``C`` once costs are paid, how much cash a buy uses, and how much must be sold so that the
proceeds after costs are ``N``. Per-share terms need the price (the quantity is value / price);
a model without them ignores it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from poise._errors import InputError

__all__ = ["CostModel", "TicketCharge", "commission", "per_share", "spread"]

_BPS = 1e-4


@dataclass(frozen=True, slots=True)
class TicketCharge:
    """A per-share commission with a minimum per trade.

    Parameters
    ----------
    per_share : float
        Currency per share traded (e.g. 0.005).
    minimum : float
        The least charged on any trade (currency), e.g. 1.0.
    """

    per_share: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        _check_amount("per_share", self.per_share)
        _check_amount("minimum", self.minimum)

    def charge(self, quantity: float) -> float:
        """The charge on one trade of ``quantity`` shares (either sign)."""
        return max(self.per_share * abs(quantity), self.minimum)


@dataclass(frozen=True, slots=True)
class CostModel:
    """What trading costs: commission per trade, spread in bps, per-share tickets.

    Parameters
    ----------
    commission : float
        Currency charged per trade.
    spread_bps : float
        Basis points of each trade's value (10 bps = 0.1 %).
    tickets : tuple of TicketCharge
        Per-share commissions, each with its minimum per trade.

    Raises
    ------
    InputError
        A negative or non-finite amount (naming the field), or a spread of 10,000 bps or more
        (a sale would raise nothing).

    Notes
    -----
    Costs are paid from the trading account's cash, on buys and sells alike.
    """

    commission: float = 0.0
    spread_bps: float = 0.0
    tickets: tuple[TicketCharge, ...] = ()

    def __post_init__(self) -> None:
        _check_amount("commission", self.commission)
        _check_amount("spread_bps", self.spread_bps)
        if self.spread_bps >= 1e4:
            raise InputError(
                f"must be below 10000 bps (a sale would raise nothing), got {self.spread_bps}",
                field="spread_bps",
            )

    def __add__(self, other: CostModel) -> CostModel:
        if not isinstance(other, CostModel):
            return NotImplemented
        return CostModel(
            self.commission + other.commission,
            self.spread_bps + other.spread_bps,
            self.tickets + other.tickets,
        )

    # -- what a trade costs ------------------------------------------------------------------

    @property
    def free(self) -> bool:
        """True when every trade costs exactly 0.0."""
        return self.commission == 0.0 and self.spread_bps == 0.0 and not self.tickets

    @property
    def per_share(self) -> bool:
        """True when the cost depends on the quantity, not only the value (per-share tickets):
        then the gross-up needs a price and :meth:`total_cost` is refused."""
        return bool(self.tickets)

    @property
    def rate(self) -> float:
        """The spread as a fraction of value (``spread_bps × 1e-4``)."""
        return self.spread_bps * _BPS

    def cost(self, trade_value: float, quantity: float | None = None) -> float:
        """Cost of one trade (currency, ≥ 0).

        Parameters
        ----------
        trade_value : float
            The trade's value (currency, either sign).
        quantity : float, optional
            Its shares (either sign); required when the model has per-share tickets.

        Raises
        ------
        ValueError
            Per-share tickets and no quantity.
        """
        cost = self.commission + abs(trade_value) * self.spread_bps * _BPS
        if self.tickets:
            if quantity is None:
                raise ValueError("this cost model charges per share: pass the trade's quantity")
            shares = quantity
            for ticket in self.tickets:
                cost += ticket.charge(shares)
        return cost

    def costs(
        self,
        trade_value: npt.ArrayLike,
        quantity: npt.ArrayLike | None = None,
    ) -> np.ndarray:
        """Vectorised :meth:`cost`: each element is one trade (same shape as ``trade_value``)."""
        value = np.asarray(trade_value, dtype=float)
        cost = self.commission + np.abs(value) * self.spread_bps * _BPS
        if self.tickets:
            if quantity is None:
                raise ValueError("this cost model charges per share: pass the trade's quantity")
            shares = np.abs(np.asarray(quantity, dtype=float))
            for ticket in self.tickets:
                cost = cost + np.maximum(ticket.per_share * shares, ticket.minimum)
        return cost

    def total_cost(self, traded_value: np.ndarray, trades: np.ndarray) -> np.ndarray:
        """Cost of ``trades`` trades whose absolute values sum to ``traded_value``.

        ``traded_value × rate + commission × trades``, elementwise for arrays (e.g. one row per
        Monte Carlo path). Only for models whose cost depends on value alone.

        Raises
        ------
        ValueError
            The model has per-share tickets (their cost needs each trade's quantity).
        """
        if self.tickets:
            raise ValueError("per-share tickets need each trade's quantity; use costs()")
        return traded_value * self.rate + self.commission * trades

    # -- the gross-up --------------------------------------------------------------------------

    @property
    def buy_rate(self) -> float:
        """Cash used per unit of value bought, before fixed charges (``1 + rate``)."""
        return 1.0 + self.spread_bps * _BPS

    @property
    def sell_rate(self) -> float:
        """Cash raised per unit of value sold, before fixed charges (``1 − rate``)."""
        return 1.0 - self.spread_bps * _BPS

    def cash_needed(self, value: float, trades: int = 1, *, price: float | None = None) -> float:
        """Cash that buying ``value`` (in ``trades`` trades) uses, costs included.

        Per-share tickets need the price and one trade.
        """
        cash = value * self.buy_rate + trades * self.commission
        if self.tickets:
            cash += sum(t.charge(value / _one_price(price, trades)) for t in self.tickets)
        return cash

    def room(self, cash: float, trades: int = 1) -> float:
        """What ``cash`` leaves for value and spread once ``trades`` trades' commissions are
        paid: ``cash − trades × commission`` (negative when it does not cover them)."""
        return cash - trades * self.commission

    def affordable_value(self, cash: float, *, price: float | None = None) -> float:
        """The largest value one buy can have when ``cash`` pays for it and its costs.

        ``(cash − commission) / (1 + rate)`` without per-share tickets; negative when the cash
        does not cover the commission (callers clip). With tickets, the per-share rate or the
        minimum, whichever applies at the answer.
        """
        budget = self.room(cash)
        if not self.tickets:
            return budget / self.buy_rate
        unit = _one_price(price, 1)
        return _solve(budget, self.buy_rate, self.tickets, unit)

    def affordable_fraction(self, value: float, cash: float, trades: int) -> float:
        """The share of ``value`` (bought in ``trades`` trades) that ``cash`` pays for, costs
        included: ``max(0, cash − trades × commission) / (value × (1 + rate))``; 0 when the
        cash does not cover the commissions. Only for models without per-share tickets.

        Raises
        ------
        ValueError
            The model has per-share tickets.
        """
        if self.tickets:
            raise ValueError("per-share tickets are sized one trade at a time")
        return max(0.0, self.room(cash, trades)) / (value * self.buy_rate)

    def affordable_shares(self, cash: float, price: float) -> int:
        """Whole shares of ``price`` one buy can take when ``cash`` pays for them and costs."""
        if not self.tickets:
            return max(0, math.floor((cash - self.commission) / (price * self.buy_rate) + 1e-9))
        value = self.affordable_value(cash, price=price)
        return max(0, math.floor(value / price + 1e-9))

    def value_to_raise(self, need: float, trades: int = 1, *, price: float | None = None) -> float:
        """The value to sell (in ``trades`` trades) so that the proceeds after costs are
        ``need``: ``(need + trades × commission) / (1 − rate)`` without per-share tickets."""
        if not self.tickets:
            return (need + trades * self.commission) / self.sell_rate
        unit = _one_price(price, trades)
        return _solve(-(need + self.commission), -self.sell_rate, self.tickets, unit)


def commission(amount: float) -> CostModel:
    """A model charging ``amount`` (currency) per trade."""
    return CostModel(commission=amount)


def spread(bps: float) -> CostModel:
    """A model charging ``bps`` basis points of each trade's value."""
    return CostModel(spread_bps=bps)


def per_share(amount: float, minimum: float = 0.0) -> CostModel:
    """A model charging ``amount`` per share, at least ``minimum`` per trade."""
    return CostModel(tickets=(TicketCharge(amount, minimum),))


def _check_amount(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise InputError(f"must be a finite amount ≥ 0, got {value!r}", field=name)


def _one_price(price: float | None, trades: int) -> float:
    if price is None or not price > 0:
        raise ValueError("this cost model charges per share: pass the price (> 0)")
    if trades != 1:
        raise ValueError("per-share tickets are sized one trade at a time (trades=1)")
    return price


def _solve(
    budget: float,
    rate: float,
    tickets: tuple[TicketCharge, ...],
    price: float,
) -> float:
    """The value v with ``v × rate + Σ max(per_share × v / price, minimum) = budget``.

    Buys: ``rate = 1 + spread``, budget = cash − commission, the left side grows with v.
    Sells: ``rate = −(1 − spread)``, budget = −(need + commission), which is
    ``v × (1 − spread) − Σ charge = need + commission`` negated. Each ticket either charges by
    the share or its minimum; the answer is the one assignment consistent with itself (the charge is
    convex in v, so the assignments are tried from all-minimum up).
    """
    # breakpoints: the value where each ticket's per-share charge reaches its minimum
    order = sorted(tickets, key=lambda t: t.minimum / t.per_share if t.per_share else math.inf)
    fixed = sum(t.minimum for t in order)
    slope = 0.0
    for k in range(len(order) + 1):
        value = (budget - fixed) / (rate + slope / price)
        nxt = order[k] if k < len(order) else None
        if nxt is None or not nxt.per_share:
            return value
        if value * nxt.per_share / price <= nxt.minimum:
            return value
        fixed -= nxt.minimum
        slope += nxt.per_share
    return value  # pragma: no cover - the loop always returns
