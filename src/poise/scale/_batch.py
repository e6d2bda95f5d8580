"""Plan many households: a manifest in, one JSON line per household out, in manifest order.

Each household's plan is exactly what ``poise rebalance --json`` prints: the batch calls the
one rebalance use case (:func:`poise.app.rebalance`) and the one JSON home
(:func:`poise.report.rebalance_to_dict`). Planning never sends an order.

How the work runs. The households are cut into chunks (``chunk_size``, 50–200 a task); this
process reads each chunk's files and ships their text (households travel by value, so
workers need no shared disk); the day's prices travel once per worker (:class:`Runner`).
A worker parses, optionally screens (:func:`poise.scale.screen`: with ``only_triggered``
only the households the screen flags are planned, and only those whose plan triggers are
written) and plans its chunk with one BLAS thread. Results are written as soon as every
earlier chunk is written, so the output is always a prefix of the final file in manifest
order, identical byte for byte whatever runs it.

Failures. A bad household (unreadable file, bad input, a planning error) is an error record
``{"household", "ok": false, "error"}``; the batch goes on. A chunk lost with its worker is
sent again (a Dask cluster does so by itself); one that fails again is split into single
households, and a household that still fails after ``retries`` tries becomes an error record.
Each household is written exactly once. ``resume`` keeps the records already in the output
and plans only the other households.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from poise._errors import InputError, PoiseError
from poise.scale._manifest import Manifest, ManifestEntry
from poise.scale._runners import ExecutorRunner, Runner, resolve

__all__ = [
    "BatchRequest",
    "BatchSummary",
    "DayPrices",
    "HouseholdFiles",
    "Progress",
    "StoredHousehold",
    "day_prices",
    "plan_chunk",
    "run_batch",
]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: households finished so far (this run) out of those to do."""


@dataclass(frozen=True, slots=True)
class DayPrices:
    """The day's price table (rows up to and including ``as_of``) and the same prices
    prepared for planning (:class:`poise.app.PriceDay`: closes, history array, quality check
    done once), shipped once per worker."""

    prices: pd.DataFrame
    as_of: date
    source: str
    prepared: Any = None  # PriceDay; made from ``prices`` when None

    def price_day(self) -> Any:
        """The prepared prices (made here when the sender did not prepare them)."""
        if self.prepared is not None:
            return self.prepared
        from poise.app import PriceDay

        return PriceDay(self.prices, self.as_of, source=self.source)


