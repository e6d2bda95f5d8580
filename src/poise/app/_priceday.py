"""A price table prepared once for one decision day, for many rebalances.

Planning a household reads the same things from the prices every time: the closes on the
decision day, the history its policy looks at, and the data-quality check of the last
:data:`QUALITY_LOOKBACK_DAYS` rows. A :class:`PriceDay` does them once for the whole universe
(a batch worker prepares one per day; the service keeps them by price digest and day) and each
household takes its symbols' part. A plan made with a :class:`PriceDay` is the plan made with
the table itself, byte for byte: the same closes, the same history values and the same
warnings in the same order (``tests/app/test_priceday.py``); errors are the table's own.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from poise.data import DEFAULT_MAX_PRICE_AGE_DAYS, carry_recent_prices
from poise.io import prices_on

if TYPE_CHECKING:
    from poise.model import Household
    from poise.risk import QualityWarning

__all__ = ["QUALITY_LOOKBACK_DAYS", "PriceDay"]

QUALITY_LOOKBACK_DAYS = 260
"""Trading days of prices (about a year, up to the as-of day) checked for stale prices, gaps
and impossible jumps before a plan is shown."""

_CASH = "CASH"
_ALIGNED_CACHE = 16  # distinct symbol lists kept (a model portfolio's households share one)


class PriceDay:
    """Adjusted closes up to and including one decision day, prepared for many plans.

    Parameters
    ----------
    prices : DataFrame
        Adjusted closes, one row per trading day (ascending DatetimeIndex), one column per
        symbol; NaN where a symbol has no price.
    as_of : date, optional
        The decision day; the table's last day when omitted.
    source : str
        Names the prices in messages and warnings.

    Attributes
    ----------
    as_of : date
    source : str
    history : DataFrame
        The rows up to and including ``as_of``.
    closes : dict of str to float
        Each symbol's close on ``as_of`` (finite closes only).

    Raises
    ------
    InputError
        ``as_of`` is not a day of the table (``field`` ``as_of``), as
        :func:`poise.io.prices_on` says.

    Notes
    -----
    Thread-safe: the prepared parts are read-only (the arrays it gives are not writeable) and
    its small cache is locked. Picklable (the cache is not shipped).
    """

    def __init__(
        self, prices: pd.DataFrame, as_of: date | None = None, *, source: str = "prices"
    ) -> None:
        from poise.risk._quality import check_prices

        on, _ = prices_on(prices, as_of, (), source=source)
        self.as_of: date = on
        self.source = source
        self.history: pd.DataFrame = prices.loc[: pd.Timestamp(on)]
        values = self.history.to_numpy(dtype=float)
        # one column of ones (CASH) and one of NaN (a symbol without prices) after the table's
        self._values = np.hstack(
            [values, np.ones((len(values), 1)), np.full((len(values), 1), np.nan)]
        )
        self._values.flags.writeable = False
        self._column = {str(c): j for j, c in enumerate(self.history.columns)}
        last = values[-1]
        self.closes: dict[str, float] = {
            s: float(last[j]) for s, j in self._column.items() if math.isfinite(last[j])
        }
        recent = prices.loc[: str(on)].tail(QUALITY_LOOKBACK_DAYS)
        self._recent = recent
        checked = check_prices(recent, as_of=on, source=source)
        self._table_warnings = tuple(w for w in checked if w.symbol is None)
        by_symbol: dict[str, list[QualityWarning]] = {}
        for w in checked:
            if w.symbol is not None:
                by_symbol.setdefault(w.symbol, []).append(w)
        self._symbol_warnings = {s: tuple(ws) for s, ws in by_symbol.items()}
        self._lock = threading.Lock()
        self._aligned: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()

    def __getstate__(self) -> dict[str, object]:
        return {
            "as_of": self.as_of,
            "source": self.source,
            "history": self.history,
            "values": self._values,
            "column": self._column,
            "closes": self.closes,
            "recent": self._recent,
            "table_warnings": self._table_warnings,
            "symbol_warnings": self._symbol_warnings,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        self.as_of = state["as_of"]  # type: ignore[assignment]
        self.source = state["source"]  # type: ignore[assignment]
        self.history = state["history"]  # type: ignore[assignment]
        self._values = state["values"]  # type: ignore[assignment]
        self._values.flags.writeable = False
        self._column = state["column"]  # type: ignore[assignment]
        self.closes = state["closes"]  # type: ignore[assignment]
        self._recent = state["recent"]  # type: ignore[assignment]
        self._table_warnings = state["table_warnings"]  # type: ignore[assignment]
        self._symbol_warnings = state["symbol_warnings"]  # type: ignore[assignment]
        self._lock = threading.Lock()
        self._aligned = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"PriceDay({self.source!r}, as_of={self.as_of}, {len(self._column)} symbols, "
            f"{len(self.history)} days)"
        )

    def prices_of(
        self, symbols: Iterable[str], *, max_age_days: int = DEFAULT_MAX_PRICE_AGE_DAYS
    ) -> dict[str, float]:
        """The close of each of ``symbols`` on the decision day; a symbol without a close
        that day takes its last one when that is at most ``max_age_days`` calendar days older
        (:func:`poise.data.carry_recent_prices`).

        Raises
        ------
        InputError
            A symbol without a column, without a close that day or whose last close is older
            than ``max_age_days`` (``field`` the symbol), as :func:`poise.io.prices_on` and
            :func:`poise.data.carry_recent_prices` say.
        """
        wanted = list(symbols)
        out: dict[str, float] = {}
        for sym in wanted:
            value = self.closes.get(sym)
            if value is None:  # a recent close carried, else the table's own message
                table = carry_recent_prices(
                    self.history, self.as_of, wanted, max_age_days=max_age_days, source=self.source
                )
                return prices_on(table, self.as_of, wanted, source=self.source)[1]
            out[sym] = value
        return out

    def optional_prices(self, household: Household, known: Mapping[str, float]) -> dict[str, float]:
        """Closes of the household's targets and substitutes that the table has on the
        decision day, beyond ``known`` (see :func:`poise.app.optional_prices`)."""
        wanted = [
            *household.targets,
            *(a for alts in household.harvest.substitutes.values() for a in alts),
        ]
        out = {}
        for sym in wanted:
            if sym in known:
                continue
            value = self.closes.get(sym)
            if value is not None:
                out[sym] = value
        return out

    def aligned(self, symbols: Sequence[str]) -> np.ndarray:
        """The history of ``symbols`` as one array, a column each in their order (``CASH``: a
        column of ones; a symbol without a column: all NaN), what
        :func:`poise.policy.aligned_history` makes of the table. Read-only (shared)."""
        key = tuple(symbols)
        with self._lock:
            found = self._aligned.get(key)
            if found is not None:
                self._aligned.move_to_end(key)
                return found
        ones, missing = len(self._column), len(self._column) + 1
        columns = [ones if s == _CASH else self._column.get(s, missing) for s in key]
        out = self._values.take(columns, axis=1)
        out.flags.writeable = False
        with self._lock:
            self._aligned[key] = out
            while len(self._aligned) > _ALIGNED_CACHE:
                self._aligned.popitem(last=False)
        return out

    def warnings_for(self, symbols: Iterable[str]) -> tuple[QualityWarning, ...]:
        """The data-quality warnings of the last :data:`QUALITY_LOOKBACK_DAYS` rows for
        ``symbols``: what :func:`poise.risk.check_prices` says of them (table-level warnings
        first, then per symbol in the order given)."""
        from poise.risk._quality import check_prices

        out = list(self._table_warnings)
        for sym in dict.fromkeys(symbols):
            if sym == _CASH:
                continue
            if sym in self._column:
                out.extend(self._symbol_warnings.get(sym, ()))
            else:  # no column: the check's own "missing" warning
                out.extend(
                    w
                    for w in check_prices(
                        self._recent, symbols=[sym], as_of=self.as_of, source=self.source
                    )
                    if w.symbol == sym
                )
        return tuple(out)
