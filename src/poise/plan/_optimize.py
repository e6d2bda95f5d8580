"""The optimising plan (``[plan] method = "optimize"``): trades chosen by a convex program.

Variables (in fractions of the household's value ``T`` after today's cash flows):
``y_l`` ≥ 0, the value sold from each lot ``l``, and ``z_as`` ≥ 0, the value bought of each
symbol ``s`` in each account ``a``. With ``w`` the weights after trading and ``[lo, hi]`` the
band each weight should end in (the target itself when rebalancing to target; the policy's
band when rebalancing to band):

    minimise   λ_tracking · Σ_s (max(w_s − hi_s, 0)² + max(lo_s − w_s, 0)²)      (cash included)
             + λ_cost · spread · (Σ y + Σ z)
             + λ_tax · (r_st · max(ST, 0) + r_lt · max(LT, 0))
    subject to 0 ≤ y_l ≤ lot value, z ≥ 0 (no shorts, no margin),
               each account's cash after trading ≥ its reserve (after its withdrawals),

where ST and LT are the short- and long-term gains realized in taxable accounts (losses
offset gains of their own kind). ``λ`` come from ``[plan]`` (``lambda_tracking``,
``lambda_cost``, ``lambda_tax``). At the optimum a weight is left off target by about
``τ / (2 λ_tracking)`` when selling it costs ``τ`` of tax per unit of value.

Non-convex rules are applied afterwards: whole shares (rounded), ``min_trade_value``,
commissions (buys are trimmed if an account's cash would fall below its reserve). Sells that
would realise a loss washed by a same-day buy of a substantially identical symbol are
removed and the program solved again; symbols whose purchase would wash a recent loss
(``transactions=``) are never bought; lots whose sale is deferred (``defer_days``) are not sold.
cvxpy builds the program and Clarabel solves it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from poise._errors import PlanningError
from poise.model import (
    CASH,
    Account,
    Holdings,
    Household,
    Lot,
    Plan,
    Reason,
    ReasonKind,
    Side,
    TaxEfficiency,
    Trade,
)
from poise.plan._apply import apply_trades
from poise.plan._finish import with_bought
from poise.plan._flows import CashFlow
from poise.plan._orders import is_dust, order_floor, sell_covers_cost, uncovered_sell_note
from poise.plan._taxaware import TaxAware, sell_lots_trade
from poise.policy import Decision, RebalanceTo
from poise.tax import Transaction, estimate_tax, is_long_term, location_rank

__all__ = ["optimize_plan"]

_EPS = 1e-9
_TIE = 1e-6  # a tiny cost per unit traded: among equal plans, trade least
_LOSS_CREDIT = 0.2  # a net loss realized is worth this share of its rate (convex for ≤ 1)
_NOISE = 1e-5  # trades below this fraction of the household's value are solver noise


@dataclass(frozen=True, slots=True)
class _Start:
    """The household before the plan: ``symbols`` (targets first, then held symbols without
    one), ``names`` (the same, then CASH), per-account cash and flows, and the values and
    weights before trading; ``total`` is the household's value after the flows."""

    symbols: list[str]
    names: tuple[str, ...]
    index: dict[str, int]
    acc_index: dict[str, int]
    lots: list[Lot]
    cash0: np.ndarray
    flow: np.ndarray
    held_value: np.ndarray
    total_before: float
    total: float
    target_w: np.ndarray
    weights_before: np.ndarray


@dataclass(frozen=True, slots=True)
class _Lots:
    """Per lot (in ``_Start.lots`` order): its symbol and account index, value, whether it
    may be sold (1.0) or not (0.0), its gain as a fraction of its value, split into
    short-term and long-term taxable gains, and whether it is a taxable loss lot."""

    sym: np.ndarray
    acc: np.ndarray
    value: np.ndarray
    allowed: np.ndarray
    st_gain: np.ndarray
    lt_gain: np.ndarray
    loss: np.ndarray


