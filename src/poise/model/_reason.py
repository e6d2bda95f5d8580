"""Why a trade is proposed: a structured reason whose ``str()`` is the text users read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Reason", "ReasonKind"]


class ReasonKind(StrEnum):
    """What a trade does for the household (the reason's category)."""

    TO_TARGET = "to target"
    """A rebalancing trade to the target weight."""
    TO_BAND = "to band"
    """A rebalancing trade to the edge of the band (or, for buys, toward the target)."""
    DEPOSIT = "deposit"
    """A buy with newly deposited cash."""
    IDLE_CASH = "idle cash"
    """A buy with cash already in the account (cash-flow policy)."""
    WITHDRAW = "withdraw"
    """A sell that funds a withdrawal."""
    FREED_CASH = "freed cash"
    """A buy with cash that withdrawal sells raised beyond the withdrawal (whole shares)."""
    OPTIMISED = "optimised"
    """A trade chosen by the optimising plan (tracking, cost and tax)."""
    HARVEST = "harvest"
    """A loss sale for tax-loss harvesting."""
    SUBSTITUTE = "substitute"
    """The buy of a harvested position's substitute."""
    SWAP_BACK = "swap back"
    """A sell of a substitute, or the buy back into its primary, once the wash-sale window has
    closed."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one trade is proposed.

    Parameters
    ----------
    kind : ReasonKind
        The trade's category.
    action : str
        What the trade does, in words (e.g. ``"sell to target"``).
    symbol : str
        The asset whose drift calls for the trade (for a substitute bought in its place, the
        targeted asset, not the substitute).
    weight : float, optional
        The asset's weight before the plan (fraction of the household's value, cash included);
        None for trades not sized by drift (harvesting).
    target : float, optional
        Its target weight (fraction).
    band : float, optional
        The half-width of its band (weight points); None (or not finite) when the policy has
        no band for it.
    note : str
        Anything more the trade's text says (e.g. a substitute bought instead), else ``""``.

    Notes
    -----
    ``str()`` is the text every result shows, e.g.
    ``"JNJ 12.7% vs target 10.0% (band ±2.50pp): sell to target"``; without a weight or a
    target it is the action alone; a note follows after ``"; "``.
    """

    kind: ReasonKind
    action: str
    symbol: str
    weight: float | None = None
    target: float | None = None
    band: float | None = None
    note: str = ""

    @property
    def has_band(self) -> bool:
        """Whether the reason names a band (a finite half-width)."""
        return self.band is not None and math.isfinite(self.band)

    def __str__(self) -> str:
        if self.weight is None or self.target is None:
            text = self.action
        else:
            half = self.band
            band = (
                f" (band ±{half * 100:.2f}pp)" if half is not None and math.isfinite(half) else ""
            )
            text = (
                f"{self.symbol} {self.weight * 100:.1f}% vs target {self.target * 100:.1f}%"
                f"{band}: {self.action}"
            )
        return f"{text}; {self.note}" if self.note else text

    def with_note(self, note: str) -> Reason:
        """This reason with ``note`` appended (``""``: unchanged)."""
        if not note:
            return self
        return Reason(
            self.kind,
            self.action,
            self.symbol,
            self.weight,
            self.target,
            self.band,
            f"{self.note}; {note}" if self.note else note,
        )
