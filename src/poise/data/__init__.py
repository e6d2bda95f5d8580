"""Price sources: skfolio's bundled real data and CSV files."""

from poise.data._bundled import DATASETS, OWN_PRICES, bundled_note, is_dataset, load_dataset
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
    set_feed_loader,
)
from poise.data._fresh import DEFAULT_MAX_PRICE_AGE_DAYS, latest_prices

__all__ = [
    "DATASETS",
    "DEFAULT_MAX_PRICE_AGE_DAYS",
    "OWN_PRICES",
    "AlpacaBars",
    "BarCache",
    "MemoryBarCache",
    "PriceFeed",
    "YahooBars",
    "bundled_note",
    "feed_prices",
    "is_dataset",
    "is_feed",
    "latest_prices",
    "load_dataset",
    "load_feed",
    "parse_feed",
    "set_feed_loader",
]
