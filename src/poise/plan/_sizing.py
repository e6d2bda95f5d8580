"""The sizing rule: the value each asset (cash last) should end a plan at.

One home for the rule that the plan engine (``_engine.py``), the array kernel (``_kernel.py``)
and the Monte Carlo (``poise.risk._montecarlo``) all follow:

- **Triggered, to target**: every asset at its goal, ``target × total after flows``.
- **Triggered, to band**: each asset outside its band moves to the band's edge; the money this
  frees or needs is placed over the assets inside their bands, by water-filling toward their
  goals (``waterfill`` when money is left, ``level_fill`` when it is missing).
- **Not triggered (cash flows only)**: new money (deposits, and for a cash-flow policy the
  idle cash already in the accounts) is water-filled over the gaps, most underweight first,
  cash included; a withdrawal is taken from what is most overweight first (``level_fill``).

``level_fill`` takes an amount from the largest gaps first, levelling them down together and
never more than each one's cap: the share of every asset above the common level ``L`` is
taken, ``x_i = clip(gap_i − L, 0, cap_i)``, with ``L`` chosen so that the ``x_i`` add up to the
amount. When every gap is used up the level simply goes on below zero, so the next sells are
still those that leave the household closest to its targets (not sells in proportion to
what is held, which would sell underweight assets as much as overweight ones).
"""

from __future__ import annotations

import numpy as np

from poise.plan._flows import waterfill

__all__ = ["best_extra_share", "desired_values", "level_fill", "level_fill_rows"]

_EPS = 1e-9


