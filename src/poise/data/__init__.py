"""Price sources: skfolio's bundled real data, CSV files and market-data feeds
(``alpaca:``, ``yahoo:``).

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
        AlpacaBars,
        BarCache,
        MemoryBarCache,
        PriceFeed,
        YahooBars,
        feed_prices,
        is_feed,
        load_feed,
        parse_feed,
    )
    from poise.data._fresh import DEFAULT_MAX_PRICE_AGE_DAYS, carry_recent_prices, latest_prices
    from poise.data._loader import set_feed_loader
    from poise.data._quotes import Quote, QuoteSource, quote_price

__getattr__, __dir__ = attach(
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
            "AlpacaBars",
            "BarCache",
            "MemoryBarCache",
            "PriceFeed",
            "YahooBars",
            "feed_prices",
            "is_feed",
            "load_feed",
            "parse_feed",
        ],
        "poise.data._loader": ["set_feed_loader"],
        "poise.data._quotes": ["Quote", "QuoteSource", "quote_price"],
        "poise.data._fresh": ["DEFAULT_MAX_PRICE_AGE_DAYS", "carry_recent_prices", "latest_prices"],
    },
)

__all__ = [
    "DATASETS",
    "DEFAULT_MAX_PRICE_AGE_DAYS",
    "OWN_PRICES",
    "AlpacaBars",
    "BarCache",
    "MemoryBarCache",
    "PriceFeed",
    "Quote",
    "QuoteSource",
    "YahooBars",
    "bundled_note",
    "carry_recent_prices",
    "feed_prices",
    "is_dataset",
    "is_feed",
    "latest_prices",
    "load_dataset",
    "load_feed",
    "parse_feed",
    "quote_price",
    "set_feed_loader",
]