@dataclass(frozen=True, slots=True)
class HouseholdFiles:
    """One household by value: the manifest's paths and the files' text (``None`` with
    ``error`` set when a file could not be read)."""

    index: int
    household: str
    holdings: str
    transactions: str | None
    household_text: str | None = None
    holdings_text: str | None = None
    transactions_text: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHousehold:
    """One stored household by value (``poise batch rebalance --firm``): its id, parsed model,
    latest holdings and recorded transactions, and the name of the price table it is planned
    with (a key of the shared day prices). ``error`` is set when it cannot be planned."""

    index: int
    household: str
    model: Any = None  # Household
    holdings: Any = None  # Holdings
    transactions: tuple[Any, ...] | None = None
    prices: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRequest:
    """A batch run.

    Parameters
    ----------
    manifest : Manifest
        The households, in output order.
    prices : DataFrame
        Adjusted closes (DatetimeIndex, one column per symbol).
    out : Path
        The JSON-lines output.
    as_of : date, optional
        Decision day; the last day of ``prices`` when omitted.
    prices_source : str
        Name of the prices, used in messages.
    only_triggered : bool
        Write only households whose policy triggers (and those that fail).
    resume : bool
        Keep the records already in ``out`` and plan only the others.
    chunk_size : int
        Households per task.
    retries : int
        Tries of a household lost with its worker before it is an error record.
    """

    manifest: Manifest
    prices: pd.DataFrame
    out: Path
    as_of: date | None = None
    prices_source: str = "prices"
    only_triggered: bool = False
    resume: bool = False
    chunk_size: int = 100
    retries: int = 3


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What a batch did; ``households`` counts the whole manifest."""

    households: int
    planned: int
    resumed: int
    written: int
    triggered: int
    errors: int
    seconds: float

    @property
    def households_per_second(self) -> float:
        return self.planned / self.seconds if self.seconds > 0 else float("inf")

    def describe(self) -> str:
        return (
            f"{self.households} households ({self.planned} planned, {self.resumed} resumed), "
            f"{self.triggered} triggered, {self.errors} errors, {self.seconds:.2f} s, "
            f"{self.households_per_second:,.1f} households/s"
        )


@dataclass(frozen=True, slots=True)
class _Record:
    index: int
    line: str | None  # None: not written (only-triggered, not triggered)
    triggered: bool
    ok: bool
    plan: dict[str, Any] | None = None  # kept for the store: the plan's JSON object
    legs: tuple[tuple[str, str, str, float, float, float], ...] = ()  # and its trades


# ----------------------------------------------------------------------------- worker side


def plan_chunk(
    day_ref: Any,
    chunk: Sequence[HouseholdFiles | StoredHousehold],
    only_triggered: bool,
    keep: bool = False,
) -> list[_Record]:
    """Plan one chunk of households (runs in a worker; never raises for a bad household).

    ``day_ref`` stands for a :class:`DayPrices`, or a mapping of price-table names to them
    (a :class:`StoredHousehold` names its table); ``keep`` returns each plan's object and
    trades with its record (for saving them)."""
    from threadpoolctl import threadpool_limits

    shared = resolve(day_ref)
    days: Mapping[str, DayPrices] = {"": shared} if isinstance(shared, DayPrices) else shared
    with threadpool_limits(1):
        parsed: list[tuple[HouseholdFiles | StoredHousehold, Any]] = []
        records: dict[int, _Record] = {}
        for item in chunk:
            try:
                parsed.append((item, _parse(item)))
            except Exception as exc:
                records[item.index] = _error(item, exc)
        plan_these = _screened(days, parsed) if only_triggered else None
        for k, (item, inputs) in enumerate(parsed):
            if plan_these is not None and not plan_these[k]:
                records[item.index] = _Record(item.index, None, False, True)
                continue
            day = days[_prices_key(item)]
            records[item.index] = _plan_one(day, item, inputs, only_triggered, keep)
    return [records[item.index] for item in chunk]


def _prices_key(item: HouseholdFiles | StoredHousehold) -> str:
    return item.prices if isinstance(item, StoredHousehold) else ""


def _parse(files: HouseholdFiles | StoredHousehold) -> tuple[Any, Any, Any]:
    if isinstance(files, StoredHousehold):
        if files.error is not None:
            raise InputError(files.error)
        return files.model, files.holdings, files.transactions
    from poise.io import (
        holdings_from_text,
        read_holdings,
        read_household,
        read_transactions,
        transactions_from_text,
    )

    if files.error is not None:
        raise InputError(files.error)
    hh = read_household(files.household, text=files.household_text)
    if files.holdings_text is None:
        lots = read_holdings(files.holdings, hh)
    else:
        lots = holdings_from_text(files.holdings_text, hh, source=str(files.holdings))
    txs = None
    if files.transactions is not None:
        if files.transactions_text is None:
            txs = read_transactions(files.transactions, hh)
        else:
            txs = transactions_from_text(
                files.transactions_text, hh, source=str(files.transactions)
            )
    return hh, lots, txs


def _screened(
    days: Mapping[str, DayPrices], parsed: Sequence[tuple[HouseholdFiles | StoredHousehold, Any]]
) -> np.ndarray:
    """Which parsed households the screen says to plan (all of them if it cannot screen),
    screened per price table."""
    from poise.scale._screen import book_of, screen

    keys = [_prices_key(item) for item, _ in parsed]
    out = np.ones(len(parsed), dtype=bool)
    for key in dict.fromkeys(keys):
        rows = [k for k, kk in enumerate(keys) if kk == key]
        day = days[key]
        try:
            book, closes = book_of(
                [(parsed[k][1][0], parsed[k][1][1]) for k in rows], day.prices, day.as_of
            )
            out[rows] = screen(book, closes).to_plan
        except Exception:  # e.g. a target model that cannot be fitted: the plan will say why
            continue
    return out


def _plan_one(
    day: DayPrices,
    files: HouseholdFiles | StoredHousehold,
    inputs: tuple[Any, Any, Any],
    only_triggered: bool,
    keep: bool = False,
) -> _Record:
    from poise.app import RebalanceRequest, rebalance
    from poise.report import rebalance_to_dict

    hh, lots, txs = inputs
    stored = isinstance(files, StoredHousehold)
    try:
        result = rebalance(
            RebalanceRequest(
                household=hh,
                holdings=lots,
                prices=day.price_day(),
                as_of=day.as_of,
                transactions=txs,
                prices_source=day.source,
                holdings_source="holdings" if stored else files.holdings,
            )
        )
        plan = rebalance_to_dict(result)
        line = _dumps({"household": files.household, "ok": True, "plan": plan})
    except Exception as exc:
        return _error(files, exc)
    triggered = bool(plan["triggered"])
    if only_triggered and not triggered:
        return _Record(files.index, None, False, True)
    if not keep:
        return _Record(files.index, line, triggered, True)
    legs = tuple(
        (t.account, t.symbol, t.side.value, t.quantity, t.price, t.value)
        for t in result.plan.trades
    )
    return _Record(files.index, line, triggered, True, plan, legs)


def _error(files: HouseholdFiles | StoredHousehold, exc: BaseException) -> _Record:
    if isinstance(exc, PoiseError):
        message = str(exc)
    else:
        message = f"internal failure: {type(exc).__name__}: {exc}"
    line = _dumps({"household": files.household, "ok": False, "error": message})
    return _Record(files.index, line, False, False)


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=False, ensure_ascii=False)


# ----------------------------------------------------------------------------- driver side


def run_batch(
    request: BatchRequest, runner: Runner | None = None, *, progress: Progress | None = None
) -> BatchSummary:
    """Plan every household of ``request.manifest`` and write ``request.out``.

    Parameters
    ----------
    request : BatchRequest
    runner : Runner, optional
        Where chunks run; in this process when omitted.
    progress : callable, optional
        ``progress(done, total)`` after each chunk.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        The decision day is not in the prices (``field`` ``as_of``) or ``out`` holds lines
        that are not batch records (with ``resume``). A bad household never raises.
    """
    started = time.perf_counter()
    runner = runner if runner is not None else ExecutorRunner()
    day = _day(request)
    entries = request.manifest.entries
    order = {e.household: i for i, e in enumerate(entries)}
    kept = _resumed(request.out, order) if request.resume else {}
    todo = [(i, e) for i, e in enumerate(entries) if e.household not in kept]
    if not request.resume or not request.out.exists():
        request.out.write_text("", encoding="utf-8")
    totals = _Totals(triggered=sum(t for _, t, _ in kept.values()))
    totals.errors = sum(not ok for _, _, ok in kept.values())
    chunks = [todo[k : k + request.chunk_size] for k in range(0, len(todo), request.chunk_size)]
    job = _Job(
        lambda chunk: [_files(request.manifest, i, e) for i, e in chunk],
        request.only_triggered,
        request.retries,
    )
    with open(request.out, "a", encoding="utf-8") as sink:
        writer = _OrderedWriter(sink, len(chunks), totals)
        done = 0
        for index, records in _run_chunks(runner, day, job, chunks):
            writer.add(index, records)
            done += len(records)
            if progress is not None:
                progress(done, len(todo))
        sink.flush()
        os.fsync(sink.fileno())
    if kept:
        _restore_order(request.out, order)
    return BatchSummary(
        households=len(entries),
        planned=len(todo),
        resumed=len(kept),
        written=len(kept) + totals.written,
        triggered=totals.triggered,
        errors=totals.errors,
        seconds=time.perf_counter() - started,
    )


def _day(request: BatchRequest) -> DayPrices:
    return day_prices(request.prices, request.as_of, request.prices_source)


def day_prices(table: pd.DataFrame, as_of: date | None, source: str) -> DayPrices:
    """The rows of ``table`` up to ``as_of`` (its last day when None).

    Raises
    ------
    InputError
        ``as_of`` is not a day of ``table`` (``field`` ``as_of``, ``source`` as given).
    """
    if as_of is None:
        on = table.index[-1].date()
    else:
        on = as_of
        if pd.Timestamp(on) not in table.index:
            first, last = table.index[0].date(), table.index[-1].date()
            raise InputError(
                f"no prices on {on} (the prices cover {first} to {last}); pick a trading day",
                source=source,
                field="as_of",
            )
    from poise.app import PriceDay

    history = table.loc[: pd.Timestamp(on)]
    return DayPrices(history, on, source, PriceDay(history, on, source=source))


@dataclass
class _Totals:
    triggered: int = 0
    errors: int = 0
    written: int = 0


class _OrderedWriter:
    """Writes chunks' records in chunk order as soon as every earlier chunk is in; ``finish``
    (saving plans) sees each chunk's records first, in that order, and may replace them."""

    def __init__(
        self,
        sink: Any,
        chunks: int,
        totals: _Totals,
        finish: Callable[[list[_Record]], list[_Record]] | None = None,
    ) -> None:
        self._sink, self._next, self._totals = sink, 0, totals
        self._finish = finish
        self._waiting: dict[int, list[_Record]] = {}

    def add(self, index: int, records: list[_Record]) -> None:
        self._waiting[index] = records
        while self._next in self._waiting:
            ready = self._waiting.pop(self._next)
            if self._finish is not None:
                ready = self._finish(ready)
            for record in ready:
                if record.line is None:
                    continue
                self._sink.write(record.line + "\n")
                self._totals.written += 1
                self._totals.triggered += record.triggered
                self._totals.errors += not record.ok
            self._sink.flush()
            self._next += 1


