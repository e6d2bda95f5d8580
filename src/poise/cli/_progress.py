"""Rich progress bars for the engine's progress callbacks (``poise._progress``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from poise._progress import ProgressCallback

__all__ = ["progress_bars", "show_progress"]


def show_progress() -> bool:
    """Progress bars only where someone watches (stderr is a terminal)."""
    return sys.stderr.isatty()


@contextmanager
def progress_bars(enabled: bool | None = None) -> Iterator[ProgressCallback | None]:
    """A callback drawing one transient rich bar per label on stderr (None when disabled;
    by default enabled when stderr is a terminal). The bars are removed on exit."""
    if not (show_progress() if enabled is None else enabled):
        yield None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(escape(label), total=total)
        bars.update(tasks[label], completed=done, total=total)

    with bars:
        yield update
