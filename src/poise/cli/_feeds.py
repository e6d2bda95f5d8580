"""Prices from feeds (``--prices alpaca:SYM,...`` or ``yahoo:SYM,...``) cached in the store."""

from __future__ import annotations

import pandas as pd

from poise.data import load_feed, set_feed_loader

__all__ = ["load_cached_feed"]


def load_cached_feed(text: str) -> pd.DataFrame:
    """The feed's closes up to today, downloaded bars kept in the store's ``price_bars``
    (the database of ``POISE_DATABASE_URL``, else ``$POISE_HOME/poise.db``)."""
    from poise.store import SqlBarCache, open_store

    engine = open_store(None)
    try:
        return load_feed(text, cache=SqlBarCache(engine))
    finally:
        engine.dispose()


set_feed_loader(load_cached_feed)
