"""Attribution of a backtest: where the household's return came from.

``attribute_backtest`` backtests the household as ``poise backtest`` does and explains its
daily time-weighted returns:

- **CAPM** on a benchmark's daily returns (``capm``);
- **Brinson-Fachler** by the household's groups (``[risk.groups]``, one group per symbol by
  default) against its own targets held every day (the *policy portfolio*): allocation is
  drift between groups, selection drift within them. Periods are days; weights are those at
  the previous close (after its trades), returns those of the day; linked over the whole run,
  the parts sum to the holdings-based active return exactly;
- **contribution per asset** to the holdings-based return (they sum to it exactly);
- the **rebalancing effect**: the rule against buy-and-hold of the initial target (the same
  backtest with ``NeverPolicy``);
- **cost and tax drag**: the CAGR the household would have had with its trading costs, or
  its tax payments, added back on the days they were paid, less its actual CAGR.

The holdings-based return (Σ w r) leaves out costs, taxes and the cash flows' timing; the
``residual`` says how far it is from the actual time-weighted return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise._errors import DataError, InputError
from poise._progress import ProgressCallback
from poise.model import CASH, Household
from poise.risk._attribution import (
    BrinsonResult,
    CapmResult,
    brinson_from_assets,
    capm,
    contributions,
    contributions_by_period,
)
from poise.risk._config import risk_rules

__all__ = ["BacktestAttribution", "attribute_backtest", "benchmark_series"]


def benchmark_series(table: pd.DataFrame, column: str | None, source: str) -> pd.Series:
    """The benchmark's prices: ``column`` of ``table``, or its only column."""
    if column is not None:
        if column not in table.columns:
            raise InputError(
                f"has no column {column!r}; it has {', '.join(map(str, table.columns))}",
                source=source,
                field="benchmark_column",
            )
        return table[column].dropna()
    if table.shape[1] != 1:
        raise InputError(
            f"has {table.shape[1]} columns ({', '.join(map(str, table.columns[:5]))}…); "
            "pick one by its name",
            source=source,
            field="benchmark_column",
        )
    return table.iloc[:, 0].dropna()


