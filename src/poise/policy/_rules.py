"""The rebalancing rules: calendar, threshold bands, cash-flow only, volatility-adjusted
bands, and any-of combinations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from poise.model._household import CASH
from poise.policy import _compiled
from poise.policy._base import (
    Decision,
    Frequency,
    PolicyContext,
    RebalanceTo,
    period_key,
    period_label,
)
from poise.policy._triggers import (
    AnyTrigger,
    BandTrigger,
    CalendarTrigger,
    NoTrigger,
    Trigger,
    half_bands,
    trigger_of,
)

__all__ = [
    "AnyOf",
    "CalendarPolicy",
    "CashFlowPolicy",
    "NeverPolicy",
    "ThresholdPolicy",
    "VolatilityPolicy",
]


def _pct(weight: float) -> str:
    return f"{weight * 100:.1f}%"


def _band_text(absolute: float | None, relative: float | None, target: float) -> str:
    parts = []
    if absolute is not None:
        parts.append(f"±{absolute * 100:g}pp")
    if relative is not None and target > 0:
        parts.append(f"±{relative * 100:g}% of target = ±{relative * target * 100:.2f}pp")
    return " / ".join(parts)


@dataclass(frozen=True, slots=True)
class NeverPolicy:
    """Buy and hold: never rebalances (cash flows still follow the cash-flow-first plan)."""

    def decide(self, context: PolicyContext) -> Decision:
        return Decision(False, ("buy and hold: never rebalances",), sells_allowed=False)

    def trigger(self) -> Trigger:
        return NoTrigger()

    def describe(self) -> str:
        return "buy and hold"


@dataclass(frozen=True, slots=True)
class CalendarPolicy:
    """Rebalance to target on the first trading day of each new period.

    Live use (no ``last_rebalanced``) treats the portfolio as due.
    """

    frequency: Frequency = Frequency.QUARTERLY

    def decide(self, context: PolicyContext) -> Decision:
        last = context.last_rebalanced
        if last is None:
            return Decision(True, (f"{self.frequency} calendar: no last rebalance date, so due",))
        if period_key(context.as_of, self.frequency) != period_key(last, self.frequency):
            label = period_label(context.as_of, self.frequency)
            return Decision(True, (f"{self.frequency} calendar: first rebalance of {label}",))
        label = period_label(last, self.frequency)
        return Decision(
            False, (f"{self.frequency} calendar: already rebalanced in {label} (on {last})",)
        )

    def trigger(self) -> Trigger:
        return CalendarTrigger(self.frequency)

    def describe(self) -> str:
        return f"calendar {self.frequency}"


def _is_check_day(context: PolicyContext, frequency: Frequency | None) -> bool:
    if frequency is None or context.previous_day is None:
        return True
    return period_key(context.as_of, frequency) != period_key(context.previous_day, frequency)


def _breaches(
    context: PolicyContext,
    bands: np.ndarray,
    band_text: Callable[[int], str],
) -> tuple[str, ...]:
    """One reason per asset outside its band; ``band_text(i)`` words asset i's band (called
    only for the breaching ones)."""
    drift = context.weights - context.target_weights
    out = np.flatnonzero(np.abs(drift) > bands + 1e-12)
    reasons = []
    for i in out:
        sym = context.symbols[i]
        reasons.append(
            f"{sym} {_pct(context.weights[i])} vs target {_pct(context.target_weights[i])} "
            f"(band {band_text(int(i))})"
        )
    return tuple(reasons)


@dataclass(frozen=True, slots=True)
class ThresholdPolicy:
    """Rebalance when any asset drifts outside its band.

    ``absolute`` is in weight points (0.05 = 5pp); ``relative`` a fraction of the target
    (0.25 = 25% of target); with both, the tighter band applies per asset ("5/25").
    Checks run every trading day, or on the first trading day of each ``check_frequency``
    period when set.
    """

    absolute: float | None = 0.05
    relative: float | None = None
    rebalance_to: RebalanceTo = RebalanceTo.TARGET
    check_frequency: Frequency | None = None

    def bands(self, target_weights: np.ndarray) -> np.ndarray:
        return half_bands(target_weights, self.absolute, self.relative)

    def trigger(self) -> Trigger:
        return BandTrigger(
            self.absolute,
            self.relative,
            self.check_frequency,
            self.rebalance_to is RebalanceTo.BAND,
        )

    def decide(self, context: PolicyContext) -> Decision:
        bands = self.bands(context.target_weights)
        if not _is_check_day(context, self.check_frequency):
            return Decision(
                False,
                (f"not a {self.check_frequency} check day",),
                half_bands=bands,
                band_symbols=context.symbols,
            )
        if not (np.abs(context.weights - context.target_weights) > bands + 1e-12).any():
            return Decision(
                False,
                (f"all assets inside their bands ({self.describe()})",),
                half_bands=bands,
                band_symbols=context.symbols,
            )
        targets = context.target_weights

        def text(i: int) -> str:
            return _band_text(self.absolute, self.relative, targets[i])

        return Decision(
            True,
            _breaches(context, bands, text),
            self.rebalance_to,
            half_bands=bands,
            band_symbols=context.symbols,
        )

    def describe(self) -> str:
        parts = []
        if self.absolute is not None and self.relative is not None:
            parts.append(f"{self.absolute * 100:g}/{self.relative * 100:g} bands")
        elif self.absolute is not None:
            parts.append(f"±{self.absolute * 100:g}pp bands")
        elif self.relative is not None:
            parts.append(f"±{self.relative * 100:g}% relative bands")
        if self.check_frequency is not None:
            parts.append(f"checked {self.check_frequency}")
        if self.rebalance_to is RebalanceTo.BAND:
            parts.append("to band")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class CashFlowPolicy:
    """Never sells to rebalance: deposits buy what is most underweight, withdrawals sell what
    is most overweight."""

    def decide(self, context: PolicyContext) -> Decision:
        return Decision(
            False,
            (
                "cash-flow policy: no rebalancing sells; cash flows and idle cash move weights "
                "toward target",
            ),
            sells_allowed=False,
            invest_idle=True,
        )

    def trigger(self) -> Trigger:
        return NoTrigger(invests_idle=True)

    def describe(self) -> str:
        return "cash flows only"


@dataclass(frozen=True, slots=True)
class VolatilityPolicy:
    """Threshold bands scaled per asset by recent against long-run realised volatility.

    Each asset's band is its ``absolute``/``relative`` band times
    ``clip(σ_recent / σ_long, min_scale, max_scale)``, where σ_recent is the standard deviation
    of the last ``window`` daily returns and σ_long of the last ``long_window``, both ending at
    the decision day. With less than ``window`` + 1 prices the scale is 1.
    """

    absolute: float | None = 0.05
    relative: float | None = None
    window: int = 63
    long_window: int = 756
    min_scale: float = 0.5
    max_scale: float = 2.0
    rebalance_to: RebalanceTo = RebalanceTo.TARGET
    check_frequency: Frequency | None = None

    def scales(self, context: PolicyContext) -> np.ndarray:
        history = context.history
        n = len(context.symbols)
        if history is None or history.shape[0] < self.window + 1:
            return np.ones(n)
        if _compiled.compiled() and history.ndim == 2 and history.shape[1] >= 2:
            out = np.empty(history.shape[1])  # the same numbers, compiled (``_compiled.py``)
            _compiled.volatility_scales(
                np.ascontiguousarray(history, dtype=float),
                history.shape[0],
                self.window,
                self.long_window,
                self.min_scale,
                self.max_scale,
                out,
            )
            return out
        tail = history[-(self.long_window + 1) :]
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = tail[1:] / tail[:-1] - 1.0
            recent = _compiled.nanstd_columns(returns[-self.window :])  # np.nanstd, faster
            long_run = _compiled.nanstd_columns(returns)
            scale = np.where(long_run > 0, recent / long_run, 1.0)
        scale = np.nan_to_num(scale, nan=1.0)
        return np.clip(scale, self.min_scale, self.max_scale)

    def lowest_scales(self, history: np.ndarray) -> np.ndarray:
        """A lower bound of :meth:`scales` on every row of ``history``: row ``r`` bounds the
        scales of a context whose history is ``history[: r + 1]`` (prices, one column per
        symbol; shape ``(rows, symbols)``), for screens that skip days on which no band can
        be breached.

        From rolling sums of the returns (cumulative sums, one pass), each variance widened by
        a bound of its rounding error (and the policy's own, for ``nanstd``); where that bound
        is not small against the variance (a flat or a non-finite price, too few returns) the
        lowest scale the policy can give, ``min(min_scale, 1)``.
        """
        rows, cols = history.shape
        floor = min(self.min_scale, 1.0)
        out = np.full((rows, cols), floor)
        out[: min(rows, self.window)] = 1.0  # fewer than window + 1 prices: the scale is 1
        if rows <= self.window:
            return out
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            returns = history[1:] / history[:-1] - 1.0
        valid = ~np.isnan(returns)
        bad = np.isinf(returns)
        values = np.where(valid & ~bad, returns, 0.0)
        zero = np.zeros((1, cols))
        count = np.concatenate([zero, np.cumsum(valid, axis=0, dtype=float)])
        unsure = np.concatenate([zero, np.cumsum(bad, axis=0, dtype=float)])
        sums = np.concatenate([zero, np.cumsum(values, axis=0)])
        squares = np.concatenate([zero, np.cumsum(values * values, axis=0)])
        eps = np.finfo(float).eps
        # rounding of a difference of two cumulative sums: twice a partial sum's error bound
        grow = 2.0 * (returns.shape[0] + 2) * eps
        err_sum = grow * np.abs(values).sum(axis=0)
        err_squares = grow * squares[-1]
        hi = np.arange(self.window, rows)  # decision rows: returns [lo, hi) end there
        lows = {}
        for name, length in (("recent", self.window), ("long", self.long_window)):
            lo = np.maximum(hi - length, 0)
            n = count[hi] - count[lo]
            s = sums[hi] - sums[lo]
            q = squares[hi] - squares[lo]
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = s / n
                var = q / n - mean * mean
                err = (err_squares + 2.0 * np.abs(mean) * err_sum + err_sum * err_sum / n) / n
                err += 8.0 * eps * (q / n + mean * mean)
                err += 4.0 * (n + 4.0) * eps * np.abs(var)  # nanstd's own rounding
                trusted = (n > 0) & (unsure[hi] - unsure[lo] == 0) & (err < 1e-3 * var)
            lows[name] = (np.where(trusted, var - err, np.nan), np.where(trusted, var + err, 0))
        recent_low = lows["recent"][0]
        long_high = lows["long"][1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.sqrt(recent_low / long_high) * (1.0 - 1e-9)
        ok = np.isfinite(ratio)
        scale = np.clip(np.where(ok, ratio, floor), self.min_scale, self.max_scale)
        out[self.window :] = np.where(ok, scale, floor)
        return out

    def trigger(self) -> Trigger:
        # every band is the base band times a scale of at least min(min_scale, 1) (cash: 1)
        return BandTrigger(
            self.absolute,
            self.relative,
            self.check_frequency,
            self.rebalance_to is RebalanceTo.BAND,
            min_scale=min(self.min_scale, 1.0),
            note="volatility-adjusted bands run at their base width (scale 1)",
            scales=self.scales,
            lowest_scales=self.lowest_scales,
        )

    def decide(self, context: PolicyContext) -> Decision:
        base = half_bands(context.target_weights, self.absolute, self.relative)
        scales = self.scales(context)
        cash = [i for i, s in enumerate(context.symbols) if s == CASH]
        scales[cash] = 1.0
        bands = base * scales
        if not _is_check_day(context, self.check_frequency):
            return Decision(
                False,
                (f"not a {self.check_frequency} check day",),
                half_bands=bands,
                band_symbols=context.symbols,
            )
        if not (np.abs(context.weights - context.target_weights) > bands + 1e-12).any():
            return Decision(
                False,
                ("all assets inside their volatility-adjusted bands",),
                half_bands=bands,
                band_symbols=context.symbols,
            )

        def text(i: int) -> str:
            return f"±{bands[i] * 100:.2f}pp, vol scale {scales[i]:.2f}"

        return Decision(
            True,
            _breaches(context, bands, text),
            self.rebalance_to,
            half_bands=bands,
            band_symbols=context.symbols,
        )

    def describe(self) -> str:
        base = ThresholdPolicy(self.absolute, self.relative).describe()
        return f"volatility-adjusted {base}"


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Rebalance when any of ``policies`` says so; the reasons of each that fired are kept.

    A triggered target-rebalance wins over a band one; bands are the tightest given.
    """

    policies: tuple[object, ...] = field(default=())

    def decide(self, context: PolicyContext) -> Decision:
        decisions = [p.decide(context) for p in self.policies]  # type: ignore[attr-defined]
        fired = [d for d in decisions if d.triggered]
        names = context.symbols
        bands = [d.bands_for(names) for d in decisions if d.half_bands is not None]
        merged = np.minimum.reduce(bands) if bands else None
        labels = names if merged is not None else None
        if not fired:
            reasons = tuple(r for d in decisions for r in d.reasons)
            sells = any(d.sells_allowed for d in decisions)
            idle = any(d.invest_idle for d in decisions)
            return Decision(
                False,
                reasons,
                half_bands=merged,
                sells_allowed=sells,
                invest_idle=idle,
                band_symbols=labels,
            )
        to = (
            RebalanceTo.TARGET
            if any(d.rebalance_to is RebalanceTo.TARGET for d in fired)
            else RebalanceTo.BAND
        )
        reasons = tuple(r for d in fired for r in d.reasons)
        return Decision(True, reasons, to, merged, band_symbols=labels)

    def trigger(self) -> Trigger | None:
        parts = [trigger_of(p) for p in self.policies]
        if any(p is None for p in parts):
            return None
        return AnyTrigger(tuple(p for p in parts if p is not None))

    def describe(self) -> str:
        return " or ".join(p.describe() for p in self.policies)  # type: ignore[attr-defined]
