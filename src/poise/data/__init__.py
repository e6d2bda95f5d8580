"""Price sources: skfolio's bundled real data and CSV files."""

from poise.data._bundled import DATASETS, OWN_PRICES, bundled_note, is_dataset, load_dataset
from poise.data._fresh import DEFAULT_MAX_PRICE_AGE_DAYS, latest_prices

__all__ = [
    "DATASETS",
    "DEFAULT_MAX_PRICE_AGE_DAYS",
    "OWN_PRICES",
    "bundled_note",
    "is_dataset",
    "latest_prices",
    "load_dataset",
]