@dataclass(frozen=True)
class BacktestAttribution:
    """Everything ``attribute_backtest`` finds (see the module notes)."""

    result: Any
    buy_and_hold: Any
    benchmark_name: str
    benchmark_returns: pd.Series
    capm: CapmResult
    benchmark_cagr: float
    brinson: BrinsonResult
    contributions: pd.Series
    contributions_by_year: pd.DataFrame
    holdings_return: float
    actual_return: float
    cost_drag: float
    tax_drag: float

    @property
    def notes(self) -> tuple[str, ...]:
        """What to keep in mind reading the figures (e.g. a price-index benchmark)."""
        return benchmark_notes(self.benchmark_name)

    @property
    def rebalancing_effect(self) -> float:
        """CAGR of the rule less CAGR of buy-and-hold of the initial target."""
        return float(self.result.metrics.cagr - self.buy_and_hold.metrics.cagr)

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: use ``poise.report.backtest_attribution_to_dict``."""
        import warnings

        from poise.report import backtest_attribution_to_dict

        warnings.warn(
            "BacktestAttribution.to_dict() is deprecated; "
            "use poise.report.backtest_attribution_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return backtest_attribution_to_dict(self)


PRICE_INDEX_NOTE = (
    "sp500_index is a price index (dividends left out) while the stock prices are adjusted "
    "closes (dividends reinvested): alpha and the return against it are overstated by about "
    "the index's dividend yield (roughly 2% a year since 1990); for a fair comparison pass a "
    "total-return benchmark, e.g. --benchmark FILE with a date,SPXTR column of total-return "
    "closes"
)
"""The note shown wherever the bundled price index is the benchmark."""


def benchmark_notes(benchmark_name: str) -> tuple[str, ...]:
    """Notes on a benchmark: the bundled ``sp500_index`` is a price index."""
    return (PRICE_INDEX_NOTE,) if benchmark_name.split(":")[0] == "sp500_index" else ()


def _asset_returns(prices: pd.DataFrame, columns: Sequence[str], index: pd.Index) -> pd.DataFrame:
    """Daily returns of ``columns`` (0 for cash) on ``index`` (gaps carried forward)."""
    symbols = [c for c in columns if c != CASH]
    table = prices[symbols].ffill()
    returns = table.pct_change(fill_method=None).reindex(index).fillna(0.0)
    returns[CASH] = 0.0
    return returns[list(columns)]


def attribute_backtest(
    household: Household,
    prices: pd.DataFrame,
    benchmark: pd.Series,
    *,
    benchmark_name: str = "benchmark",
    start: date | None = None,
    end: date | None = None,
    initial: float = 100_000.0,
    flows: Sequence[Any] = (),
    risk_free: float = 0.0,
    groups: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    result: Any = None,
) -> BacktestAttribution:
    """Backtest ``household`` and attribute its returns (see the module notes).

    Parameters
    ----------
    household, prices, start, end, initial, flows
        As for ``poise.backtest.run_backtest``.
    benchmark : Series
        The benchmark's prices (e.g. the bundled ``sp500_index``), by date.
    risk_free : float
        Annual risk-free rate for the regression.
    groups : mapping of symbol to group, optional
        Groups for Brinson (default: the household's ``[risk.groups]``).
    result : BacktestResult, optional
        The household's backtest with these settings, when the caller already has it (it is
        not run again).

    Raises
    ------
    DataError
        Fewer than 3 days the backtest and the benchmark share.
    """
    from poise.analytics import cagr, daily_returns
    from poise.backtest import run_backtest
    from poise.policy import NeverPolicy

    if result is None:
        result = run_backtest(
            household,
            prices,
            start=start,
            end=end,
            initial=initial,
            flows=flows,
            progress=progress,
            risk_free=risk_free,
        )
    held = run_backtest(
        household, prices, start=start, end=end, initial=initial, flows=flows, policy=NeverPolicy()
    )
    flows_by_day = result.cash_flows
    # the regression starts after the first close: on day one the money was cash until the close
    returns = daily_returns(result.values, flows_by_day)
    bench = benchmark.astype(float)
    bench_returns = bench.pct_change(fill_method=None).dropna()
    common = returns.index.intersection(bench_returns.index)
    if len(common) < 3:
        raise DataError(
            f"the backtest ({result.start} to {result.end}) and the benchmark "
            f"({bench.index[0].date()} to {bench.index[-1].date()}) share {len(common)} "
            "day(s); a regression needs at least 3"
        )
    regression = capm(returns, bench_returns, risk_free=risk_free)
    bench_cagr = cagr(bench.loc[pd.Timestamp(result.start) : pd.Timestamp(result.end)])

    weights = result.weights
    start_weights = weights.shift(1).iloc[1:]
    targets = result.daily_targets().reindex(columns=weights.columns, fill_value=0.0)
    start_targets = targets.shift(1).iloc[1:]
    asset_returns = _asset_returns(prices, list(weights.columns), start_weights.index)
    group_of = (
        dict(groups)
        if groups is not None
        else risk_rules(household).group_map(list(weights.columns))
    )
    group_of[CASH] = CASH
    brinson = brinson_from_assets(start_weights, start_targets, asset_returns, group_of)
    per_asset = contributions(start_weights, asset_returns)
    by_year = contributions_by_period(start_weights, asset_returns, "YE")

    actual = float(np.prod(1.0 + returns.to_numpy()) - 1.0)
    net = result.metrics.cagr
    costs = result.costs
    taxes = result.taxes
    tax_days = (
        taxes.loc[taxes["paid"] > 0].set_index("paid_on")["paid"]
        if not taxes.empty and "paid_on" in taxes
        else pd.Series(dtype=float)
    )

    def cagr_with(added_back: pd.Series) -> float:
        """CAGR with ``added_back`` (by date) treated as money taken out, not lost."""
        days = result.values.index
        extra = added_back.groupby(level=0).sum().reindex(days, fill_value=0.0)
        external = flows_by_day.reindex(days, fill_value=0.0) if len(flows_by_day) else 0.0
        return float(cagr(result.values, external - extra, initial=result.initial_value))

    return BacktestAttribution(
        result=result,
        buy_and_hold=held,
        benchmark_name=benchmark_name,
        benchmark_returns=bench_returns,
        capm=regression,
        benchmark_cagr=bench_cagr,
        brinson=brinson,
        contributions=per_asset,
        contributions_by_year=by_year,
        holdings_return=brinson.portfolio_total,
        actual_return=actual,
        cost_drag=cagr_with(costs) - net if len(costs) else 0.0,
        tax_drag=cagr_with(tax_days) - net if len(tax_days) else 0.0,
    )