def level_fill_rows(gaps: np.ndarray, amounts: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """``level_fill`` of each row: take ``amounts[r]`` from row ``r``'s largest ``gaps`` first.

    Parameters
    ----------
    gaps : ndarray, shape (m, n)
        How much each asset is above its goal (currency; negative below).
    amounts : ndarray, shape (m,)
        What to take from each row (currency, ≥ 0).
    caps : ndarray, shape (m, n)
        The most that may be taken from each asset (≤ 1e-9: nothing).

    Returns
    -------
    ndarray, shape (m, n)
        ``x[r, i] = clip(gaps[r, i] − L_r, 0, caps[r, i])`` with the level ``L_r`` at which the
        row adds up to ``amounts[r]`` (all of ``caps[r]`` when it cannot).
    """
    gaps = np.asarray(gaps, dtype=float)
    caps = np.where(np.asarray(caps, dtype=float) > _EPS, caps, 0.0)
    amounts = np.asarray(amounts, dtype=float)
    m, n = gaps.shape
    out = np.zeros((m, n))
    if m == 0 or n == 0:
        return out
    total_cap = caps.sum(axis=1)
    full = amounts >= total_cap
    out[full] = caps[full]
    rows = np.flatnonzero(~full & (amounts > _EPS))
    if rows.size == 0:
        return out
    g, c, a = gaps[rows], caps[rows], amounts[rows]
    active = c > 0
    # f(L) = Σ clip(g − L, 0, c) is piecewise linear and falls with L; its kinks are at g and
    # g − c. Evaluate it at every kink, then interpolate between the two that bracket a.
    kinks = np.concatenate([np.where(active, g, np.inf), np.where(active, g - c, np.inf)], axis=1)
    finite = np.isfinite(kinks)
    safe = np.where(finite, kinks, 0.0)
    f = np.clip(g[:, None, :] - safe[:, :, None], 0.0, c[:, None, :]).sum(axis=2)
    f = np.where(finite, f, -np.inf)
    below = np.where(f >= a[:, None], safe, -np.inf)  # kinks where f ≥ a: the level is above
    lo = below.max(axis=1)
    above = np.where(finite & (f <= a[:, None]), safe, np.inf)
    hi = above.min(axis=1)
    k_lo = np.argmax(np.where(f >= a[:, None], safe, -np.inf), axis=1)
    k_hi = np.argmin(above, axis=1)
    f_lo = f[np.arange(rows.size), k_lo]
    f_hi = f[np.arange(rows.size), k_hi]
    span = f_lo - f_hi
    level = np.where(span > 0, lo + (f_lo - a) * (hi - lo) / np.where(span > 0, span, 1.0), lo)
    out[rows] = np.clip(g - level[:, None], 0.0, c)
    return out


def level_fill(gaps: np.ndarray, amount: float, caps: np.ndarray) -> np.ndarray:
    """Take ``amount`` from the largest ``gaps`` first, levelling them down together, never
    more than ``caps`` (see ``level_fill_rows``; one row)."""
    gaps = np.asarray(gaps, dtype=float)
    return level_fill_rows(gaps[None, :], np.array([amount]), np.asarray(caps)[None, :])[0]


def desired_values(
    values: np.ndarray,
    target_w: np.ndarray,
    net_flow: float,
    *,
    triggered: bool,
    to_target: bool,
    half_bands: np.ndarray | None = None,
    idle: float = 0.0,
) -> np.ndarray:
    """The value each asset (cash last) should end at (see the module docstring).

    Parameters
    ----------
    values : ndarray
        Each asset's value before the plan, cash last (cash before today's flows).
    target_w : ndarray
        Target weights, cash last.
    net_flow : float
        Today's deposits less withdrawals (currency).
    triggered, to_target : bool
        Whether the policy rebalances, and to target (else to band).
    half_bands : ndarray, optional
        Band half-widths (weight points) for a to-band rebalance; None: no bands.
    idle : float
        Cash already held that is invested as new money when not triggered and nothing is
        withdrawn (a cash-flow policy's idle cash, above the reserves); 0 for other policies.

    Returns
    -------
    ndarray
        Values summing to the household's total after the flows.
    """
    total_after_flow = float(values.sum()) + net_flow
    goal = target_w * total_after_flow
    if triggered and to_target:
        return goal
    if triggered:
        current = values.copy()
        current[-1] += net_flow
        w_now = current / total_after_flow if total_after_flow > 0 else current
        bands = half_bands if half_bands is not None else np.zeros_like(w_now)
        low, high = target_w - bands, target_w + bands
        breach = (w_now < low - 1e-12) | (w_now > high + 1e-12)
        desired = current.copy()
        desired[breach] = np.clip(w_now, low, high)[breach] * total_after_flow
        free = ~breach if not breach.all() else np.ones_like(breach)
        slack = total_after_flow - desired.sum()
        if slack > 0:
            desired[free] += waterfill(goal[free] - desired[free], slack, target_w[free])
        elif slack < 0:
            desired[free] -= level_fill(desired[free] - goal[free], -slack, desired[free])
        return desired
    if net_flow >= 0:
        moved = values.copy()
        moved[-1] -= idle
        return moved + waterfill(goal - moved, net_flow + idle, target_w)
    return values - level_fill(values - goal, -net_flow, values)


def best_extra_share(
    err: list[float],
    prices: list[float],
    cash_err: float,
    unit_costs: list[float],
    allowed: list[bool],
) -> int | None:
    """The asset one more whole share of which most lowers the squared tracking error.

    ``err[k]`` is asset k's value less its goal, ``cash_err`` the cash's; buying one share of k
    adds ``prices[k]`` to its value and takes ``unit_costs[k]`` (price, spread and, for a new
    trade, the commission) from the cash. Returns None when no allowed share lowers
    Σ err² + cash_err² (the whole-share top-up then stops).
    """
    best_k: int | None = None
    best = -1e-9
    for k, ok in enumerate(allowed):
        if not ok:
            continue
        p, c, e = prices[k], unit_costs[k], err[k]
        delta = (e + p) * (e + p) - e * e + (cash_err - c) * (cash_err - c) - cash_err * cash_err
        if delta < best:
            best, best_k = delta, k
    return best_k
