"""The batch manifest: one row per household, ``household,holdings[,transactions]``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from poise._errors import InputError
from poise.io._text import read_text_file

__all__ = ["Manifest", "ManifestEntry", "read_manifest"]

_COLUMNS = ("household", "holdings")
_OPTIONAL = "transactions"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One household of a manifest; paths as written, relative to the manifest's folder."""

    household: str
    holdings: str
    transactions: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """The households of a batch, in manifest order, and the folder their paths start from."""

    base: Path
    entries: tuple[ManifestEntry, ...]

    def path(self, relative: str) -> Path:
        """Where a path written in the manifest points."""
        return self.base / relative


def read_manifest(path: str | Path) -> Manifest:
    """Read a manifest CSV: header ``household,holdings`` or ``household,holdings,transactions``.

    Raises
    ------
    InputError
        The file is missing or unreadable, the header is not one of the two above, a row has
        an empty household or holdings path or the wrong number of fields, or a household is
        listed twice (``field`` is ``line N``).
    """
    src = str(path)
    file = Path(path)
    if not file.exists():
        raise InputError("manifest not found; check the path", source=src)
    try:
        rows = list(csv.reader(io.StringIO(read_text_file(file, "CSV"), newline="")))
    except csv.Error as exc:
        raise InputError(f"not a well-formed CSV ({exc})", source=src) from None
    if not rows:
        raise InputError(
            "the manifest is empty; expected the header household,holdings[,transactions]",
            source=src,
        )
    header = tuple(h.strip() for h in rows[0])
    if header not in (_COLUMNS, (*_COLUMNS, _OPTIONAL)):
        raise InputError(
            f"header must be household,holdings or household,holdings,transactions, got "
            f"{','.join(header)!r}",
            source=src,
            field="line 1",
        )
    entries: list[ManifestEntry] = []
    first_seen: dict[str, int] = {}
    for line_no, values in enumerate(rows[1:], start=2):
        if not values or all(not v.strip() for v in values):
            continue
        where = f"line {line_no}"
        if len(values) != len(header):
            raise InputError(
                f"has {len(values)} fields, the header has {len(header)}", source=src, field=where
            )
        cells = [v.strip() for v in values]
        for name, cell in zip(_COLUMNS, cells, strict=False):
            if not cell:
                raise InputError(f"{name} is empty; give a path", source=src, field=where)
        household = cells[0]
        if household in first_seen:
            raise InputError(
                f"household {household!r} is listed twice (also on line "
                f"{first_seen[household]}); keep one row per household",
                source=src,
                field=where,
            )
        first_seen[household] = line_no
        transactions = cells[2] if len(cells) > 2 and cells[2] else None
        entries.append(ManifestEntry(household, cells[1], transactions, line_no))
    return Manifest(file.parent, tuple(entries))
