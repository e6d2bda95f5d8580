"""Atomic writes: a write killed half-way leaves no file behind after the next write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from poise.io import write_text_atomic

CHILD = """
import os, sys, time
os.fsync = lambda fd: time.sleep(60)  # hang after writing, before the rename
from poise.io import write_text_atomic
write_text_atomic(sys.argv[1], "partial report")
"""


def test_a_killed_write_is_cleaned_up_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)])
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".report.html.*.tmp")):
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert list(tmp_path.glob(".report.html.*.tmp")), "the killed write left its temp file"
    assert not target.exists()

    old = tmp_path / ".report.html.abc123.tmp"  # an older naming without a process id
    old.write_text("x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    recent = tmp_path / ".report.html.xyz789.tmp"
    recent.write_text("x")  # could be a live writer's: kept
    other = tmp_path / ".other.html.1.abc.tmp"
    other.write_text("x")  # another target's: not ours to touch

    write_text_atomic(target, "whole report")
    assert target.read_text() == "whole report"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([".other.html.1.abc.tmp", ".report.html.xyz789.tmp", "report.html"])


def test_a_live_writers_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "r.html"
    mine = tmp_path / f".r.html.{os.getpid()}.abcd.tmp"
    mine.write_text("in progress")
    write_text_atomic(target, "done")
    assert mine.exists()
