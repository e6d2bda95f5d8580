"""Price sources: skfolio's bundled real data and CSV files."""

from poise.data._bundled import DATASETS, is_dataset, load_dataset

__all__ = ["DATASETS", "is_dataset", "load_dataset"]
