"""``[allocation]``: targets set by a model fitted on prices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poise._errors import InputError

__all__ = ["allocation_from_table"]


def allocation_from_table(table: Mapping[str, Any], source: str) -> Any:
    """Parse an ``[allocation]`` table into an allocation specification."""
    raise InputError(
        "[allocation] models are not available yet; use static [targets]",
        source=source,
        field="allocation",
    )
