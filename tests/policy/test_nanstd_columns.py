"""``nanstd_columns`` is numpy's ``nanstd`` over axis 0 to the last bit (the volatility rule's
scales use it)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from poise.data import load_dataset
from poise.policy._compiled import nanstd_columns


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


def test_it_is_nanstd_on_every_window_of_real_returns() -> None:
    prices = np.ones((8313, 21))
    prices[:, :20] = load_dataset("sp500").to_numpy()
    for rows in range(64, prices.shape[0], 97):
        tail = prices[max(0, rows - 757) : rows]
        returns = tail[1:] / tail[:-1] - 1.0
        for window in (returns[-63:], returns, returns[-2:]):
            assert _same(nanstd_columns(window), np.nanstd(window, axis=0))


@pytest.mark.parametrize("seed", range(20))
def test_it_is_nanstd_on_random_tables_with_and_without_gaps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = rng.normal(0, 10 ** rng.uniform(-4, 2), (int(rng.integers(1, 900)), 7))
    assert _same(nanstd_columns(table), np.nanstd(table, axis=0))
    table[rng.random(table.shape) < 0.05] = np.nan
    with warnings.catch_warnings():  # an all-NaN column: numpy warns, both give NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanstd(table, axis=0)
        got = nanstd_columns(table)
    assert np.array_equal(got, expected, equal_nan=True)
