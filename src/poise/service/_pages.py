"""Paginated lists: ``{items, total, limit, offset}``."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

__all__ = ["Page"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; ask for the next with ``offset = offset + limit`` while ``offset +
    limit < total``."""

    items: list[T]
    total: int
    limit: int
    offset: int
