"""A finished run's ``BacktestResult``: the values at once, every other part on first use.

The daily values come from the holdings segments the loop recorded (one row of shares and
cash per event, carried to the days until the next one) in one pass over preallocated
arrays. The tables (weights, targets, bands, trades, rebalances, flows, taxes) and the
metrics are ``Deferred``: each is built the first time it is read, from the same records and
with the same arithmetic as if built at once, and then kept. The trade table's reasons and
the rebalances' reasons are worded only for those tables; the metrics read the trades'
numbers (date, side, value, cost) without their reasons.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise.analytics import Metrics, compute_metrics
from poise.backtest._harvest import after_tax_values, harvested_by_year
from poise.backtest._result import (
    TRADE_COLUMNS,
    BacktestResult,
    Deferred,
    empty_frame,
    weights_frame,
)
from poise.backtest._state import BacktestState, TradeKind
from poise.model import CASH
from poise.policy import Policy, trigger_bands, trigger_of

__all__ = ["build_result"]

_METRIC_TRADE_COLUMNS = ("date", "side", "value", "cost")


class _Parts:
    """The parts of one result, each computed once from the finished ``state``."""

    def __init__(
        self, state: BacktestState, policy: Policy, initial: float, risk_free: float
    ) -> None:
        self.state = state
        self.policy = policy
        self.initial = initial
        self.risk_free = risk_free
        n = state.n_days
        self.index = pd.DatetimeIndex(state.days.astype("datetime64[ns]"), name="date")
        self.symbols = list(state.universe)
        segments = state.segments
        starts = np.fromiter((s[0] for s in segments), np.int64, count=len(segments))
        qty = np.empty((len(segments), len(self.symbols)))
        for k, s in enumerate(segments):
            qty[k] = s[1]
        cash = np.fromiter((s[2] for s in segments), float, count=len(segments))
        segment = np.searchsorted(starts, np.arange(n), side="right") - 1
        rows = state._zero_prices[state.offset : state.offset + n]
        self.by_symbol = rows * qty[segment]
        self.day_cash = cash[segment]
        self.values = pd.Series(
            self.by_symbol.sum(axis=1) + self.day_cash, index=self.index, name="value"
        )
        self.done: dict[str, Any] = {}

    def _once(self, name: str, make: Any) -> Any:
        if name not in self.done:
            self.done[name] = make()
        return self.done[name]

    # ----- tables -----------------------------------------------------------------------
    def weights(self) -> pd.DataFrame:
        return self._once(
            "weights",
            lambda: weights_frame(self.by_symbol, self.day_cash, self.index, self.symbols),
        )

    def targets(self) -> pd.DataFrame:
        def make() -> pd.DataFrame:
            rows = self.state.target_rows
            columns = [*self.symbols, CASH]
            dates = pd.DatetimeIndex([pd.Timestamp(d) for d, _ in rows], name="date")
            data = np.array([[t.get(c, 0.0) for c in columns] for _, t in rows], dtype=float)
            return pd.DataFrame(data.reshape(len(rows), len(columns)), dates, columns)

        return self._once("targets", make)

    def bands(self) -> pd.DataFrame | None:
        def make() -> pd.DataFrame | None:
            targets = self.targets()
            trigger = trigger_of(self.policy)
            band_rows = [trigger_bands(trigger, row) for row in targets.to_numpy()]
            if any(b is None for b in band_rows):
                return None
            return pd.DataFrame(
                np.vstack(band_rows),  # type: ignore[arg-type]
                index=targets.index,
                columns=targets.columns,
            )

        return self._once("bands", make)

    def _has_trades(self) -> bool:
        state = self.state
        return bool(state.trade_batches) or bool(getattr(state, "has_trades", False))

    def trades(self) -> pd.DataFrame:
        def make() -> pd.DataFrame:
            if not self._has_trades():
                return empty_frame(TRADE_COLUMNS)
            trades = pd.DataFrame(self.state.trade_columns(), columns=list(TRADE_COLUMNS))
            trades["date"] = pd.to_datetime(trades["date"])
            return trades

        return self._once("trades", make)

    def trade_numbers(self) -> pd.DataFrame:
        """The trade table's date, side, value and cost (no reasons worded), or the table
        itself once it has been built."""
        if "trades" in self.done or not self._has_trades():
            return self.trades()
        state = self.state
        columns = state.trade_columns(reasons=False)
        numbers = pd.DataFrame({c: columns[c] for c in _METRIC_TRADE_COLUMNS})
        numbers["date"] = pd.to_datetime(numbers["date"])
        return numbers

    def _word_reasons(self) -> None:
        word = getattr(self.state, "word_reasons", None)
        if word is not None:
            word()

    def rebalances(self) -> pd.DataFrame:
        def make() -> pd.DataFrame:
            self._word_reasons()
            frame = pd.DataFrame(
                self.state.rebalance_rows, columns=["date", "reasons", "trades", "cost", "kind"]
            )
            frame["date"] = pd.to_datetime(frame["date"])
            return frame

        return self._once("rebalances", make)

    def rebalance_dates(self) -> list[str]:
        days: list[Any] = [row[0] for row in self.state.rebalance_rows]
        return [pd.Timestamp(d).date().isoformat() for d in days]

    def flows(self) -> pd.DataFrame:
        def make() -> pd.DataFrame:
            flows = pd.DataFrame(
                self.state.flow_rows, columns=["date", "account", "requested", "paid"]
            )
            flows["date"] = pd.to_datetime(flows["date"])
            return flows

        return self._once("flows", make)

    def taxes(self) -> pd.DataFrame:
        return self._once("taxes", lambda: tax_table(self.state))

    def metrics(self) -> Metrics:
        def make() -> Metrics:
            flows = self.flows()
            taxes = self.taxes()
            cash_flows = flows.groupby("date")["paid"].sum() if not flows.empty else None
            kinds = [row[4] for row in self.state.rebalance_rows]
            return compute_metrics(
                self.values,
                flows=cash_flows,
                trades=self.trade_numbers(),
                weights=self.weights(),
                targets=self.targets(),
                bands=self.bands(),
                rebalances=sum(1 for k in kinds if k != TradeKind.INITIAL),
                taxes_paid=float(taxes["paid"].sum()) if not taxes.empty else 0.0,
                risk_free=self.risk_free,
                initial=self.initial,
                substitutes=self.state.household.harvest.substitutes,
            )

        return self._once("metrics", make)


def build_result(
    state: BacktestState, policy: Policy, initial: float, risk_free: float
) -> BacktestResult:
    """The result of the finished run ``state``: its values now, the rest on first use."""
    parts = _Parts(state, policy, initial, risk_free)
    after_tax, after_tax_liquidated = after_tax_values(state, float(parts.values.iloc[-1]))
    return BacktestResult(
        household=state.household.name,
        policy=policy.describe(),
        initial_value=initial,
        values=parts.values,
        weights=Deferred(parts.weights),
        targets=Deferred(parts.targets),
        bands=Deferred(parts.bands),
        trades=Deferred(parts.trades),
        rebalances=Deferred(parts.rebalances),
        flows=Deferred(parts.flows),
        taxes=Deferred(parts.taxes),
        metrics=Deferred(parts.metrics),
        warnings=tuple(state.warnings),
        after_tax_value=after_tax,
        after_tax_liquidated=after_tax_liquidated,
        rebalance_dates=Deferred(parts.rebalance_dates),
    )


def tax_table(state: BacktestState) -> pd.DataFrame:
    """One row per calendar year of the run (see ``BacktestResult.taxes``)."""
    first, last = state.day(0).year, state.day(state.n_days - 1).year
    paid: dict[int, float] = {}
    paid_on: dict[int, date] = {}
    for year, _account, amount, day in state.tax_rows:
        paid[year] = paid.get(year, 0.0) + amount
        if day is not None:
            paid_on[year] = day
    harvested = harvested_by_year(state)
    rows = []
    for year in range(first, last + 1):
        gains = state.ledger.year_totals(year)
        tax = float(sum(state.ledger.close_year(year).values()))
        books = state.ledger.years[year]
        rows.append(
            (
                year,
                gains.short_term,
                gains.long_term,
                tax,
                paid.get(year, 0.0),
                pd.Timestamp(paid_on[year]) if year in paid_on else pd.NaT,
                tax if year == last else 0.0,
                books.ordinary_offset,
                books.ordinary_tax_saving,
                books.carried_out.short_term_loss,
                books.carried_out.long_term_loss,
                harvested.get(year, 0.0),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "year",
            "realized_short_term",
            "realized_long_term",
            "tax",
            "paid",
            "paid_on",
            "due",
            "ordinary_offset",
            "tax_saving",
            "carryforward_short_term",
            "carryforward_long_term",
            "harvested",
        ],
    ).set_index("year")
