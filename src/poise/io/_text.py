"""Opening the user's text files: one place that says what is wrong with a file as a whole
(missing, a folder, a spreadsheet, binary, not UTF-8, not comma-separated) before any reader
looks at its cells."""

from __future__ import annotations

from pathlib import Path

from poise._errors import InputError

__all__ = ["check_header_delimiter", "read_text_file"]

_SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods", ".numbers"}
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


def read_text_file(path: str | Path, what: str = "CSV") -> str:
    """The text of ``path`` (UTF-8, a byte-order mark dropped).

    Raises
    ------
    InputError
        Naming the file and the fix: it does not exist, is a folder, is a spreadsheet
        (``.xlsx``: export it as CSV), holds NUL characters (a binary or UTF-16 file) or is not
        UTF-8.
    """
    src = str(path)
    file = Path(path)
    if file.is_dir():
        raise InputError(f"is a folder, not a file; give the path of the {what} file", source=src)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found; check the path", source=src) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=src) from None
    if file.suffix.lower() in _SPREADSHEETS or data.startswith((_ZIP, _OLE)):
        fix = (
            "export it as CSV (in Excel: File → Save As → CSV UTF-8) and pass that file"
            if what == "CSV"
            else f"write it as a {what} text file (see the examples folder)"
        )
        raise InputError(f"is a spreadsheet, not a {what} text file; {fix}", source=src)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"is UTF-16 text; save it as UTF-8 {what} and pass that file", source=src)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError(
            f"contains a NUL character (a binary file, or a damaged one); save it as UTF-8 {what}",
            source=src,
            field=f"line {line}",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"is not UTF-8 text (byte {data[exc.start]:#04x}); save it as UTF-8 {what}",
            source=src,
            field=f"line {line}",
        ) from None


def check_header_delimiter(header: list[str], src: str, expected: str) -> None:
    """Refuse a header that is one field holding semicolons or tabs: the file is separated by
    something other than commas."""
    if len(header) != 1:
        return
    for mark, name in ((";", "semicolons"), ("\t", "tabs")):
        if mark in header[0]:
            raise InputError(
                f"the columns are separated by {name}; poise reads comma-separated files: "
                f"use commas (header {expected})",
                source=src,
                field="line 1",
            )
