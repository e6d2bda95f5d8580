"""One trading-cost model (commission per trade, spread in bps, per-share tickets with a
minimum), composable with ``+``, in scalar and vectorised forms, with the gross-up the planner
needs. ``TradingRules.costs`` gives a household's model."""

from poise.costs._model import CostModel, TicketCharge, commission, per_share, spread

__all__ = ["CostModel", "TicketCharge", "commission", "per_share", "spread"]
