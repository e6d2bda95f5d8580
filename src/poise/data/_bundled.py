"""Real price data bundled with skfolio, read without importing skfolio (fast start-up).

Parsing a bundled CSV (about 8,000 days by 20 symbols, gzipped) costs some 15 ms of CPU, a
third of what ``poise rebalance`` computes after its imports, so the first read keeps the
parsed table in ``$POISE_HOME/cache/`` (one uncompressed ``.npz`` of the values, dates and
symbols per data set, about 1.4 MB for ``sp500``, named after the CSV's path, size and
modification time and the cache format) and later processes load it (about 1 ms) instead.
The cached table is the parsed one, bit for bit; a changed or reinstalled CSV gets a new
cache file. A cache that cannot be written (a read-only home) or read (damaged) is skipped
silently: the CSV is parsed as before. ``POISE_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from poise._errors import InputError
from poise._home import poise_home

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
        csv = _data_dir() / DATASETS[name]
        cached = _cache_file(name, csv)
        frame = _read_cache(cached) if cached is not None else None
        if frame is None:
            frame = _parse_csv(csv)
            if cached is not None:
                _write_cache(cached, frame)
        frame.attrs["dataset"] = name  # e.g. for the Monte Carlo's note on hindsight
        _cache[name] = frame
    return _cache[name].copy()


_CACHE_FORMAT = 1  # bump when the parsing below changes what a cached table holds


def _parse_csv(csv: Path) -> pd.DataFrame:
    frame = pd.read_csv(csv, index_col=0, parse_dates=True)
    frame.index = pd.DatetimeIndex(frame.index).normalize()
    frame.index.name = "date"
    return frame.astype(float).sort_index()


def _cache_file(name: str, csv: Path) -> Path | None:
    """Where the parsed ``csv`` is cached, or None when caching is off or the CSV is missing."""
    if os.environ.get("POISE_NO_CACHE", "").strip() not in ("", "0"):
        return None
    try:
        stat = csv.stat()
    except OSError:
        return None
    # the CSV's own path too: several installations (virtual environments) share one home
    where = hashlib.sha256(str(csv.resolve()).encode()).hexdigest()[:12]
    key = f"{name}-{where}-{stat.st_size}-{stat.st_mtime_ns}-v{_CACHE_FORMAT}-pd{pd.__version__}"
    return poise_home() / "cache" / f"{key}.npz"


def _read_cache(path: Path) -> pd.DataFrame | None:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            values, dates, symbols = arrays["values"], arrays["dates"], arrays["symbols"]
    except (OSError, ValueError, KeyError):  # absent, damaged or from another layout
        return None
    index = pd.DatetimeIndex(dates, name="date")
    return pd.DataFrame(values, index=index, columns=pd.Index(symbols.tolist()), copy=False)


def _write_cache(path: Path, frame: pd.DataFrame) -> None:
    """Write the cache whole or not at all (a temporary file renamed over it); drop the
    cache files of earlier versions of the same data set from the same installation."""
    name, where = path.name.split("-")[:2]
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            np.savez(
                out,
                values=frame.to_numpy(dtype=float),
                dates=frame.index.to_numpy(),
                symbols=np.array([str(c) for c in frame.columns]),
            )
        os.replace(tmp, path)
        for old in path.parent.glob(f"{name}-{where}-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:  # read-only or full: parse the CSV next time too
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
