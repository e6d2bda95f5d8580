"""The price-feed registry: which feeds the adapters registered, and which function a door
installed to load them (kept apart from the feeds so that registering imports no pandas).

Adapters (``poise.feeds``) register a factory per source name (``alpaca``, ``yahoo``); the
data layer asks the registry, never the adapters, so the engine imports no feed library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from poise._errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from poise.data._feeds import PriceFeed

__all__ = ["feed_for", "installed_feed_loader", "register_feed", "set_feed_loader"]

_loader: Callable[[str], pd.DataFrame] | None = None
_feeds: dict[str, Callable[[], PriceFeed]] = {}


def set_feed_loader(loader: Callable[[str], pd.DataFrame] | None) -> None:
    """Install how a door loads a feed (the command line caches bars in the store)."""
    global _loader
    _loader = loader


def installed_feed_loader() -> Callable[[str], pd.DataFrame] | None:
    """The loader a door installed, or ``None``."""
    return _loader


def register_feed(source: str, factory: Callable[[], PriceFeed]) -> None:
    """Register how to make the feed of ``source`` (``alpaca`` or ``yahoo``): called by its
    adapter, replacing an earlier registration of the same source."""
    _feeds[source] = factory


def feed_for(source: str) -> PriceFeed:
    """A new feed of ``source`` from its registered factory.

    Raises
    ------
    InputError
        No adapter registered ``source`` (``field`` ``--prices``): call
        ``poise.feeds.install_feeds()`` first (the command line does).
    """
    factory = _feeds.get(source)
    if factory is None:
        raise InputError(
            f"{source}: prices need the feed adapters; call poise.feeds.install_feeds() "
            "first (the command line does)",
            field="--prices",
        )
    return factory()
