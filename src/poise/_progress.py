"""Progress reporting: the engine calls a callback; doors draw it (rich bars live in ``cli/``).

A long computation (a backtest, a Monte Carlo) calls ``progress(label, done, total)`` from time
to time (at most a few hundred times) and once more with ``done == total`` when it ends. The
engine never draws anything itself, so the same run works in a terminal, a web request or a
batch worker.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ProgressCallback", "Throttled"]


class ProgressCallback(Protocol):
    """Told how far a long computation has come: ``done`` of ``total`` units of ``label``."""

    def __call__(self, label: str, done: int, total: int) -> None: ...


class Throttled:
    """Wrap ``callback`` so that it is called at most about ``updates`` times over ``total``.

    ``advance(done)`` reports when ``done`` moved by a step; ``finish()`` reports ``total``.
    """

    __slots__ = ("callback", "label", "shown", "step", "total")

    def __init__(self, callback: ProgressCallback, label: str, total: int, updates: int = 200):
        self.callback = callback
        self.label = label
        self.total = total
        self.step = max(1, total // updates)
        self.shown = 0

    def advance(self, done: int) -> None:
        if done - self.shown >= self.step:
            self.shown = done
            self.callback(self.label, done, self.total)

    def finish(self) -> None:
        self.callback(self.label, self.total, self.total)
