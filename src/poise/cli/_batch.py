"""``poise batch rebalance``: plan a whole book of households, one JSON line each."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from poise._errors import InputError
from poise.cli._app import app, err_console, parse_date_option

if TYPE_CHECKING:
    from poise.scale import Runner

__all__ = ["batch_rebalance"]

batch_app = typer.Typer(
    help="Many households at once: plan a whole book from a manifest.", no_args_is_help=True
)
app.add_typer(batch_app, name="batch")


def _runner(workers: int | None, scheduler: str | None) -> Runner:
    from poise.scale import DaskRunner, ExecutorRunner, ProcessRunner

    if workers is not None and scheduler is not None:
        raise InputError("give --workers or --scheduler, not both", field="--scheduler")
    if workers is not None:
        if workers < 1:
            raise InputError(f"must be at least 1, got {workers}", field="--workers")
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
    manifest: Path = typer.Argument(
        ..., help="Manifest CSV: household,holdings[,transactions] (paths relative to it)."
    ),
    prices: str = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500)."),
    out: Path = typer.Option(..., "--out", help="Output: one JSON line per household."),
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
) -> None:
    """Plan every household of MANIFEST on one day; one bad household never stops the batch.

    Each line of --out is {"household", "ok": true, "plan": the poise rebalance --json object}
    or {"household", "ok": false, "error"}, in manifest order, identical whatever runs it.
    Planning never sends an order. A summary goes to stderr.
    """
    from poise.io import read_prices
    from poise.scale import BatchRequest, read_manifest, run_batch

    if chunk_size < 1:
        raise InputError(f"must be at least 1, got {chunk_size}", field="--chunk-size")
    book = read_manifest(manifest)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
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
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    try:
        with bar:
            task = bar.add_task("planning", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                summary = run_batch(request, runner, progress=progress)
            except InputError as exc:
                raise exc.renamed({"as_of": "--as-of"}) from None
    finally:
        runner.close()
    err_console.print(
        f"batch: {summary.households} households, {summary.triggered} triggered, "
        f"{summary.errors} errors, {summary.seconds:.2f} s, "
        f"{summary.households_per_second:,.1f} households per second"
        + (f" ({summary.resumed} resumed)" if summary.resumed else ""),
        soft_wrap=True,
    )