def optimize_plan(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    targets: Mapping[str, float],
    decision: Decision,
    flows: Sequence[CashFlow] = (),
    *,
    transactions: Sequence[Transaction] | None = None,
) -> Plan:
    """Plan the trades by optimisation (see the module docstring).

    Called by ``plan_rebalance`` when ``household.plan_method`` is ``optimize``, after the
    policy has decided; use ``plan_rebalance`` rather than this function.

    Raises
    ------
    PlanningError
        When the solver fails.
    """
    hh = household
    st = _start(hh, holdings, prices, targets, flows)
    tax = TaxAware.build(hh, holdings, prices, as_of, transactions)
    triggered = decision.triggered and decision.sells_allowed
    reasons = tuple(decision.reasons)
    if (not triggered and not flows) or st.total <= 0:
        return _plan(
            hh, holdings, prices, as_of, st.names, st.target_w, st.weights_before,
            st.total_before, [], [(*reasons, "no trades needed")], decision, flows, tax,
        )  # fmt: skip
    lo, hi = _bands(decision, triggered, st.target_w)
    lot = _lot_arrays(hh, st, prices, as_of, triggered, flows, tax, lo)
    buyable = _buyable(st, targets, tax, hi)
    warnings = [
        f"{s}: not bought: {why}"
        for s in st.symbols
        if targets.get(s, 0.0) > 0 and tax is not None and (why := tax.blocked(s)) is not None
    ]
    y_val, z_val = _solve_without_washes(hh, st, lot, buyable, tax, lo, hi)
    trades = _trades(
        hh, st.lots, prices, as_of, st.symbols, hh.accounts, y_val, z_val, st.cash0 + st.flow,
        warnings,
    )  # fmt: skip
    note = (
        f"optimised plan (tracking λ {hh.optimize.lambda_tracking:g}, cost λ "
        f"{hh.optimize.lambda_cost:g}, tax λ {hh.optimize.lambda_tax:g})"
    )
    return _plan(
        hh, holdings, prices, as_of, st.names, st.target_w, st.weights_before, st.total_before,
        trades, [(*reasons, note) if trades else (*reasons, note, "no trades needed")],
        decision, flows, tax, warnings,
    )  # fmt: skip


def _start(
    hh: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    targets: Mapping[str, float],
    flows: Sequence[CashFlow],
) -> _Start:
    symbols = [s for s in targets if s != CASH]
    symbols += [s for s in holdings.symbols if s not in targets]
    names = (*symbols, CASH)
    index = {s: i for i, s in enumerate(symbols)}
    acc_index = {a.id: k for k, a in enumerate(hh.accounts)}
    lots = list(holdings.lots)
    cash0 = np.array([float(holdings.cash.get(a.id, 0.0)) for a in hh.accounts])
    flow = np.zeros(len(hh.accounts))
    for f in flows:
        flow[acc_index[f.account]] += f.amount
    held_value = np.zeros(len(symbols))
    for lot in lots:
        held_value[index[lot.symbol]] += lot.quantity * prices[lot.symbol]
    total_before = float(held_value.sum() + cash0.sum())
    total = total_before + float(flow.sum())
    target_w = np.array([targets.get(s, 0.0) for s in names])
    weights_before = (
        np.append(held_value, cash0.sum()) / total_before if total_before > 0 else target_w * 0
    )
    return _Start(
        symbols, names, index, acc_index, lots, cash0, flow, held_value, total_before, total,
        target_w, weights_before,
    )  # fmt: skip


