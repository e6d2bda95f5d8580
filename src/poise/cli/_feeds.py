"""Prices from feeds (``--prices alpaca:SYM,...`` or ``yahoo:SYM,...``) cached in the store:
the door registers the feed adapters (``poise.feeds``) and the store-backed loader."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poise.data._loader import set_feed_loader
from poise.feeds import install_feeds

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load_cached_feed"]


def load_cached_feed(text: str) -> pd.DataFrame:
    """The feed's closes up to today, downloaded bars kept in the store's ``price_bars``
    (the database of ``POISE_DATABASE_URL``, else ``$POISE_HOME/poise.db``)."""
    from poise.data import load_feed
    from poise.store import SqlBarCache, open_store

    engine = open_store(None)
    try:
        return load_feed(text, cache=SqlBarCache(engine))
    finally:
        engine.dispose()


install_feeds()
set_feed_loader(load_cached_feed)
