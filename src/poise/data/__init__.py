"""Price sources: skfolio's bundled real data, CSV files, and what a market-data feed is
(``alpaca:``, ``yahoo:``; the feeds themselves are the ``poise.feeds`` adapter, registered
with :func:`register_feed`).

Names load on first use (``poise._lazy``): the command line registers the store-backed feed
loader at start without importing pandas.
"""

from typing import TYPE_CHECKING

from poise._lazy import attach

if TYPE_CHECKING:
    from poise.data._bundled import (
        DATASETS,
        OWN_PRICES,
        bundled_note,
        is_dataset,
        load_dataset,
    )
    from poise.data._feeds import (
        BarCache,
        MemoryBarCache,
        PriceFeed,
        feed_prices,
        is_feed,
        load_feed,
        parse_feed,
    )
    from poise.data._fresh import DEFAULT_MAX_PRICE_AGE_DAYS, carry_recent_prices, latest_prices
    from poise.data._loader import feed_for, register_feed, set_feed_loader
    from poise.data._quotes import Quote, QuoteSource, quote_price

_getattr, __dir__ = attach(
    __name__,
    {
        "poise.data._bundled": [
            "DATASETS",
            "OWN_PRICES",
            "bundled_note",
            "carry_recent_prices",
            "is_dataset",
            "load_dataset",
        ],
        "poise.data._feeds": [
            "BarCache",
            "MemoryBarCache",
            "PriceFeed",
            "feed_prices",
            "is_feed",
            "load_feed",
            "parse_feed",
        ],
        "poise.data._loader": ["feed_for", "register_feed", "set_feed_loader"],
        "poise.data._quotes": ["Quote", "QuoteSource", "quote_price"],
        "poise.data._fresh": ["DEFAULT_MAX_PRICE_AGE_DAYS", "carry_recent_prices", "latest_prices"],
    },
)

# The feeds moved to the poise.feeds adapter; their former names here stay importable (with a
# DeprecationWarning) for existing callers. The data layer itself never uses them.
_MOVED = {"AlpacaBars": "poise.feeds", "YahooBars": "poise.feeds"}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"poise.data.{name} is deprecated; use {_MOVED[name]}.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    return _getattr(name)


__all__ = [
    "DATASETS",
    "DEFAULT_MAX_PRICE_AGE_DAYS",
    "OWN_PRICES",
    "BarCache",
    "MemoryBarCache",
    "PriceFeed",
    "Quote",
    "QuoteSource",
    "bundled_note",
    "carry_recent_prices",
    "feed_for",
    "feed_prices",
    "is_dataset",
    "is_feed",
    "latest_prices",
    "load_dataset",
    "load_feed",
    "parse_feed",
    "quote_price",
    "register_feed",
    "set_feed_loader",
]
