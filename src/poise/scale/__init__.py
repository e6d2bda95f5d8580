"""Many households at once: the vectorised book screen and batch planning on any
``concurrent.futures`` executor (this process, local processes, a Dask cluster).

Doors (``poise batch rebalance``, the service's nightly run) call :func:`run_batch` (a
manifest of files) or :func:`plan_book` (a firm's households in the store, plans saved as
proposed; the dashboard's "plan all breached" too); every plan comes from
:func:`poise.app.rebalance`. Dask is imported only by :class:`DaskRunner`.
"""

from poise.scale._batch import (
    BatchRequest,
    BatchSummary,
    DayPrices,
    HouseholdFiles,
    Progress,
    StoredHousehold,
    day_prices,
    plan_chunk,
    run_batch,
)
from poise.scale._book import BookOutcome, BookRequest, BookResult, firm_id, plan_book
from poise.scale._manifest import Manifest, ManifestEntry, read_manifest
from poise.scale._runners import (
    DaskRunner,
    ExecutorRunner,
    ProcessRunner,
    Runner,
    SerialExecutor,
)
from poise.scale._screen import NEAR, TOLERANCE, Book, ScreenResult, book_of, screen

__all__ = [
    "NEAR",
    "TOLERANCE",
    "BatchRequest",
    "BatchSummary",
    "Book",
    "BookOutcome",
    "BookRequest",
    "BookResult",
    "DaskRunner",
    "DayPrices",
    "ExecutorRunner",
    "HouseholdFiles",
    "Manifest",
    "ManifestEntry",
    "ProcessRunner",
    "Progress",
    "Runner",
    "ScreenResult",
    "SerialExecutor",
    "StoredHousehold",
    "book_of",
    "day_prices",
    "firm_id",
    "plan_book",
    "plan_chunk",
    "read_manifest",
    "run_batch",
    "screen",
]
