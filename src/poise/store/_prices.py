"""Price tables for plans and drift: a firm's stored price sets and the bundled data sets,
parsed once per content (digest) and kept in memory.

Which prices: the request's ``prices``, else the household's own, else the firm's default.
A name is a stored price set of the firm, else a bundled data set. Feeds (``alpaca:...``,
``yahoo:...``) and files on the server are not read by the service. The service and the
store's batch (``poise batch rebalance --firm``) resolve names here, so a plan made by either
carries the digest :func:`prices_digest` checks when it is approved or sent.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from poise._errors import InputError
from poise.data import DATASETS, is_dataset, load_dataset
from poise.io import prices_from_text
from poise.store._models import PriceSet
from poise.store._scope import FirmScope

if TYPE_CHECKING:
    from poise.app import PriceDay

__all__ = ["PriceTable", "digest_text", "price_day", "prices_digest", "resolve_prices"]


@dataclass(frozen=True, slots=True)
class PriceTable:
    """A price table, its name and a digest that changes whenever its content does."""

    name: str
    digest: str
    frame: pd.DataFrame


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_lock = threading.Lock()
_frames: OrderedDict[str, pd.DataFrame] = OrderedDict()
_CACHE = 64


def _cached(key: str) -> pd.DataFrame | None:
    with _lock:
        frame = _frames.get(key)
        if frame is not None:
            _frames.move_to_end(key)
        return frame


def _remember(key: str, frame: pd.DataFrame) -> None:
    with _lock:
        _frames[key] = frame
        while len(_frames) > _CACHE:
            _frames.popitem(last=False)


def resolve_prices(scope: FirmScope, name: str, field: str = "prices") -> PriceTable:
    """The price table ``name`` means for the scope's firm.

    Raises
    ------
    InputError
        Unknown name, or a feed the service does not read (``field`` as given).
    """
    stored = scope.session.execute(
        select(PriceSet.digest).where(PriceSet.firm_id == scope.firm_id, PriceSet.name == name)
    ).first()
    if stored is not None:
        digest = str(stored[0])
        frame = _cached(digest)
        if frame is None:
            text = scope.session.scalar(
                select(PriceSet.csv).where(PriceSet.firm_id == scope.firm_id, PriceSet.name == name)
            )
            frame = prices_from_text(text or "", source=f"prices {name}")
            _remember(digest, frame)
        return PriceTable(name, digest, frame)
    if is_dataset(name):
        key = f"bundled:{name}"
        frame = _cached(key)
        if frame is None:
            frame = load_dataset(name)
            _remember(key, frame)
        return PriceTable(name, digest_text(key), frame)
    if ":" in name:
        raise InputError(
            f"price feeds ({name.split(':', 1)[0]}:...) are not read by the service; upload "
            "the prices with PUT /prices/{name}",
            field=field,
        )
    raise InputError(
        f"no price set {name!r}; upload one with PUT /prices/{{name}} or use a bundled data "
        f"set ({', '.join(DATASETS)})",
        field=field,
    )


_days: OrderedDict[tuple[str, str, date | None], PriceDay] = OrderedDict()
_DAYS = 8


def price_day(table: PriceTable, as_of: date | None) -> PriceDay:
    """``table`` prepared for planning on ``as_of`` (its last day when None), named
    ``prices NAME`` in messages; kept by (digest, name, day), so the plans of one day share
    the closes, the history array and the quality check.

    Raises
    ------
    InputError
        ``as_of`` is not a day of the table (``field`` ``as_of``).
    """
    from poise.app import PriceDay

    key = (table.digest, table.name, as_of)
    with _lock:
        found = _days.get(key)
        if found is not None:
            _days.move_to_end(key)
            return found
    day = PriceDay(table.frame, as_of, source=f"prices {table.name}")
    with _lock:
        _days[key] = day
        while len(_days) > _DAYS:
            _days.popitem(last=False)
    return day


def prices_digest(scope: FirmScope, name: str) -> str | None:
    """The current digest of the price table ``name`` (None when it no longer exists)."""
    stored = scope.session.scalar(
        select(PriceSet.digest).where(PriceSet.firm_id == scope.firm_id, PriceSet.name == name)
    )
    if stored is not None:
        return str(stored)
    if is_dataset(name):
        return digest_text(f"bundled:{name}")
    return None
