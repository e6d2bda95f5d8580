"""Batch planning: same bytes whatever runs it, bad households, lost workers, resume."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from poise.scale import (
    BatchRequest,
    DaskRunner,
    ProcessRunner,
    Runner,
    read_manifest,
    run_batch,
)
from tests.conftest import run_cli
from tests.scale.conftest import AS_OF


def _request(manifest: Path, prices: pd.DataFrame, out: Path, **options: Any) -> BatchRequest:
    return BatchRequest(
        manifest=read_manifest(manifest),
        prices=prices,
        out=out,
        as_of=pd.Timestamp(AS_OF).date(),
        prices_source="sp500",
        **options,
    )


def _records(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def test_serial_output_is_each_households_rebalance_json(book: Path, serial_output: bytes) -> None:
    records = _records(serial_output)
    entries = read_manifest(book).entries
    assert [r["household"] for r in records] == [e.household for e in entries]
    assert all(r["ok"] for r in records)
    triggered = sum(r["plan"]["triggered"] for r in records)
    assert 20 < triggered < 190  # a mix, so --only-triggered is tested on something
    for k in (0, 57, 199):  # the batch's plan is exactly `poise rebalance --json`
        entry = entries[k]
        cli = run_cli(
            [
                "rebalance",
                book.parent / entry.household,
                "--holdings",
                book.parent / entry.holdings,
                "--prices",
                "sp500",
                "--as-of",
                AS_OF,
                "--json",
            ]
        )
        assert cli.code == 0, cli.stderr
        expected = cli.json()
        expected["data_warnings"] = [
            w.replace(str(book.parent / entry.holdings), entry.holdings)
            for w in expected["data_warnings"]
        ]
        assert records[k]["plan"] == expected


def test_local_processes_give_the_same_bytes(
    book: Path, prices: pd.DataFrame, serial_output: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "plans.jsonl"
    runner = ProcessRunner(2)
    try:
        summary = run_batch(_request(book, prices, out, chunk_size=60), runner)
    finally:
        runner.close()
    assert out.read_bytes() == serial_output
    assert summary.households == summary.planned == summary.written == 200
    assert summary.errors == 0


def test_dask_cluster_gives_the_same_bytes(
    book: Path, prices: pd.DataFrame, serial_output: bytes, tmp_path: Path, dask_cluster: Any
) -> None:
    out = tmp_path / "plans.jsonl"
    runner = DaskRunner(dask_cluster.scheduler_address)
    try:
        run_batch(_request(book, prices, out, chunk_size=50), runner)
    finally:
        runner.close()
    assert out.read_bytes() == serial_output


def _kill_one_worker(pids: list[int]) -> Any:
    """A progress callback that SIGKILLs the first pid once the first chunk is in."""
    state = {"killed": False}

    def progress(done: int, total: int) -> None:
        if not state["killed"] and done < total:
            os.kill(pids[0], signal.SIGKILL)
            state["killed"] = True

    progress.state = state  # type: ignore[attr-defined]
    return progress


def test_a_killed_dask_worker_loses_nothing(
    small_book: Path, prices: pd.DataFrame, small_output: bytes, tmp_path: Path, dask_cluster: Any
) -> None:
    out = tmp_path / "plans.jsonl"
    runner = DaskRunner(dask_cluster.scheduler_address)
    try:
        pids = list(runner.client.run(os.getpid).values())
        progress = _kill_one_worker(pids)
        summary = run_batch(
            _request(small_book, prices, out, chunk_size=5), runner, progress=progress
        )
        runner.client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    finally:
        runner.close()
    assert progress.state["killed"]
    assert out.read_bytes() == small_output  # every household exactly once, in order
    assert summary.errors == 0


def test_a_killed_local_process_loses_nothing(
    small_book: Path, prices: pd.DataFrame, small_output: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "plans.jsonl"
    runner = ProcessRunner(2)
    pids: list[int] = []

    class Watch(Runner):
        workers = 2

        def share(self, value: Any) -> Any:
            return runner.share(value)

        def submit(self, fn: Any, *args: Any) -> Any:
            future = runner.submit(fn, *args)
            if not pids:
                pool = runner._executor
                pids.extend(pool._processes)  # type: ignore[union-attr]
            return future

        def recover(self) -> bool:
            return runner.recover()

    try:
        progress = _kill_one_worker(pids)
        summary = run_batch(
            _request(small_book, prices, out, chunk_size=5), Watch(), progress=progress
        )
    finally:
        runner.close()
    assert progress.state["killed"]
    assert out.read_bytes() == small_output
    assert summary.errors == 0


def test_only_triggered_writes_the_triggered_households(
    book: Path, prices: pd.DataFrame, serial_output: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "plans.jsonl"
    summary = run_batch(_request(book, prices, out, only_triggered=True, chunk_size=70))
    expected = [
        line
        for line in serial_output.decode().splitlines()
        if json.loads(line)["plan"]["triggered"]
    ]
    assert out.read_text().splitlines() == expected
    assert summary.triggered == summary.written == len(expected)


def test_resume_skips_households_already_written(
    small_book: Path, prices: pd.DataFrame, small_output: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "plans.jsonl"
    lines = small_output.decode().splitlines(keepends=True)
    out.write_text("".join(lines[:23]) + lines[23][:40])  # a crash cut the 24th line
    summary = run_batch(_request(small_book, prices, out, resume=True, chunk_size=10))
    assert out.read_bytes() == small_output
    assert summary.resumed == 23
    assert summary.planned == 17
    again = run_batch(_request(small_book, prices, out, resume=True))
    assert again.planned == 0
    assert out.read_bytes() == small_output


def test_resume_after_a_run_out_of_order_restores_manifest_order(
    small_book: Path, prices: pd.DataFrame, small_output: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "plans.jsonl"
    lines = small_output.decode().splitlines(keepends=True)
    out.write_text("".join(lines[30:36] + lines[3:5]))
    summary = run_batch(_request(small_book, prices, out, resume=True))
    assert summary.resumed == 8
    assert out.read_bytes() == small_output


def test_a_bad_household_in_the_middle_is_an_error_record(
    book: Path, prices: pd.DataFrame, tmp_path: Path
) -> None:
    """Manifest of 30 households; in the middle: a missing holdings file, a household whose
    holdings name an unknown account, and broken TOML."""
    folder = book.parent
    rows = (folder / "manifest.csv").read_text().splitlines()[:31]
    (tmp_path / "broken.toml").write_text("name = \n", encoding="utf-8")
    (tmp_path / "other.csv").write_text(
        "account,symbol,quantity,cost_basis,acquired\nnowhere,AAPL,1,10,2020-01-02\n"
    )
    (tmp_path / "ok.csv").write_text("account,symbol,quantity,cost_basis,acquired\n")
    rel = os.path.relpath(folder, tmp_path)
    good = [f"{rel}/{r.split(',')[0]},{rel}/{r.split(',')[1]}" for r in rows[1:]]
    manifest = tmp_path / "manifest.csv"
    first_household = good[10].split(",")[0]
    bad = [
        f"{rel}/hh/000011.toml,missing.csv",
        f"{first_household.replace('000010', '000012')},other.csv",
        "broken.toml,ok.csv",
    ]
    manifest.write_text("\n".join(["household,holdings", *good[:10], *bad, *good[13:]]) + "\n")
    out = tmp_path / "plans.jsonl"
    summary = run_batch(_request(manifest, prices, out, chunk_size=7))
    records = _records(out.read_bytes())
    assert len(records) == 30
    assert [r["ok"] for r in records] == [True] * 10 + [False] * 3 + [True] * 17
    assert "missing.csv: file not found" in records[10]["error"]
    assert "other.csv: line 2: unknown account 'nowhere'" in records[11]["error"]
    assert records[12]["error"].startswith("broken.toml: not valid TOML")
    assert summary.errors == 3


def test_files_that_cannot_be_read_are_error_records(
    book: Path, prices: pd.DataFrame, tmp_path: Path
) -> None:
    """A folder, a symbolic-link loop (the OS refuses to read it, even for root), a binary file
    and a file that is not UTF-8, each named in the manifest: that household's error record
    names the path as the manifest writes it, the problem and the manifest line."""
    folder = book.parent
    rows = (folder / "manifest.csv").read_text().splitlines()[1:7]
    rel = os.path.relpath(folder, tmp_path)
    good = [",".join(f"{rel}/{p}" for p in r.split(",")[:2]) for r in rows]
    (tmp_path / "a_folder.csv").mkdir()
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    (tmp_path / "binary.csv").write_bytes(b"account,symbol\x00\n")
    (tmp_path / "latin1.toml").write_bytes("name = 'Ren\xe9'\n".encode("latin-1"))
    hh = [r.split(",")[0] for r in good]
    bad = [
        f"{hh[1]},a_folder.csv",
        f"{hh[2]},loop.csv",
        f"{hh[3]},binary.csv",
        f"latin1.toml,{good[4].split(',')[1]}",
    ]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(["household,holdings", good[0], *bad, good[5]]) + "\n")
    out = tmp_path / "plans.jsonl"
    summary = run_batch(_request(manifest, prices, out, chunk_size=4))
    records = _records(out.read_bytes())
    assert [r["ok"] for r in records] == [True, False, False, False, False, True]
    errors = [r["error"] for r in records[1:5]]
    assert errors[0] == (
        "a_folder.csv: is a folder, not a file; give the path of the CSV file (manifest line 3)"
    )
    assert errors[1].startswith("loop.csv: cannot read the file (")
    assert errors[1].endswith("(manifest line 4)")
    assert errors[2].startswith("binary.csv: line 1: contains a NUL character")
    assert errors[3].startswith("latin1.toml: line 1: is not UTF-8 text (byte 0xe9)")
    assert all(str(tmp_path) not in e for e in errors)  # paths as the manifest writes them
    assert summary.errors == 4


# ----------------------------------------------------------------------------- command line


def test_cli_writes_plans_and_a_summary(
    small_book: Path, small_output: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "plans.jsonl"
    result = run_cli(
        ["batch", "rebalance", small_book, "--prices", "sp500", "--as-of", AS_OF, "--out", out]
    )
    assert result.code == 0, result.stderr
    assert out.read_bytes() == small_output
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("batch: 40 households, ")
    assert " 0 errors, " in summary
    assert summary.endswith("households per second")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "manifest not found"),
        ("household,lots\na.toml,a.csv\n", "header must be household,holdings"),
        ("household,holdings\na.toml\n", "line 2: has 1 fields, the header has 2"),
        ("household,holdings\na.toml,a.csv\na.toml,b.csv\n", "listed twice"),
    ],
)
def test_cli_bad_manifest_exits_2(tmp_path: Path, text: str | None, message: str) -> None:
    manifest = tmp_path / "manifest.csv"
    if text is not None:
        manifest.write_text(text)
    out = tmp_path / "plans.jsonl"
    result = run_cli(["batch", "rebalance", manifest, "--prices", "sp500", "--out", out])
    assert result.code == 2
    assert message in result.stderr
    assert str(manifest) in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_as_of_exits_2(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "plans.jsonl"
    result = run_cli(
        ["batch", "rebalance", book, "--prices", "sp500", "--as-of", "2022-06-04", "--out", out]
    )
    assert result.code == 2
    assert "--as-of: no prices on 2022-06-04" in result.stderr
