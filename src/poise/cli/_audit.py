"""``poise audit``: verify the hash chain of the audit trail, export it."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from poise._errors import InputError
from poise.cli._app import app, console, err_console
from poise.cli._options import DATABASE_URL

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail: verify its hash chain, export it.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

_COLUMNS = ("seq", "at", "actor", "action", "object", "detail", "prev_hash", "hash")


@audit_app.command("verify")
def verify(database_url: str | None = DATABASE_URL) -> None:
    """Exit 0 when every event fits the chain; exit 1 naming the first bad seq."""
    from poise.store import open_store, read_session
    from poise.store._audit import verify_chain

    engine = open_store(database_url)
    with read_session(engine) as session:
        count, broken = verify_chain(session)
    engine.dispose()
    if broken is not None:
        err_console.print(f"audit trail broken at seq {broken.seq}: {broken.reason}")
        raise typer.Exit(1)
    console.print(f"audit trail intact: {count} event(s)")


@audit_app.command("export")
def export(
    fmt: str = typer.Option("jsonl", "--format", help="csv | jsonl."),
    out: Path | None = typer.Option(None, "--out", help="Write to a file (default: stdout)."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Every event in order: seq, at, actor, action, object, detail, prev_hash, hash."""
    from poise.io import write_text_atomic
    from poise.store import open_store, read_session
    from poise.store._audit import canonical_json, event_to_dict, iter_events

    if fmt not in ("csv", "jsonl"):
        raise InputError(f"format must be csv or jsonl, got {fmt!r}", field="--format")
    engine = open_store(database_url)
    chunks: list[str] = []
    with read_session(engine) as session:
        if fmt == "jsonl":
            chunks = [canonical_json(event_to_dict(e)) + "\n" for e in iter_events(session)]
        else:
            import io

            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(_COLUMNS)
            for e in iter_events(session):
                row = event_to_dict(e)
                row["detail"] = canonical_json(row["detail"])
                writer.writerow([row[c] for c in _COLUMNS])
            chunks = [buffer.getvalue()]
    engine.dispose()
    text = "".join(chunks)
    if out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(out, text)
        console.print(f"wrote {out}")
