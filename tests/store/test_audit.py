"""The audit chain: intact verifies; tampering with any row (any column) or deleting one
breaks it at that row, on SQLite and PostgreSQL; the CLI exits 1 naming the seq."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import Engine, text

from poise.store import read_session, write_session
from poise.store._audit import GENESIS_HASH, append_event, verify_chain
from tests.conftest import run_cli


def _fill(engine: Engine, n: int = 6) -> None:
    for i in range(n):
        with write_session(engine) as session:
            append_event(
                session,
                actor=f"user{i}@x.test",
                action="test.event",
                obj=f"thing:{i}",
                detail={"i": i, "note": "é"},
            )


def _verify(engine: Engine) -> tuple[int, int | None]:
    with read_session(engine) as session:
        count, broken = verify_chain(session)
    return count, broken.seq if broken else None


def _unlocked(engine: Engine, sql: str, **params: object) -> None:
    """Run ``sql`` with the append-only triggers off (what an attacker with the database
    owner's rights could do), then put them back."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        conn.execute(text(sql), params)
        if engine.dialect.name == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
                )
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


def test_hash_is_sha256_of_prev_hash_and_canonical_json(engine: Engine) -> None:
    _fill(engine, 2)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT seq, at, actor, action, object, detail, prev_hash, hash "
                "FROM audit_events ORDER BY seq"
            )
        ).all()
    prev = "0" * 64
    assert prev == GENESIS_HASH
    for seq, at, actor, action, obj, detail, prev_hash, digest in rows:
        detail = json.loads(detail) if isinstance(detail, str) else detail
        body = {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "object": obj,
            "detail": detail,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert prev_hash == prev
        assert digest == hashlib.sha256((prev + canonical).encode()).hexdigest()
        prev = digest


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory@x.test"),
        ("action", "test.other"),
        ("object", "thing:99"),
        ("at", "2000-01-01T00:00:00.000000+00:00"),
        ("prev_hash", "1" * 64),
        ("hash", "2" * 64),
    ],
)
def test_tampering_any_row_breaks_the_chain_there(engine: Engine, column: str, value: str) -> None:
    _fill(engine)
    assert _verify(engine) == (6, None)
    for seq in range(1, 7):
        with engine.connect() as conn:
            original = conn.execute(
                text(f"SELECT {column} FROM audit_events WHERE seq = :s"), {"s": seq}
            ).scalar_one()
        _unlocked(engine, f"UPDATE audit_events SET {column} = :v WHERE seq = :s", v=value, s=seq)
        assert _verify(engine)[1] == seq, (column, seq)
        _unlocked(
            engine, f"UPDATE audit_events SET {column} = :v WHERE seq = :s", v=original, s=seq
        )
        assert _verify(engine)[1] is None


def test_tampered_detail_and_deleted_rows(engine: Engine) -> None:
    _fill(engine)
    _unlocked(
        engine, "UPDATE audit_events SET detail = :d WHERE seq = 3", d='{"i": 30, "note": "é"}'
    )
    assert _verify(engine)[1] == 3
    _unlocked(
        engine, "UPDATE audit_events SET detail = :d WHERE seq = 3", d='{"i": 2, "note": "é"}'
    )
    assert _verify(engine)[1] is None
    _unlocked(engine, "DELETE FROM audit_events WHERE seq = 4")
    assert _verify(engine)[1] == 4


def test_cli_verify_and_export(engine: Engine) -> None:
    _fill(engine, 3)
    url = engine.url.render_as_string(hide_password=False)
    ok = run_cli(["audit", "verify", "--database-url", url])
    assert ok.code == 0
    assert "3 event" in ok.stdout
    jsonl = run_cli(["audit", "export", "--format", "jsonl", "--database-url", url])
    lines = [json.loads(x) for x in jsonl.stdout.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3]
    assert set(lines[0]) == {
        "seq",
        "at",
        "actor",
        "action",
        "object",
        "detail",
        "prev_hash",
        "hash",
    }
    csv_out = run_cli(["audit", "export", "--format", "csv", "--database-url", url])
    assert csv_out.stdout.splitlines()[0] == "seq,at,actor,action,object,detail,prev_hash,hash"
    assert len(csv_out.stdout.splitlines()) == 4
    _unlocked(engine, "UPDATE audit_events SET actor = 'm' WHERE seq = 2")
    bad = run_cli(["audit", "verify", "--database-url", url])
    assert bad.code == 1
    assert "seq 2" in bad.stderr
    assert run_cli(["audit", "export", "--format", "xml", "--database-url", url]).code == 2
