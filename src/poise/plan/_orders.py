"""What every planned order must satisfy, whichever plan makes it (engine, kernel, optimiser,
harvest): no dust, and no sell that costs more than it raises.

- **Noise floor.** No order is worth less than one cent (``MIN_ORDER_VALUE``) or moves less
  than a share's rounding unit (``SHARE_UNIT``, a millionth of a share, the finest fraction
  brokers trade): below that an order is arithmetic noise, not a decision. A household's
  ``min_trade_value`` raises the floor, never lowers it.
- **A sell pays for itself.** A sell whose commission and spread are at least its value would
  take cash from the account instead of raising it; it is not planned, and the plan says why
  in its warnings (``uncovered_sell_note``).
"""

from __future__ import annotations

from poise.model import TradingRules

__all__ = [
    "MIN_ORDER_VALUE",
    "SHARE_UNIT",
    "is_dust",
    "order_floor",
    "sell_covers_cost",
    "uncovered_sell_note",
]

MIN_ORDER_VALUE = 0.01
"""The smallest order value planned (currency): one cent."""

SHARE_UNIT = 1e-6
"""The smallest share quantity planned: a share's rounding unit for fractional trading."""


def order_floor(rules: TradingRules) -> float:
    """The smallest order value ``rules`` allow: ``min_trade_value``, at least one cent."""
    return max(rules.min_trade_value, MIN_ORDER_VALUE)


def is_dust(quantity: float, value: float, floor: float = MIN_ORDER_VALUE) -> bool:
    """Whether an order of ``quantity`` shares worth ``value`` is below the noise floor
    (``floor``: see ``order_floor``)."""
    return quantity < SHARE_UNIT or value < floor


def sell_covers_cost(value: float, cost: float) -> bool:
    """Whether a sell of ``value`` raises cash after its ``cost`` (commission plus spread)."""
    return value > cost


def uncovered_sell_note(
    account: str, symbol: str, quantity: float, value: float, cost: float
) -> str:
    """The warning for a sell left out because its cost is at least its value."""
    return (
        f"{symbol} in {account}: a sell of {quantity:,.6g} shares worth {value:,.2f} is not "
        f"planned: its cost {cost:,.2f} (commission and spread) is at least its value"
    )
