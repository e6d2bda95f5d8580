"""Start-up time of the command line, beside two anchors measured in the same run.

Goals (issue 9): ``poise --help`` and ``poise --version`` ≤ 0.3 s, ``poise rebalance`` on the
example household (``examples/``, bundled ``sp500`` prices) ≤ 0.8 s wall. Anchors:
``python -c pass`` (the interpreter alone) and ``python -c "import pandas"`` (what any command
that reads prices pays at least). Each command runs in a fresh process, ``--repeat`` times
(default 7); the table shows the median wall time and the median and least CPU time (user +
system of the child process). On a busy machine the wall times grow with the load; the CPU
times (the least one most of all) and the distance to the anchors say more. ``poise
rebalance`` is timed as it runs every day, printing its table and with ``--json`` (the
bundled prices' parsed table cached in ``$POISE_HOME/cache``, a temporary home here), and
with ``POISE_NO_CACHE=1`` (the CSV parsed, as on the first run). A second
table splits one cached ``poise rebalance --json`` into its phases (CPU seconds, in one
process). Run: ``python benchmarks/startup.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
POISE = [sys.executable, "-m", "poise"]

REBALANCE = [
    *POISE,
    "rebalance",
    str(EXAMPLES / "household.toml"),
    "--holdings",
    str(EXAMPLES / "holdings.csv"),
    "--prices",
    "sp500",
]

CASES: list[tuple[str, list[str], float | None]] = [
    ("python -c pass (anchor)", [sys.executable, "-c", "pass"], None),
    ('python -c "import pandas" (anchor)', [sys.executable, "-c", "import pandas"], None),
    ("poise --version", [*POISE, "--version"], 0.3),
    ("poise --help", [*POISE, "--help"], 0.3),
    ("poise rebalance (example, sp500)", REBALANCE, 0.8),
    ("poise rebalance --json", [*REBALANCE, "--json"], 0.8),
    ("poise rebalance, CSV parsed (no cache)", ["POISE_NO_CACHE=1", *REBALANCE], 0.8),
]

# One cached ``poise rebalance --json`` split into phases, in one process (CPU seconds).
PHASES = f"""
import contextlib, io, json, time
clock = time.process_time
marks = [("interpreter", clock())]
import pandas, numpy
marks.append(("import pandas, numpy", clock()))
import poise.cli
marks.append(("import poise.cli (typer, rich, commands)", clock()))
import typer._adapters
marks.append(("typer's parameter coercion (pydantic)", clock()))
import poise.app, poise.io, poise.report
from poise.app import rebalance
marks.append(("import the engine (app, io, plan, policy, tax, report)", clock()))
from poise.io import read_household, read_holdings, read_prices
hh = read_household({str(EXAMPLES / "household.toml")!r})
read_holdings({str(EXAMPLES / "holdings.csv")!r}, hh)
marks.append(("read household and holdings", clock()))
read_prices("sp500")
marks.append(("read the bundled prices (cached)", clock()))
with contextlib.redirect_stdout(io.StringIO()):
    poise.cli.main({[*REBALANCE[3:], "--json"]!r})
marks.append(("the command (plan, quality checks, JSON)", clock()))
print(json.dumps(marks))
"""


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run; leading ``NAME=value`` items
    are set in the child's environment."""
    env = os.environ.copy()
    while "=" in command[0]:
        name, _, value = command[0].partition("=")
        env[name] = value
        command = command[1:]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def phases(repeat: int) -> Table:
    """Median CPU seconds of each phase of a cached ``poise rebalance --json``."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PHASES], check=True, capture_output=True, text=True
        ).stdout
        marks = json.loads(out.splitlines()[-1])
        runs.append([(label, t - marks[k][1]) for k, (label, t) in enumerate(marks[1:])])
    table = Table(title="poise rebalance --json by phase (median CPU s, one process)")
    table.add_column("phase")
    table.add_column("cpu s", justify="right")
    for k, (label, _) in enumerate(runs[0]):
        table.add_row(label, f"{statistics.median(run[k][1] for run in runs):.3f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    home = tempfile.TemporaryDirectory(prefix="poise-startup-")
    os.environ["POISE_HOME"] = home.name  # the cache of parsed bundled prices lives here
    table = Table(title=f"poise start-up (median of {repeat} fresh processes)")
    for col in ("command", "wall s", "cpu s", "min cpu s", "goal s", "verdict (cpu)"):
        table.add_column(col, justify="left" if col == "command" else "right")
    for label, command, goal in CASES:
        run_once(command)  # warm the file cache
        walls, cpus = zip(*(run_once(command) for _ in range(repeat)), strict=True)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        verdict = "" if goal is None else ("met" if cpu <= goal else "missed")
        goal_text = "" if goal is None else f"{goal:.1f}"
        table.add_row(label, f"{wall:.3f}", f"{cpu:.3f}", f"{min(cpus):.3f}", goal_text, verdict)
    Console().print(table)
    Console().print(phases(repeat))
    home.cleanup()
    load = os.getloadavg()[0]
    Console().print(f"load average {load:.1f} on {os.cpu_count()} CPUs while measuring")


if __name__ == "__main__":
    main()