def _files(manifest: Manifest, index: int, entry: ManifestEntry) -> HouseholdFiles:
    """Read one household's files here, to ship their text. A file that cannot be read (missing,
    a folder, unreadable, a spreadsheet, not UTF-8) makes the household an error record naming
    the path as the manifest writes it and the manifest line."""
    from poise.io._text import read_text_file

    texts: list[str | None] = []
    for rel, what in (
        (entry.household, "TOML"),
        (entry.holdings, "CSV"),
        (entry.transactions, "CSV"),
    ):
        if rel is None:
            texts.append(None)
            continue
        try:
            texts.append(read_text_file(manifest.path(rel), what))
        except InputError as exc:
            where = f"{exc.field}: " if exc.field else ""
            message = f"{rel}: {where}{exc.message} (manifest line {entry.line})"
            return HouseholdFiles(
                index, entry.household, entry.holdings, entry.transactions, error=message
            )
    return HouseholdFiles(
        index, entry.household, entry.holdings, entry.transactions, texts[0], texts[1], texts[2]
    )


@dataclass(frozen=True, slots=True)
class _Job:
    """How to run chunks: ``load`` turns a chunk's (index, entry) pairs into the households
    shipped to a worker (here, in this process)."""

    load: Callable[[Sequence[tuple[int, Any]]], list[HouseholdFiles | StoredHousehold]]
    only_triggered: bool
    retries: int
    keep: bool = False


