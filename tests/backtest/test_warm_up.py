"""A process runs its first array-path backtests without loading numba (about 0.4 s of CPU)
and loads it from ``WARM_UP`` on, with the same results (``poise.backtest._compiled``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from poise.plan import _compiled as plan_compiled

pytestmark = pytest.mark.skipif(not plan_compiled.jit_available(), reason="numba not installed")

_SCRIPT = """
import json, sys
from poise.backtest import run_backtest
from poise.backtest._compiled import WARM_UP
from poise.data import load_dataset
from poise.model import Account, AccountKind, Household
from poise.policy import CalendarPolicy, Frequency
prices = load_dataset("sp500").iloc[:2000]
hh = Household(name="w", accounts=(Account("a", AccountKind.TAX_DEFERRED),),
               targets={s: 1 / prices.shape[1] for s in prices.columns},
               policy=CalendarPolicy(Frequency.MONTHLY))
out = []
for _ in range(WARM_UP + 1):
    final = run_backtest(hh, prices).final_value
    out.append(["numba" in sys.modules, final])
print(json.dumps(out))
"""


def _runs(**env: str) -> list[list[object]]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_numba_is_loaded_from_the_warm_up_run_on_with_the_same_results() -> None:
    from poise.backtest._compiled import WARM_UP

    runs = _runs()
    assert [loaded for loaded, _ in runs] == [False] * (WARM_UP - 1) + [True, True]
    assert len({final for _, final in runs}) == 1  # the same value to the last bit
    eager = _runs(POISE_JIT="1")
    assert all(loaded for loaded, _ in eager)
    assert {final for _, final in eager} == {runs[0][1]}