def _bands(
    decision: Decision, triggered: bool, target_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The band each weight should end in: the policy's when rebalancing to band, else the
    target itself."""
    if triggered and decision.rebalance_to is RebalanceTo.BAND and decision.half_bands is not None:
        bands = np.nan_to_num(decision.half_bands, nan=0.0, posinf=1.0)
    else:
        bands = np.zeros(len(target_w))
    return target_w - bands, target_w + bands


def _lot_arrays(
    hh: Household,
    st: _Start,
    prices: Mapping[str, float],
    as_of: date,
    triggered: bool,
    flows: Sequence[CashFlow],
    tax: TaxAware | None,
    lo: np.ndarray,
) -> _Lots:
    """Which lots may be sold, and their taxable gains.

    Cash flows only: sell to withdraw, in the withdrawing accounts. Loss lots are sold only
    from what starts above the bottom of its band (a loss sale and a buy of one symbol on one
    day would be a wash sale); deferred lots are not sold.
    """
    lots, index = st.lots, st.index
    sellable_accounts = (
        set(st.acc_index) if triggered else {f.account for f in flows if f.amount < 0}
    )
    lot_sym = np.array([index[lot.symbol] for lot in lots], dtype=int)
    lot_acc = np.array([st.acc_index[lot.account] for lot in lots], dtype=int)
    lot_value = np.array([lot.quantity * prices[lot.symbol] for lot in lots])
    allowed = np.array(
        [lot.account in sellable_accounts and not (tax and tax.deferred(lot)) for lot in lots],
        dtype=float,
    )
    taxable = np.array([hh.account(lot.account).taxable for lot in lots], dtype=bool)
    gain_frac = np.array(
        [1.0 - lot.basis_per_share / prices[lot.symbol] if lot.quantity else 0.0 for lot in lots]
    )
    long = np.array([is_long_term(lot.acquired, as_of) for lot in lots], dtype=bool)
    st_gain = np.where(taxable & ~long, gain_frac, 0.0)
    lt_gain = np.where(taxable & long, gain_frac, 0.0)
    w_start = st.held_value / st.total
    gain_start = np.array([prices[lot.symbol] >= lot.basis_per_share for lot in lots], dtype=bool)
    sold_down = np.array(
        [w_start[index[lot.symbol]] > lo[index[lot.symbol]] for lot in lots], dtype=bool
    )
    allowed *= gain_start | sold_down | ~taxable
    loss = taxable & (gain_frac < 0)
    return _Lots(lot_sym, lot_acc, lot_value, allowed, st_gain, lt_gain, loss)


def _buyable(
    st: _Start, targets: Mapping[str, float], tax: TaxAware | None, hi: np.ndarray
) -> np.ndarray:
    """The symbols that may be bought: targeted, starting below the top of their band (a
    symbol is either sold or bought, never both) and not blocked by a wash sale."""
    w_start = st.held_value / st.total
    return np.array(
        [
            targets.get(s, 0.0) > 0
            and w_start[j] < hi[j] - 1e-12
            and (tax is None or tax.blocked(s) is None)
            for j, s in enumerate(st.symbols)
        ]
    )


def _solve_without_washes(
    hh: Household,
    st: _Start,
    lot: _Lots,
    buyable: np.ndarray,
    tax: TaxAware | None,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The program's sells per lot and buys per (account, symbol), in currency, solved again
    (at most four times) while a loss sale and a same-day buy of its group would wash the
    loss. ``buyable`` and ``lot.allowed`` are narrowed in place."""
    symbols, total = st.symbols, st.total
    n_sym, n_acc = len(symbols), len(hh.accounts)
    problem, y, z, ub_y, ub_z = _program(
        hh, n_sym, n_acc, lot.sym, lot.acc, lot.st_gain, lot.lt_gain, lo, hi, st.held_value,
        st.cash0, st.flow, total, hh.trading.costs.rate, _location_ranks(hh, symbols),
    )  # fmt: skip
    groups = [
        tax.calendar.group(s) if tax and tax.calendar else frozenset({s, *_identical(hh, s)})
        for s in symbols
    ]
    for _ in range(4):
        ub_y.value = lot.allowed * lot.value / total
        ub_z.value = np.tile(buyable.astype(float), n_acc) * 10.0
        _solve(problem)
        y_val = np.maximum(np.asarray(y.value, dtype=float), 0.0) * total
        z_val = np.maximum(np.asarray(z.value, dtype=float), 0.0).reshape(n_acc, n_sym) * total
        noise = max(_NOISE * total, 0.01)
        y_val[y_val < noise] = 0.0
        z_val[z_val < noise] = 0.0
        bought = {symbols[j] for j in range(n_sym) if z_val[:, j].sum() > 0}
        washing = [
            i
            for i in range(len(lot.sym))
            if lot.loss[i] and y_val[i] > 0 and groups[lot.sym[i]] & bought
        ]
        if not washing:
            break
        for grp in {groups[lot.sym[i]] for i in washing}:
            _unwash(grp, symbols, lot, y_val, z_val, buyable)
    return y_val, z_val


def _unwash(
    group: frozenset[str],
    symbols: Sequence[str],
    lot: _Lots,
    y_val: np.ndarray,
    z_val: np.ndarray,
    buyable: np.ndarray,
) -> None:
    """A group sold on balance is not bought; a group bought on balance keeps its loss lots
    (``buyable`` or ``lot.allowed`` narrowed in place)."""
    members = [j for j in range(len(symbols)) if symbols[j] in group]
    sold = sum(y_val[k] for k in range(len(lot.sym)) if lot.sym[k] in members)
    if sold >= z_val[:, members].sum():
        buyable[members] = False
    else:
        for k in range(len(lot.sym)):
            if lot.loss[k] and lot.sym[k] in members:
                lot.allowed[k] = 0.0


def _location_ranks(household: Household, symbols: Sequence[str]) -> np.ndarray:
    """Rank (0 = first choice) of each (account, symbol) buy under the asset-location rule,
    flattened account-major like ``z``: among otherwise equal buys the plan follows the rule."""
    return np.array(
        [
            location_rank(household.location.get(s, TaxEfficiency.EFFICIENT), acc.kind)
            for acc in household.accounts
            for s in symbols
        ],
        dtype=float,
    )


def _identical(household: Household, symbol: str) -> frozenset[str]:
    out: set[str] = set()
    for group in household.identical_groups:
        if symbol in group:
            out |= group
    return frozenset(out)


def _program(
    household: Household,
    n_sym: int,
    n_acc: int,
    lot_sym: np.ndarray,
    lot_acc: np.ndarray,
    st_gain: np.ndarray,
    lt_gain: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    held_value: np.ndarray,
    cash0: np.ndarray,
    flow: np.ndarray,
    total: float,
    spread: float,
    location: np.ndarray,
) -> tuple[cp.Problem, cp.Expression, cp.Expression, cp.Parameter, cp.Parameter]:
    """The convex program in weight units, in matrix form (fast to compile).

    One stacked variable x = [y (lots), z (buys), u, v (weight above/below its band, cash
    included), t_st, t_lt (positive parts of the net gains), short (cash a withdrawal cannot
    get, reported)]. The upper bounds of y (lot value / T) and z are parameters, so that the
    program can be re-solved with lots or buys excluded.
    """
    lam = household.optimize
    tax = household.tax
    reserve = household.trading.cash_reserve
    n_lot = len(lot_sym)
    n_buy = n_acc * n_sym
    n_w = n_sym + 1
    o_y, o_z, o_u, o_v = 0, n_lot, n_lot + n_buy, n_lot + n_buy + n_w
    o_t = o_v + n_w
    o_s = o_t + 2
    n = o_s + n_acc
    x = cp.Variable(n, nonneg=True)
    ub_y = cp.Parameter(n_lot, nonneg=True)
    ub_z = cp.Parameter(n_buy, nonneg=True)
    lots = np.arange(n_lot)
    weight, cash = _trade_matrices(n_sym, n_acc, lot_sym, lot_acc, spread, n)
    w0 = np.append(held_value, (cash0 + flow).sum()) / total
    c0 = (cash0 + flow) / total
    floor = np.minimum(reserve, np.maximum(cash0 + flow, 0.0)) / total
    eye_w = sp.eye(n_w, format="csr")
    pick = sp.csr_matrix  # shorthand for selector matrices below

    def select(offset: int, size: int) -> sp.csr_matrix:
        return pick((np.ones(size), (np.arange(size), offset + np.arange(size))), shape=(size, n))

    u, v = select(o_u, n_w), select(o_v, n_w)
    gains = sp.csr_matrix(
        (np.concatenate([st_gain, lt_gain]), (np.repeat([0, 1], n_lot), np.tile(o_y + lots, 2))),
        shape=(2, n),
    )
    t = select(o_t, 2)
    short = select(o_s, n_acc)
    del eye_w
    k = _LOSS_CREDIT
    rates = np.array([tax.short_term_rate, tax.long_term_rate])
    linear = np.zeros(n)
    linear[o_y : o_y + n_lot] = (lam.lambda_cost * spread + _TIE) + lam.lambda_tax * k * (
        rates[0] * st_gain + rates[1] * lt_gain
    )
    linear[o_z : o_z + n_buy] = lam.lambda_cost * spread + _TIE * (1.0 + location)
    linear[o_t : o_t + 2] = lam.lambda_tax * (1 - k) * rates
    linear[o_s:] = 1e3
    objective = (
        lam.lambda_tracking
        * (cp.sum_squares(x[o_u : o_u + n_w]) + cp.sum_squares(x[o_v : o_v + n_w]))
        + linear @ x
    )
    constraints = [
        (weight - u) @ x <= hi - w0,  # u ≥ w − hi
        (-weight - v) @ x <= w0 - lo,  # v ≥ lo − w
        (gains - t) @ x <= 0,  # t ≥ net gains (and ≥ 0)
        (-cash - short) @ x <= c0 - floor,  # cash after + short ≥ floor
        x[o_y : o_y + n_lot] <= ub_y,
        x[o_z : o_z + n_buy] <= ub_z,
    ]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    return problem, x[o_y : o_y + n_lot], x[o_z : o_z + n_buy], ub_y, ub_z


def _trade_matrices(
    n_sym: int, n_acc: int, lot_sym: np.ndarray, lot_acc: np.ndarray, spread: float, n: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """How the sells (``x[:n_lot]``, per lot) and buys (next ``n_acc × n_sym``, account-major)
    move the weights (symbols, then cash: ``w = w0 + W x``) and each account's cash
    (``c = c0 + C x``), in units of the household's value; returns (W, C)."""
    n_lot = len(lot_sym)
    n_buy = n_acc * n_sym
    n_w = n_sym + 1
    o_y, o_z = 0, n_lot
    lots = np.arange(n_lot)
    buys = np.arange(n_buy)
    buy_acc, buy_sym = buys // n_sym, buys % n_sym
    rows = np.concatenate([lot_sym, buy_sym, np.full(n_lot, n_sym), np.full(n_buy, n_sym)])
    cols = np.concatenate([o_y + lots, o_z + buys, o_y + lots, o_z + buys])
    vals = np.concatenate(
        [-np.ones(n_lot), np.ones(n_buy), np.full(n_lot, 1 - spread), np.full(n_buy, -1 - spread)]
    )
    weight = sp.csr_matrix((vals, (rows, cols)), shape=(n_w, n))
    cash_rows = np.concatenate([lot_acc, buy_acc])
    cash_cols = np.concatenate([o_y + lots, o_z + buys])
    cash_vals = np.concatenate([np.full(n_lot, 1 - spread), np.full(n_buy, -1 - spread)])
    cash = sp.csr_matrix((cash_vals, (cash_rows, cash_cols)), shape=(n_acc, n))
    return weight, cash


def _solve(problem: cp.Problem) -> None:
    try:
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    except cp.error.SolverError as exc:  # pragma: no cover - solver failure
        raise PlanningError(f"the optimising plan could not be solved: {exc}") from exc
    if problem.status not in {cp.OPTIMAL, cp.OPTIMAL_INACCURATE}:
        raise PlanningError(f"the optimising plan could not be solved: status {problem.status}")


def _whole(values: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Round share counts to whole shares, keeping their total rounded and each ≤ its cap."""
    floor = np.minimum(np.floor(values + 1e-9), np.floor(caps + 1e-9))
    extra = round(float(values.sum())) - int(floor.sum())
    for k in np.argsort(-(values - floor), kind="stable"):
        if extra <= 0:
            break
        if floor[k] + 1 <= caps[k] + 1e-9:
            floor[k] += 1
            extra -= 1
    return floor


def _trades(
    household: Household,
    lots: Sequence[Lot],
    prices: Mapping[str, float],
    as_of: date,
    symbols: Sequence[str],
    accounts: Sequence[Account],
    y_val: np.ndarray,
    z_val: np.ndarray,
    cash_start: np.ndarray,
    notes: list[str],
) -> list[Trade]:
    """Whole trades from the program's values; sells left out for their cost go to ``notes``."""
    cash = {a.id: float(cash_start[k]) for k, a in enumerate(accounts)}
    sells = _sells(household, lots, prices, as_of, y_val, cash, notes)
    buys: list[Trade] = []
    for k, acc in enumerate(accounts):
        buys += _account_buys(household, acc.id, prices, symbols, z_val[k], cash)
    return sells + buys


def _sells(
    hh: Household,
    lots: Sequence[Lot],
    prices: Mapping[str, float],
    as_of: date,
    y_val: np.ndarray,
    cash: dict[str, float],
    notes: list[str],
) -> list[Trade]:
    """One sell per (account, symbol) of the lots the program sells (whole shares when the
    rules say so); a sell that does not cover its cost is left out and noted. ``cash`` is
    updated in place."""
    rules = hh.trading
    floor = order_floor(rules)
    sells: list[Trade] = []
    by_key: dict[tuple[str, str], list[tuple[Lot, float]]] = {}
    for lot, value in zip(lots, y_val, strict=True):
        shares = min(value / prices[lot.symbol], lot.quantity)
        if shares > _EPS:
            by_key.setdefault((lot.account, lot.symbol), []).append((lot, shares))
    for (account, symbol), chosen in by_key.items():
        if not rules.fractional:
            counts = _whole(
                np.array([q for _, q in chosen]), np.array([lot.quantity for lot, _ in chosen])
            )
            chosen = [(lot, float(q)) for (lot, _), q in zip(chosen, counts, strict=True)]
        chosen = [(lot, q) for lot, q in chosen if q > _EPS]
        shares = sum(q for _, q in chosen)
        value = shares * prices[symbol]
        if not chosen or is_dust(shares, value, floor):
            continue
        if not sell_covers_cost(value, rules.cost(value)):
            notes.append(uncovered_sell_note(account, symbol, shares, value, rules.cost(value)))
            continue
        trade = sell_lots_trade(
            hh, account, symbol, chosen, prices[symbol], as_of, f"{symbol}: optimiser sell"
        )
        sells.append(trade)
        cash[account] += trade.cash_change
    return sells


def _account_buys(
    hh: Household,
    account: str,
    prices: Mapping[str, float],
    symbols: Sequence[str],
    z_row: np.ndarray,
    cash: dict[str, float],
) -> list[Trade]:
    """The buys in one account: the program's values (``z_row``, per symbol), largest first,
    within the cash above the reserve; whole shares then topped up one share at a time where
    most is missing. ``cash`` is updated in place."""
    rules, costs = hh.trading, hh.trading.costs
    floor = order_floor(rules)
    wanted = [(j, z_row[j]) for j in range(len(symbols)) if z_row[j] > _EPS]
    wanted.sort(key=lambda pair: -pair[1])
    to_buy: dict[int, float] = {}
    left = cash[account] - min(rules.cash_reserve, max(cash[account], 0.0))
    for j, value in wanted:
        p = prices[symbols[j]]
        q = min(value, max(costs.affordable_value(left), 0.0)) / p
        if not rules.fractional:
            q = float(math.floor(q + 1e-9))
        if is_dust(q, q * p, floor):
            continue
        to_buy[j] = q
        left -= costs.cash_needed(q * p)
    if not rules.fractional:
        _one_more_share(hh, prices, symbols, z_row, wanted, to_buy, left)
    buys: list[Trade] = []
    for j, q in to_buy.items():
        sym, p = symbols[j], prices[symbols[j]]
        if is_dust(q, q * p, floor):
            continue
        trade = Trade(account, sym, Side.BUY, q, p, rules.cost(q * p), f"{sym}: optimiser buy")
        buys.append(trade)
        cash[account] += trade.cash_change
    return buys


def _one_more_share(
    hh: Household,
    prices: Mapping[str, float],
    symbols: Sequence[str],
    z_row: np.ndarray,
    wanted: Sequence[tuple[int, float]],
    to_buy: dict[int, float],
    left: float,
) -> None:
    """Whole shares leave cash: one more share where most is missing, while at least half a
    share is missing and the cash ``left`` pays for it (``to_buy`` updated in place)."""
    costs = hh.trading.costs
    for _ in range(4 * len(wanted)):
        short = [(z_row[j] - to_buy.get(j, 0.0) * prices[symbols[j]], j) for j, _ in wanted]
        gap, j = max(short, default=(0.0, -1))
        p = prices[symbols[j]] if j >= 0 else 0.0
        unit = costs.cash_needed(p, 0 if j in to_buy else 1)
        if j < 0 or gap < 0.5 * p or left < unit:
            break
        to_buy[j] = to_buy.get(j, 0.0) + 1.0
        left -= unit


def _plan(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    as_of: date,
    names: Sequence[str],
    target_w: np.ndarray,
    weights_before: np.ndarray,
    total_before: float,
    trades: list[Trade],
    reasons: list[tuple[str, ...]],
    decision: Decision,
    flows: Sequence[CashFlow],
    tax: TaxAware | None,
    warnings: Sequence[str] = (),
) -> Plan:
    before = dict(zip(names, weights_before, strict=True))
    target = dict(zip(names, target_w, strict=True))
    labelled = []
    for t in trades:
        verb = "sell" if t.side is Side.SELL else "buy"
        why = Reason(
            ReasonKind.OPTIMISED,
            f"{verb} (optimised: tracking, cost and tax)",
            t.symbol,
            float(before[t.symbol]),
            float(target[t.symbol]),
        )
        labelled.append(replace(t, reason=str(why), why=why))
    after = apply_trades(holdings, labelled, as_of, [(f.account, f.amount) for f in flows])
    notes: list[str] = list(warnings)
    if tax is not None:
        labelled, after, extra = tax.settle(labelled, after)
        notes += extra
    unmet = {}
    for f in flows:
        if f.amount < 0 and after.cash.get(f.account, 0.0) < -1e-6:
            unmet[f.account] = -after.cash[f.account]
            notes.append(
                f"withdrawal of {-f.amount:,.2f} from {f.account} cannot be met: short by "
                f"{-after.cash[f.account]:,.2f}"
            )
    weights_after = after.weights(prices)
    names = with_bought(names, weights_after)
    st = float(sum(t.realized_short_term for t in labelled))
    lt = float(sum(t.realized_long_term for t in labelled))
    return Plan(
        as_of=as_of,
        triggered=decision.triggered,
        reasons=reasons[0],
        total_value=total_before,
        targets={s: float(target.get(s, 0.0)) for s in names},
        weights_before={s: float(before.get(s, 0.0)) for s in names},
        weights_after={s: float(weights_after.get(s, 0.0)) for s in names},
        trades=tuple(labelled),
        holdings_before=holdings,
        holdings_after=after,
        estimated_tax=estimate_tax(st, lt, household.tax),
        warnings=tuple(notes),
        unmet_withdrawals=unmet,
    )