_Item = HouseholdFiles | StoredHousehold


def _run_chunks(
    runner: Runner,
    day: Any,
    job: _Job,
    chunks: Sequence[Sequence[tuple[int, Any]]],
) -> Iterator[tuple[int, list[_Record]]]:
    """Yield (chunk number, its records) as chunks finish; at most a few chunks per worker
    are in flight, so memory stays bounded whatever the manifest's size."""
    if not chunks:
        return
    day_ref = runner.share(day)
    in_flight: dict[Future[Any], tuple[int, list[_Item], int]] = {}
    pending = iter(enumerate(chunks))
    limit = max(2, 3 * runner.workers)
    split: dict[int, list[list[_Record] | None]] = {}  # chunk -> its singletons' records

    def submit(number: int, files: list[_Item], tries: int) -> None:
        args = (day_ref, files, job.only_triggered, job.keep)
        try:
            future = runner.submit(plan_chunk, *args)
        except Exception:  # the pool broke since the last chunk: start a new one
            runner.recover()
            future = runner.submit(plan_chunk, *args)
        in_flight[future] = (number, files, tries)

    def fill() -> None:
        while len(in_flight) < limit:
            nxt = next(pending, None)
            if nxt is None:
                return
            number, chunk = nxt
            submit(number, job.load(chunk), 0)

    def settle(number: int, files: list[_Item], records: list[_Record]) -> bool:
        """Record a finished task; True when its whole chunk is in (singletons gathered)."""
        if number not in split:
            finished_chunks[number] = records
            return True
        parts = split[number]
        parts[[i for i, _ in chunks[number]].index(files[0].index)] = records
        if any(p is None for p in parts):
            return False
        finished_chunks[number] = [r for p in parts if p is not None for r in p]
        del split[number]
        return True

    finished_chunks: dict[int, list[_Record]] = {}
    try:
        fill()
        while in_flight:
            finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            again: list[tuple[int, list[_Item], int]] = []
            for future in finished:
                number, files, tries = in_flight.pop(future)
                try:
                    records = future.result()
                except Exception as exc:
                    if tries + 1 < job.retries:
                        again.append((number, files, tries + 1))
                        continue
                    records = [_error(f, _lost(exc)) for f in files]
                if settle(number, files, records):
                    yield number, finished_chunks.pop(number)
            if again:
                if runner.recover():
                    _resubmit_broken(in_flight, submit)
                for number, files, tries in again:
                    if len(files) > 1 and tries >= 2:  # failed twice: one household a task
                        split[number] = [None] * len(files)
                        for f in files:
                            submit(number, [f], tries)
                    else:
                        submit(number, files, tries)
            fill()
    finally:
        for future in in_flight:
            future.cancel()


