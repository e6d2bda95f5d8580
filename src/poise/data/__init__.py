"""Price sources: skfolio's bundled real data and CSV files."""

from poise.data._bundled import DATASETS, OWN_PRICES, bundled_note, is_dataset, load_dataset

__all__ = ["DATASETS", "OWN_PRICES", "bundled_note", "is_dataset", "load_dataset"]
