"""Shared fixtures for batch runs: a book of 200 households on the bundled prices, its serial
output, and one Dask cluster (2 worker processes on loopback) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from poise.io import read_prices
from poise.scale import BatchRequest, read_manifest, run_batch
from poise.scale._synthetic import write_book

AS_OF = "2022-06-01"


@pytest.fixture(scope="session")
def prices() -> pd.DataFrame:
    return read_prices("sp500")


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory, prices: pd.DataFrame) -> Path:
    """Manifest of 200 random households."""
    folder = tmp_path_factory.mktemp("book")
    return write_book(folder, prices, 200, seed=11, as_of=pd.Timestamp(AS_OF))


@pytest.fixture(scope="session")
def serial_output(
    tmp_path_factory: pytest.TempPathFactory, book: Path, prices: pd.DataFrame
) -> bytes:
    """The book planned in this process: the reference every other runner must equal."""
    out = tmp_path_factory.mktemp("serial") / "plans.jsonl"
    request = BatchRequest(
        manifest=read_manifest(book),
        prices=prices,
        out=out,
        as_of=pd.Timestamp(AS_OF).date(),
        prices_source="sp500",
        chunk_size=50,
    )
    run_batch(request)
    return out.read_bytes()


@pytest.fixture(scope="session")
def small_book(book: Path) -> Path:
    """Manifest of the first 40 households of ``book`` (same files)."""
    manifest = book.parent / "first40.csv"
    lines = book.read_text().splitlines()[:41]
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


@pytest.fixture(scope="session")
def small_output(serial_output: bytes) -> bytes:
    """What ``small_book`` must give: the first 40 lines of the whole book's output."""
    return b"".join(serial_output.splitlines(keepends=True)[:40])


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """A LocalCluster of 2 single-threaded worker processes on loopback (nannies restart a
    killed worker)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    )
    try:
        yield cluster
    finally:
        cluster.close()