def _resubmit_broken(
    in_flight: dict[Future[Any], tuple[int, list[_Item], int]],
    submit: Callable[[int, list[_Item], int], None],
) -> None:
    """After the pool was rebuilt, send again the tasks that have not finished well (those of
    a broken pool fail without being at fault: their tries are not counted)."""
    for future, (number, files, tries) in list(in_flight.items()):
        if future.done() and future.exception() is None:
            continue
        future.cancel()
        del in_flight[future]
        submit(number, files, tries)


def _lost(exc: BaseException) -> PoiseError:
    return PoiseError(f"the worker planning this household failed ({type(exc).__name__}: {exc})")


def _resumed(out: Path, order: dict[str, int]) -> dict[str, tuple[str, bool, bool]]:
    """Records already in ``out``: household -> (line, triggered, ok). A last line cut off by
    a crash is dropped from the file."""
    if not out.exists():
        return {}
    data = out.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut < len(data):
        with open(out, "r+b") as handle:
            handle.truncate(cut)
    kept: dict[str, tuple[str, bool, bool]] = {}
    for n, raw in enumerate(data[:cut].decode("utf-8").splitlines(), start=1):
        try:
            record = json.loads(raw)
            household = record["household"]
            ok = bool(record["ok"])
            triggered = bool(record["plan"]["triggered"]) if ok else False
        except (ValueError, KeyError, TypeError):
            raise InputError(
                "is not a batch record; remove the line or write to another output",
                source=str(out),
                field=f"line {n}",
            ) from None
        if household in order:
            kept[household] = (raw, triggered, ok)
    return kept


def _restore_order(out: Path, order: dict[str, int]) -> None:
    """Rewrite ``out`` in manifest order if a resumed run appended out of it (atomically)."""
    from poise.io import write_text_atomic

    lines = out.read_text(encoding="utf-8").splitlines()
    keys = [order.get(json.loads(line)["household"], len(order)) for line in lines]
    if keys == sorted(keys):
        return
    ranked = sorted(zip(keys, range(len(lines)), lines, strict=True))
    write_text_atomic(out, "".join(line + "\n" for _, _, line in ranked))
