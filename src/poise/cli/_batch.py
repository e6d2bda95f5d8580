"""``poise batch rebalance``: plan a whole book of households, one JSON line each."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from poise._errors import InputError
from poise.cli._app import app, err_console, parse_date_option
from poise.cli._options import DATABASE_URL

if TYPE_CHECKING:
    from poise.scale import BatchSummary, Runner

__all__ = ["batch_rebalance"]

batch_app = typer.Typer(
    help="Many households at once: plan a whole book from a manifest.", no_args_is_help=True
)
app.add_typer(batch_app, name="batch")


_MAX_WORKERS = 64
"""The most local processes ``--workers`` starts (as ``poise serve --workers``)."""


def _runner(workers: int | None, scheduler: str | None) -> Runner:
    from poise.scale import DaskRunner, ExecutorRunner, ProcessRunner

    if workers is not None and scheduler is not None:
        raise InputError("give --workers or --scheduler, not both", field="--scheduler")
    if workers is not None:
        if workers < 1:
            raise InputError(f"must be at least 1, got {workers}", field="--workers")
        if workers > _MAX_WORKERS:  # each is a process: more only thrash (or hang) one machine
            raise InputError(
                f"must be at most {_MAX_WORKERS}, got {workers}; for more, run a Dask cluster "
                "and give --scheduler",
                field="--workers",
            )
        return ProcessRunner(workers)
    if scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InputError('needs Dask: pip install "poise[dask]"', field="--scheduler") from None
        try:
            return DaskRunner(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                f"cannot reach the Dask scheduler {scheduler!r} ({exc}); give its "
                "tcp://HOST:PORT address",
                field="--scheduler",
            ) from None
    return ExecutorRunner()


@batch_app.command("rebalance")
def batch_rebalance(
    manifest: Path | None = typer.Argument(
        None,
        help="Manifest CSV: household,holdings[,transactions] (paths relative to it); "
        "or plan a firm's households from the store with --firm.",
    ),
    prices: str | None = typer.Option(
        None,
        "--prices",
        help="Prices CSV or a bundled data set (sp500); with --firm a stored price set or "
        "bundled data set (default: each household's own, else the firm's).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output: one JSON line per household (with --firm: optional)."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Decision day (default: last date)."),
    workers: int | None = typer.Option(
        None, "--workers", help="Plan in N local processes (default: in this process)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Plan on a running Dask cluster: tcp://HOST:PORT."
    ),
    only_triggered: bool = typer.Option(
        False, "--only-triggered", help="Write only households whose policy triggers today."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Keep the households already in --out; plan the rest."
    ),
    chunk_size: int = typer.Option(100, "--chunk-size", help="Households per task (50-200)."),
    firm: str | None = typer.Option(
        None,
        "--firm",
        help="Plan every household of this firm from the store and save the plans as proposed.",
    ),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Plan every household of MANIFEST (or of a firm in the store) on one day; one bad
    household never stops the batch.

    Each line of --out is {"household", "ok": true, "plan": the poise rebalance --json object}
    or {"household", "ok": false, "error"}, in manifest order, identical whatever runs it.
    With --firm the households come from the store, "household" is its id, and each plan is
    saved as proposed (as POST /households/{id}/plans does) and its "plan_id" written.
    Planning never sends an order. A summary goes to stderr.
    """
    if chunk_size < 1:
        raise InputError(f"must be at least 1, got {chunk_size}", field="--chunk-size")
    day = parse_date_option(as_of, "--as-of")
    if firm is not None:
        if manifest is not None:
            raise InputError("give a MANIFEST or --firm, not both", field="--firm")
        if resume:
            raise InputError(
                "--resume reads a manifest's output; with --firm every run saves new plans",
                field="--resume",
            )
        _book(firm, database_url, prices, out, day, workers, scheduler, only_triggered, chunk_size)
        return
    if manifest is None:
        raise InputError(
            "give a MANIFEST CSV, or --firm NAME to plan from the store", field="MANIFEST"
        )
    if prices is None:
        raise InputError("give the prices: a CSV or a bundled data set (sp500)", field="--prices")
    if out is None:
        raise InputError("give the output file: --out PLANS.jsonl", field="--out")
    _check_out(out)
    from poise.io import read_prices
    from poise.scale import BatchRequest, read_manifest, run_batch

    book = read_manifest(manifest)
    table = read_prices(prices)
    request = BatchRequest(
        manifest=book,
        prices=table,
        out=out,
        as_of=day,
        prices_source=str(prices),
        only_triggered=only_triggered,
        resume=resume,
        chunk_size=chunk_size,
    )
    runner = _runner(workers, scheduler)
    try:
        with _bar() as progress:
            try:
                summary = run_batch(request, runner, progress=progress)
            except InputError as exc:
                raise exc.renamed({"as_of": "--as-of"}) from None
    finally:
        runner.close()
    _print_summary(summary)


def _check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot be written before any household is planned."""
    if out.is_dir():
        raise InputError(
            f"{str(out)!r} is a folder; give a file name such as plans.jsonl", field="--out"
        )
    if not out.parent.is_dir():
        raise InputError(
            f"folder {str(out.parent)!r} does not exist; create it or choose another path",
            field="--out",
        )


@contextmanager
def _bar() -> Iterator[Callable[[int, int], None]]:
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task("planning", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _print_summary(summary: BatchSummary) -> None:
    err_console.print(
        f"batch: {summary.households} households, {summary.triggered} triggered, "
        f"{summary.errors} errors, {summary.seconds:.2f} s, "
        f"{summary.households_per_second:,.1f} households per second"
        + (f" ({summary.resumed} resumed)" if summary.resumed else ""),
        soft_wrap=True,
    )


@contextmanager
def _sink(out: Path | None) -> Iterator[TextIO]:
    """``out`` opened for writing (each line flushed as its chunk is saved), else stdout."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        handle = open(out, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot write the file ({exc.strerror or exc})", field="--out") from None
    with handle:
        yield handle


def _book(
    firm: str,
    database_url: str | None,
    prices: str | None,
    out: Path | None,
    day: date | None,
    workers: int | None,
    scheduler: str | None,
    only_triggered: bool,
    chunk_size: int,
) -> None:
    """``--firm``: plan the firm's households from the store, save the plans as proposed."""
    try:
        from poise.store import open_store
    except ImportError:
        raise InputError('needs the store: pip install "poise[service]"', field="--firm") from None
    from poise.scale import BookRequest, firm_id, plan_book

    if out is not None:
        _check_out(out)
    engine = open_store(database_url)
    try:
        try:
            request = BookRequest(
                firm_id=firm_id(engine, firm),
                prices=prices,
                as_of=day,
                only_triggered=only_triggered,
                chunk_size=chunk_size,
            )
        except InputError as exc:
            raise exc.renamed({"firm": "--firm"}) from None
        runner = _runner(workers, scheduler)
        try:
            with _bar() as progress, _sink(out) as sink:
                try:
                    result = plan_book(engine, request, runner, sink=sink, progress=progress)
                except InputError as exc:
                    raise exc.renamed({"as_of": "--as-of", "prices": "--prices"}) from None
        finally:
            runner.close()
    finally:
        engine.dispose()
    _print_summary(result.summary)
    err_console.print(f"batch: {len(result.plan_ids)} plans saved as proposed", soft_wrap=True)
