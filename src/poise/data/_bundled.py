"""Real price data bundled with skfolio, read without importing skfolio (fast start-up)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from poise._errors import InputError

__all__ = ["DATASETS", "OWN_PRICES", "bundled_note", "is_dataset", "load_dataset"]

DATASETS: dict[str, str] = {
    "sp500": "sp500_dataset.csv.gz",
    "sp500_index": "sp500_index.csv.gz",
    "factors": "factors_dataset.csv.gz",
}
"""Bundled data set names and their files: 20 S&P 500 stocks and the S&P 500 index (daily,
1990-2022), and 5 factor ETFs (daily, 2014-2022); adjusted closes."""

OWN_PRICES = (
    "to plan on recent dates, bring your own prices: a CSV with the header date,SYM1,SYM2,... "
    "(ISO dates ascending, adjusted closes; e.g. exported from your broker or a data "
    "provider) passed as --prices FILE (see 'Your own prices' in the README)"
)
"""How to bring one's own prices, for messages about the bundled data's end."""

_cache: dict[str, pd.DataFrame] = {}


def is_dataset(name: str) -> bool:
    return name in DATASETS


def _data_dir() -> Path:
    spec = importlib.util.find_spec("skfolio")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("skfolio is not installed; install poise with its dependencies")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def bundled_note(source: str) -> str:
    """``"; the bundled prices end on 2022-12-28: ..."`` when ``source`` names a bundled data
    set (for messages about dates after its end), else an empty string."""
    if not is_dataset(source):
        return ""
    last = load_dataset(source).index[-1].date()
    return f"; the bundled prices end on {last}: {OWN_PRICES}"


def load_dataset(name: str) -> pd.DataFrame:
    """Prices of a bundled data set: a wide frame of adjusted closes, dates ascending.

    Parameters
    ----------
    name : {"sp500", "sp500_index", "factors"}
    """
    if name not in DATASETS:
        raise InputError(
            f"unknown data set {name!r}; use a CSV file or one of {', '.join(DATASETS)}"
        )
    if name not in _cache:
        frame = pd.read_csv(_data_dir() / DATASETS[name], index_col=0, parse_dates=True)
        frame.index = pd.DatetimeIndex(frame.index).normalize()
        frame.index.name = "date"
        frame = frame.astype(float).sort_index()
        frame.attrs["dataset"] = name  # e.g. for the Monte Carlo's note on hindsight
        _cache[name] = frame
    return _cache[name].copy()
