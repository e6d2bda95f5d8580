"""What a policy's decision amounts to, stated as data: its *trigger*.

A policy may describe its own ``decide`` with a :data:`Trigger` through a ``trigger()``
method. The callers that need more than one decision at a time ask for it instead of
switching on the policy's class:

* results show the bands a policy draws (:func:`trigger_bands`);
* the backtest skips the days on which the trigger cannot fire (its quiet-day screen);
* the Monte Carlo runs the trigger on all paths at once (its vectorised form).

A trigger is a promise: on every day on which the trigger does not fire, ``decide`` must
return "not triggered" (bands may be wider, never narrower, than ``min_scale`` times the base
bands). A policy without a trigger is asked every day by the backtest, shows no bands, and is
refused by the Monte Carlo with a message naming it. A trigger is only believed for the class
that wrote it: a subclass that overrides ``decide`` without overriding ``trigger`` has none
(:func:`trigger_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from poise.calendar import Frequency

if TYPE_CHECKING:
    from poise.policy._base import PolicyContext

__all__ = [
    "AnyTrigger",
    "BandTrigger",
    "CalendarTrigger",
    "NoTrigger",
    "Trigger",
    "half_bands",
    "trigger_bands",
    "trigger_of",
]


def half_bands(
    target_weights: np.ndarray, absolute: float | None, relative: float | None
) -> np.ndarray:
    """Band half-widths per asset: the tighter of ``absolute`` and ``relative`` × target.

    A relative band means nothing for an asset whose target is zero (it would be zero wide, so
    a dollar of leftover cash would trigger a rebalance): such assets get the absolute band, or
    none when only relative bands are set. They are still sold when a rebalance happens.
    """
    bands = np.full(target_weights.shape, np.inf)
    if absolute is not None:
        bands = np.minimum(bands, absolute)
    if relative is not None:
        positive = target_weights > 0
        bands[positive] = np.minimum(bands[positive], relative * target_weights[positive])
    return bands


@dataclass(frozen=True, slots=True)
class BandTrigger:
    """Fires when some asset's ``|weight − target|`` exceeds its band (+1e-12).

    Parameters
    ----------
    absolute, relative : float or None
        The base bands (see :func:`half_bands`).
    check_frequency : Frequency, optional
        Checked only on the first trading day of each such period.
    to_band : bool
        A firing rebalance goes to the band edge (else to target).
    min_scale : float
        The policy's bands are at least this multiple of the base bands (1 for fixed bands;
        below 1 for bands that narrow, such as volatility-scaled ones). The backtest screens
        with the narrowest bands; the Monte Carlo runs the base bands.
    note : str, optional
        What the Monte Carlo's base-band run leaves out (shown in its notes).
    scales : callable, optional
        ``scales(context)``: the multiple of the base band per symbol of a
        :class:`PolicyContext` (from its price history), when the bands move with the prices;
        None for fixed bands. Screens that see one day's prices (the batch book) use it.
    lowest_scales : callable, optional
        ``lowest_scales(history)``: a lower bound of ``scales`` on every row of a price
        history (shape ``(rows, symbols)``; row ``r`` bounds a context whose history ends at
        that row), for screens over many days (the backtest's); None: ``min_scale`` bounds it.
    """

    absolute: float | None
    relative: float | None
    check_frequency: Frequency | None = None
    to_band: bool = False
    min_scale: float = 1.0
    note: str | None = None
    scales: Callable[[PolicyContext], np.ndarray] | None = None
    lowest_scales: Callable[[np.ndarray], np.ndarray] | None = None

    def bands(self, target_weights: np.ndarray) -> np.ndarray:
        """The base band half-widths around ``target_weights``."""
        return half_bands(target_weights, self.absolute, self.relative)


@dataclass(frozen=True, slots=True)
class CalendarTrigger:
    """Fires on the first trading day of each new ``frequency`` period (to target)."""

    frequency: Frequency


@dataclass(frozen=True, slots=True)
class NoTrigger:
    """Never fires (cash flows are still placed). ``invests_idle``: idle cash above the
    reserves is invested like a deposit (a cash-flow policy; ``Decision.invest_idle``)."""

    invests_idle: bool = False


@dataclass(frozen=True, slots=True)
class AnyTrigger:
    """Fires when any part fires; the bands are the tightest of the parts'."""

    parts: tuple[Trigger, ...]


Trigger: TypeAlias = BandTrigger | CalendarTrigger | NoTrigger | AnyTrigger
"""A policy's decision rule as data (see the module notes)."""


def _defined_by(cls: type, name: str) -> type | None:
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


def trigger_of(policy: object) -> Trigger | None:
    """The trigger ``policy`` declares for its ``decide``, or None (ask it every day).

    None also when ``decide`` is overridden below the class that wrote ``trigger``: that
    trigger describes another decision.
    """
    method = getattr(policy, "trigger", None)
    if method is None:
        return None
    wrote_trigger = _defined_by(type(policy), "trigger")
    wrote_decide = _defined_by(type(policy), "decide")
    if (
        wrote_trigger is not None
        and wrote_decide is not None
        and not issubclass(wrote_trigger, wrote_decide)
    ):
        return None
    found = method()
    kinds = BandTrigger | CalendarTrigger | NoTrigger | AnyTrigger
    return found if isinstance(found, kinds) else None


def trigger_bands(trigger: Trigger | None, target_weights: np.ndarray) -> np.ndarray | None:
    """The band half-widths a trigger draws around ``target_weights`` (base bands; the
    tightest of an any-of's parts); None when it draws none."""
    if isinstance(trigger, BandTrigger):
        return trigger.bands(target_weights)
    if isinstance(trigger, AnyTrigger):
        found = [trigger_bands(p, target_weights) for p in trigger.parts]
        drawn = [b for b in found if b is not None]
        return np.minimum.reduce(drawn) if drawn else None
    return None
