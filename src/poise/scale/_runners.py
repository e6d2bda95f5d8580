"""Where chunks run: in this process, in local processes (loky), or on a Dask cluster.

A runner wraps a ``concurrent.futures.Executor`` and knows how to ship the day's prices to
its workers once (:meth:`Runner.share`): by value for a plain executor, through the
processes' initializer for loky, scattered to every worker for Dask. Tasks receive the
returned reference and :func:`resolve` turns it back into the shared object.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DaskRunner",
    "ExecutorRunner",
    "ProcessRunner",
    "Runner",
    "SerialExecutor",
    "resolve",
]

_INSTALLED: dict[int, Any] = {}  # in a loky worker: objects its initializer received
_KEYS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _Installed:
    """Reference to an object every local worker process received at start."""

    key: int


def _install(key: int, value: Any) -> None:
    _INSTALLED[key] = value


def resolve(ref: Any) -> Any:
    """The object a task's reference stands for (run in the worker)."""
    if isinstance(ref, _Installed):
        return _INSTALLED[ref.key]
    return ref


class SerialExecutor(Executor):
    """Runs each task at once, in this process (the reference for every other runner)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class Runner:
    """An executor plus the way its workers receive shared data.

    Attributes
    ----------
    workers : int
        How many tasks it runs at once (sets how many chunks are kept in flight).
    """

    workers: int = 1

    def share(self, value: Any) -> Any:
        """Ship ``value`` to every worker once; returns what tasks receive instead of it."""
        return value

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        raise NotImplementedError

    def recover(self) -> bool:
        """Called after a task failed for a reason other than its own code (a lost worker).

        Returns True when the workers were replaced, so that every unfinished task must be
        sent again.
        """
        return False

    def close(self) -> None:
        """Release the workers."""


class ExecutorRunner(Runner):
    """Any ``concurrent.futures.Executor``; shared data travels with each task."""

    def __init__(self, executor: Executor | None = None, workers: int = 1) -> None:
        self.executor = executor if executor is not None else SerialExecutor()
        self.workers = workers

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.executor.submit(fn, *args)


class ProcessRunner(Runner):
    """``workers`` local processes (joblib's loky); shared data reaches each process once,
    through its initializer. A process that dies breaks the pool: :meth:`recover` starts a
    new one and the lost chunks are sent again."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._init: tuple[Any, ...] = ()
        self._executor: Executor | None = None

    def share(self, value: Any) -> Any:
        """New processes start with ``value`` (a pool already running is closed first)."""
        key = next(_KEYS) + os.getpid() * 1000
        self._init = (*self._init, (key, value))
        self.close()
        return _Installed(key)

    def _pool(self) -> Executor:
        if self._executor is None:
            from joblib.externals.loky import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, initializer=_install_all, initargs=(self._init,)
            )
        return self._executor

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._pool().submit(fn, *args)

    def recover(self) -> bool:
        if self._executor is not None:
            self._executor.shutdown(wait=False, kill_workers=True)  # type: ignore[call-arg]
        self._executor = None
        return True

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._executor = None


def _install_all(items: tuple[tuple[int, Any], ...]) -> None:
    for key, value in items:
        _install(key, value)


class DaskRunner(Runner):
    """A Dask distributed cluster: the client's ``concurrent.futures`` executor; shared data
    is scattered to every worker (``broadcast``). The scheduler moves the tasks of a worker
    that dies to the others; a task is given ``retries`` more tries if it fails anyway.

    Parameters
    ----------
    address : str or Client
        ``tcp://HOST:PORT`` of a running scheduler, or a ``distributed.Client``.
    retries : int
        Extra tries of a failed task.
    """

    def __init__(self, address: Any, retries: int = 2) -> None:
        from distributed import Client

        self._own = not isinstance(address, Client)
        self.client = Client(address) if self._own else address
        self.executor = self.client.get_executor(pure=False, retries=retries)
        info = self.client.scheduler_info()
        threads = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
        self.workers = max(1, threads)

    def share(self, value: Any) -> Any:
        return self.client.scatter(value, broadcast=True, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.executor.submit(fn, *args)

    def close(self) -> None:
        if self._own:
            self.client.close()
