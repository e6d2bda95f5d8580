"""``poise batch rebalance --out`` that cannot be written (a folder, a missing folder) is bad
input: exit 2 naming ``--out`` before anything is planned, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("folder", "is a folder; give a file name"),
        ("missing/plans.jsonl", "does not exist; create it"),
    ],
)
def test_an_unwritable_out_exits_2(tmp_path: Path, out: str, words: str) -> None:
    shutil.copy(EXAMPLES / "household.toml", tmp_path / "a.toml")
    shutil.copy(EXAMPLES / "holdings.csv", tmp_path / "a.csv")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("household,holdings\na.toml,a.csv\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    result = run_cli(["batch", "rebalance", manifest, "--prices", "sp500", "--out", tmp_path / out])
    assert result.code == 2, result.stderr
    assert "--out: " in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_too_many_workers_exits_2(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("household,holdings\n", encoding="utf-8")
    result = run_cli(
        [
            "batch",
            "rebalance",
            manifest,
            "--prices",
            "sp500",
            "--out",
            tmp_path / "plans.jsonl",
            "--workers",
            "100000",
        ]
    )
    assert result.code == 2, result.stderr
    assert "--workers: must be at most 64" in result.stderr
