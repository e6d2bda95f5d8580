"""Real price data bundled with skfolio, read without importing skfolio (fast start-up)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from poise._errors import InputError

__all__ = ["DATASETS", "is_dataset", "load_dataset"]

DATASETS: dict[str, str] = {
    "sp500": "sp500_dataset.csv.gz",
    "sp500_index": "sp500_index.csv.gz",
    "factors": "factors_dataset.csv.gz",
}
"""Bundled data set names and their files: 20 S&P 500 stocks and the S&P 500 index (daily,
1990-2022), and 5 factor ETFs (daily, 2014-2022); adjusted closes."""

_cache: dict[str, pd.DataFrame] = {}


def is_dataset(name: str) -> bool:
    return name in DATASETS


def _data_dir() -> Path:
    spec = importlib.util.find_spec("skfolio")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("skfolio is not installed; install poise with its dependencies")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


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
        _cache[name] = frame.astype(float).sort_index()
    return _cache[name].copy()
