from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from poise.store import make_engine, upgrade
from tests.databases import BACKENDS, database_url


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store on a fresh SQLite file or PostgreSQL database."""
    with database_url(request.param, tmp_path) as url:
        eng = make_engine(url)
        upgrade(eng)
        try:
            yield eng
        finally:
            eng.dispose()
