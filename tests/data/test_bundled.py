"""The bundled data sets and their parsed-table cache: a cached read gives the table parsed
from skfolio's CSV exactly (values bit for bit, dates, symbols, dtypes), a changed CSV or a
damaged cache falls back to parsing, and POISE_NO_CACHE turns the cache off."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poise.data import _bundled
from poise.data._bundled import DATASETS, load_dataset


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POISE_HOME", str(tmp_path))
    monkeypatch.delenv("POISE_NO_CACHE", raising=False)
    monkeypatch.setattr(_bundled, "_cache", {})
    return tmp_path


def _from_csv(name: str) -> pd.DataFrame:
    """The table read independently of poise's loader: pandas over the gzipped CSV."""
    with gzip.open(_bundled._data_dir() / DATASETS[name], "rt") as handle:
        raw = pd.read_csv(handle, index_col=0)
    raw.index = pd.to_datetime(raw.index).normalize()
    raw.index.name = "date"
    return raw.astype(float).sort_index()


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_cached_read_equals_the_csv(home: Path, name: str) -> None:
    first = load_dataset(name)  # parses and writes the cache
    assert [p.name.split("-")[0] for p in (home / "cache").glob("*.npz")] == [name]
    _bundled._cache.clear()
    second = load_dataset(name)  # reads the cache
    expected = _from_csv(name)
    for frame in (first, second):
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)
        assert frame.attrs == {"dataset": name}
    same_bits = first.to_numpy().view(np.int64) == second.to_numpy().view(np.int64)
    assert same_bits.all()
    assert second.columns.dtype == first.columns.dtype
    assert second.index.dtype == first.index.dtype


def test_damaged_cache_falls_back_to_the_csv(home: Path) -> None:
    load_dataset("factors")
    (cached,) = (home / "cache").glob("factors-*.npz")
    cached.write_bytes(b"not an npz")
    _bundled._cache.clear()
    pd.testing.assert_frame_equal(load_dataset("factors"), _from_csv("factors"), check_exact=True)


def test_cache_is_keyed_by_the_csv_and_old_versions_go(home: Path) -> None:
    load_dataset("factors")
    (cached,) = (home / "cache").glob("factors-*.npz")
    where = cached.name.split("-")[1]
    stale = cached.with_name(f"factors-{where}-1-2-v1-pd0.npz")  # an earlier CSV's cache
    cached.rename(stale)
    other = cached.with_name("factors-000000000000-1-2-v1-pd0.npz")  # another installation's
    other.write_bytes(b"")
    _bundled._cache.clear()
    load_dataset("factors")
    names = sorted(p.name for p in (home / "cache").glob("factors-*.npz"))
    assert names == sorted([cached.name, other.name])


def test_no_cache_when_turned_off(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POISE_NO_CACHE", "1")
    load_dataset("factors")
    assert not (home / "cache").exists()


def test_unwritable_home_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the home folder would be")
    monkeypatch.setenv("POISE_HOME", str(blocker))
    monkeypatch.setattr(_bundled, "_cache", {})
    pd.testing.assert_frame_equal(load_dataset("factors"), _from_csv("factors"), check_exact=True)
