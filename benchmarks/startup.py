"""Start-up time of the command line, beside two anchors measured in the same run.

Goals (issue 9): ``poise --help`` and ``poise --version`` ≤ 0.3 s, ``poise rebalance`` on the
example household (``examples/``, bundled ``sp500`` prices) ≤ 0.8 s wall. Anchors:
``python -c pass`` (the interpreter alone) and ``python -c "import pandas"`` (what any command
that reads prices pays at least). Each command runs in a fresh process, ``--repeat`` times
(default 7); the table shows the median wall time and the median CPU time (user + system of
the child process). On a busy machine the wall times grow with the load; the CPU times and
the distance to the anchors say more. Run: ``python benchmarks/startup.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
POISE = [sys.executable, "-m", "poise"]

CASES: list[tuple[str, list[str], float | None]] = [
    ("python -c pass (anchor)", [sys.executable, "-c", "pass"], None),
    ('python -c "import pandas" (anchor)', [sys.executable, "-c", "import pandas"], None),
    ("poise --version", [*POISE, "--version"], 0.3),
    ("poise --help", [*POISE, "--help"], 0.3),
    (
        "poise rebalance (example, sp500)",
        [
            *POISE,
            "rebalance",
            str(EXAMPLES / "household.toml"),
            "--holdings",
            str(EXAMPLES / "holdings.csv"),
            "--prices",
            "sp500",
        ],
        0.8,
    ),
]


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    table = Table(title=f"poise start-up (median of {repeat} fresh processes)")
    for col in ("command", "wall s", "cpu s", "goal s", "verdict (cpu)"):
        table.add_column(col, justify="left" if col == "command" else "right")
    for label, command, goal in CASES:
        run_once(command)  # warm the file cache
        walls, cpus = zip(*(run_once(command) for _ in range(repeat)), strict=True)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        verdict = "" if goal is None else ("met" if cpu <= goal else "missed")
        goal_text = "" if goal is None else f"{goal:.1f}"
        table.add_row(label, f"{wall:.3f}", f"{cpu:.3f}", goal_text, verdict)
    Console().print(table)
    load = os.getloadavg()[0]
    Console().print(f"load average {load:.1f} on {os.cpu_count()} CPUs while measuring")


if __name__ == "__main__":
    main()
