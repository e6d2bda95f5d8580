"""Failpoints: crash the process on purpose at the moments that matter for recovery.

``POISE_FAILPOINT=NAME:K`` makes the process exit at once with status 137 (as if killed) the
K-th time it reaches ``NAME``. Names: ``after_intent_commit``, ``before_send``, ``after_send``,
``before_fill_commit``. Nothing is flushed or cleaned up: that is the point.
"""

from __future__ import annotations

import os

__all__ = ["FAILPOINTS", "failpoint"]

FAILPOINTS = ("after_intent_commit", "before_send", "after_send", "before_fill_commit")

_counts: dict[str, int] = {}


def failpoint(name: str) -> None:
    """Count one visit to ``name``; exit with status 137 if ``POISE_FAILPOINT`` says so."""
    spec = os.environ.get("POISE_FAILPOINT")
    if not spec:
        return
    target, _, k = spec.partition(":")
    if target != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(k or "1"):
        os._exit(137)
