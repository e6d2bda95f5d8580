"""Which function a door installed to load price feeds (kept apart from the feeds themselves
so that installing one imports no pandas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["installed_feed_loader", "set_feed_loader"]

_loader: Callable[[str], pd.DataFrame] | None = None


def set_feed_loader(loader: Callable[[str], pd.DataFrame] | None) -> None:
    """Install how a door loads a feed (the command line caches bars in the store)."""
    global _loader
    _loader = loader


def installed_feed_loader() -> Callable[[str], pd.DataFrame] | None:
    """The loader a door installed, or ``None``."""
    return _loader
