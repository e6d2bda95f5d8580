"""Start-up stays light (timings live in benchmarks/startup.py; these check the cause): the
command line registers its commands without importing the engine's heavy libraries, and
``poise rebalance`` runs without the optimisers, the Monte Carlo or the HTML reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES

HEAVY = ("pandas", "numpy", "scipy", "skfolio", "sklearn", "cvxpy", "plotly", "sqlalchemy",
         "fastapi", "dask", "alpaca")  # fmt: skip


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_and_version_import_no_engine_library() -> None:
    loaded = _modules_after("import poise.cli")
    assert _top(loaded) & set(HEAVY) == set()
    assert "poise.cli._rebalance" in loaded  # the commands are registered


def test_rebalance_imports_only_what_it_uses() -> None:
    loaded = _modules_after(
        "import contextlib, io\n"
        "from poise.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['rebalance', {str(EXAMPLES / 'household.toml')!r}, '--holdings', "
        f"{str(EXAMPLES / 'holdings.csv')!r}, '--prices', 'sp500', '--json'])\n"
        "assert code == 0"
    )
    assert {"pandas", "numpy"} <= _top(loaded)
    heavy_unused = {"scipy", "skfolio", "sklearn", "cvxpy", "plotly", "sqlalchemy", "fastapi"}
    assert _top(loaded) & heavy_unused == set()
    unused_engine = {"poise.backtest", "poise.risk._montecarlo", "poise.report._html"}
    assert loaded & unused_engine == set()
    # nor the other results' JSON, the feed adapters' modules (only registered), the store
    # or the brokers
    unused = {"poise.report._results", "poise.feeds._alpaca", "poise.feeds._yahoo"}
    assert loaded & unused == set()
    assert {m for m in loaded if m.startswith(("poise.store", "poise.broker"))} == set()


def test_rebalance_reads_the_bundled_prices_from_the_cache(tmp_path: Path) -> None:
    """The second ``poise rebalance`` on a bundled data set loads the parsed table cached
    by the first (``$POISE_HOME/cache``) and parses no CSV."""
    command = (
        "import contextlib, io, os, sys\n"
        f"os.environ['POISE_HOME'] = {str(tmp_path)!r}\n"
        "os.environ.pop('POISE_NO_CACHE', None)\n"
        "import pandas\n"
        "if sys.argv[1] == 'second':\n"
        "    def refuse(*args, **kwargs):\n"
        "        raise AssertionError('parsed a CSV: ' + str(args[:1]))\n"
        "    pandas.read_csv = refuse\n"
        "from poise.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['rebalance', {str(EXAMPLES / 'household.toml')!r}, '--holdings', "
        f"{str(EXAMPLES / 'holdings.csv')!r}, '--prices', 'sp500', '--json'])\n"
        "assert code == 0, code\n"
    )
    for run in ("first", "second"):
        subprocess.run([sys.executable, "-c", command, run], check=True, capture_output=True)
    assert [p.name.split("-")[0] for p in (tmp_path / "cache").glob("*.npz")] == ["sp500"]
