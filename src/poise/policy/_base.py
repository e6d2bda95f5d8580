"""What every policy sees and says.

Timing: a decision on day *t* sees weights at the close of *t* and prices up to and including
the close of *t* (``PolicyContext.history`` ends at *t*); nothing later is ever passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

import numpy as np

from poise.calendar import Frequency, period_key, period_label

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Decision",
    "Frequency",
    "LabelledHistory",
    "Policy",
    "PolicyContext",
    "RebalanceTo",
    "aligned_history",
    "period_key",
    "period_label",
]

_CASH = "CASH"  # poise.model.CASH (the policy layer does not import the model)


@runtime_checkable
class LabelledHistory(Protocol):
    """Prices that give themselves by name: ``aligned(symbols)`` is what
    :func:`aligned_history` makes of a DataFrame (a price table prepared once for many
    decisions, :class:`poise.app.PriceDay`, answers from its own array)."""

    def aligned(self, symbols: Sequence[str]) -> np.ndarray: ...


def aligned_history(history: pd.DataFrame | LabelledHistory, symbols: Sequence[str]) -> np.ndarray:
    """The prices of ``symbols``, taken from ``history`` by name, as an array for a
    :class:`PolicyContext`: one column per symbol in ``symbols``' order (``CASH`` is a column of
    ones; a symbol without a column is all NaN).

    Parameters
    ----------
    history : DataFrame or LabelledHistory
        Prices up to and including the decision day, one row per trading day, one column per
        symbol (labelled: the column order does not matter).
    symbols : sequence of str
        The context's symbols.

    Raises
    ------
    TypeError
        ``history`` is not labelled (a bare array cannot say which column is which asset).
    """
    if not hasattr(history, "columns"):  # (a DataFrame could hold a column named "aligned")
        if isinstance(history, LabelledHistory):
            return history.aligned(symbols)
        raise TypeError(
            "history must be labelled: a DataFrame with one column per symbol, not an array"
        )
    table = cast("pd.DataFrame", history)
    names = [s for s in symbols if s != _CASH]
    frame = table.reindex(columns=names).to_numpy(dtype=float)
    out = np.ones((frame.shape[0], len(symbols)))
    cols = [k for k, s in enumerate(symbols) if s != _CASH]
    out[:, cols] = frame
    return out


class RebalanceTo(StrEnum):
    """Where a triggered rebalance takes the breaching assets."""

    TARGET = "target"
    BAND = "band"


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """The state a policy decides on.

    Attributes
    ----------
    as_of : date
        The decision day; weights are at its close.
    symbols : tuple of str
        Symbols, ``CASH`` included, aligned with ``weights`` and ``target_weights``.
    weights, target_weights : ndarray
        Current and target fractions of the household's total value.
    last_rebalanced : date or None
        The last day a rebalance was carried out; None when unknown (live use).
    previous_day : date or None
        The previous trading day (backtests); None in live use, where every call is a check.
    history : ndarray or None
        Prices of ``symbols`` up to and including ``as_of`` (rows = days; the cash column is 1).

    The arrays are labelled by ``symbols`` and travel only inside the context. Callers that
    hold labelled data (mappings, a price DataFrame) build it with :meth:`labelled` or
    :func:`aligned_history`, so that nothing is matched by position across a seam.
    """

    as_of: date
    symbols: tuple[str, ...]
    weights: np.ndarray
    target_weights: np.ndarray
    last_rebalanced: date | None = None
    previous_day: date | None = None
    history: np.ndarray | None = None

    @classmethod
    def labelled(
        cls,
        as_of: date,
        *,
        weights: Mapping[str, float],
        targets: Mapping[str, float],
        history: pd.DataFrame | None = None,
        last_rebalanced: date | None = None,
        previous_day: date | None = None,
    ) -> PolicyContext:
        """The context from labelled data: weights and targets by symbol (a symbol missing
        from one counts 0 there), prices as a DataFrame with a column per symbol. Symbols are
        the targets' (``CASH`` last), then the other weighted symbols."""
        symbols = [s for s in targets if s != _CASH]
        symbols += [s for s in weights if s not in targets and s != _CASH]
        names = (*symbols, _CASH)
        return cls(
            as_of,
            names,
            np.array([weights.get(s, 0.0) for s in names], dtype=float),
            np.array([targets.get(s, 0.0) for s in names], dtype=float),
            last_rebalanced,
            previous_day,
            None if history is None else aligned_history(history.loc[: str(as_of)], names),
        )

    def weight(self, symbol: str) -> float:
        """The current weight of ``symbol`` (0 when it is not in the context)."""
        return float(self.weights[self.symbols.index(symbol)]) if symbol in self.symbols else 0.0

    def target(self, symbol: str) -> float:
        """The target weight of ``symbol`` (0 when it is not in the context)."""
        if symbol not in self.symbols:
            return 0.0
        return float(self.target_weights[self.symbols.index(symbol)])


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to rebalance, why, and how far.

    ``half_bands`` are per-symbol band half-widths (weight points; ``inf`` where no band),
    used by a to-band plan, labelled by ``band_symbols`` (the deciding context's symbols):
    read them by name with :attr:`bands` (a mapping) or :meth:`bands_for` (an array in the
    caller's symbol order), never by position. ``sells_allowed`` is False for cash-flow-only
    policies. ``invest_idle``: when not triggered, cash already held above the reserve is
    invested as a deposit would be (buy-only; the cash-flow policy).
    """

    triggered: bool
    reasons: tuple[str, ...]
    rebalance_to: RebalanceTo = RebalanceTo.TARGET
    half_bands: np.ndarray | None = None
    sells_allowed: bool = True
    invest_idle: bool = False
    band_symbols: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        labels, bands = self.band_symbols, self.half_bands
        if labels is not None and bands is not None and len(labels) != len(bands):
            raise ValueError(f"half_bands has {len(bands)} values for {len(labels)} band_symbols")

    @property
    def bands(self) -> dict[str, float] | None:
        """Band half-width by symbol (weight points; ``inf`` where no band), or None when the
        policy sets no bands.

        Raises
        ------
        ValueError
            The decision's bands carry no symbols (a policy that built it without
            ``band_symbols``): use :meth:`bands_for` with the context's symbols.
        """
        if self.half_bands is None:
            return None
        if self.band_symbols is None:
            raise ValueError(
                "the decision's bands are not labelled; give band_symbols=context.symbols"
            )
        return {s: float(b) for s, b in zip(self.band_symbols, self.half_bands, strict=True)}

    def bands_for(self, symbols: Sequence[str]) -> np.ndarray | None:
        """Band half-widths in the order of ``symbols`` (``inf`` for a symbol the decision has
        no band for), or None when the policy sets no bands.

        Taken by name. When ``symbols`` are the decision's own (the usual case: the caller
        asks with the symbols of the context it decided on) the array itself is returned, so
        hot loops pay nothing. A decision without ``band_symbols`` (built by a policy written
        before the bands were labelled) is read as aligned with ``symbols``.

        Raises
        ------
        ValueError
            An unlabelled decision whose bands do not match ``symbols`` in length.
        """
        bands = self.half_bands
        if bands is None:
            return None
        own = self.band_symbols
        if own is None:
            if len(bands) != len(symbols):
                raise ValueError(
                    f"the decision has {len(bands)} unlabelled bands for {len(symbols)} symbols"
                )
            return bands
        if own is symbols or tuple(symbols) == own:
            return bands
        where = {s: k for k, s in enumerate(own)}
        return np.array([bands[where[s]] if s in where else np.inf for s in symbols], dtype=float)


@runtime_checkable
class Policy(Protocol):
    """A rule that says when to rebalance."""

    def decide(self, context: PolicyContext) -> Decision:
        """Decide on ``context`` (which holds nothing after ``context.as_of``)."""
        ...

    def describe(self) -> str:
        """A short human name, e.g. ``"5/25 bands"``."""
        ...
