"""Which targets to hold: allocation models fitted on prices (skfolio), risk profiles, goals."""

from poise.allocate._resolve import resolve_targets
from poise.allocate._spec import allocation_from_table

__all__ = ["allocation_from_table", "resolve_targets"]
