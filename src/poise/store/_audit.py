"""The audit trail: an append-only, hash-chained log of who did what.

``hash = sha256(prev_hash + canonical JSON of the event)`` where the event is ``{seq, at,
actor, action, object, detail}`` and canonical JSON has sorted keys, no spaces and no NaN. The
first event's ``prev_hash`` is 64 zeros. Events are appended inside the transaction of the
change they record (one commit or neither); the database refuses UPDATE and DELETE on the
table (triggers), and :func:`verify_chain` finds the first event that does not fit the chain.
Details hold identifiers, counts and digests, never a household's content, a password, token
or secret, so the trail outlives a deleted household without keeping its data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from poise.store._models import AuditEvent

__all__ = [
    "GENESIS_HASH",
    "AuditBreak",
    "append_event",
    "canonical_json",
    "event_hash",
    "event_to_dict",
    "iter_events",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
_PG_LOCK_KEY = 0x706F697365  # "poise": serialises appends on PostgreSQL


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is, NaN refused."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _event_body(
    seq: int, at: str, actor: str, action: str, obj: str, detail: Mapping[str, Any]
) -> dict[str, Any]:
    return {"seq": seq, "at": at, "actor": actor, "action": action, "object": obj, "detail": detail}


def event_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(body))`` as 64 lowercase hex digits."""
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def append_event(
    session: Session,
    *,
    actor: str,
    action: str,
    obj: str,
    detail: Mapping[str, Any] | None = None,
    firm_id: int | None = None,
) -> AuditEvent:
    """Append one event in ``session``'s transaction (committed with the change it records).

    Appends are serialised: PostgreSQL takes a transaction-scoped advisory lock; SQLite write
    sessions already hold the database's write lock (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    data = json.loads(canonical_json(dict(detail or {})))
    body = _event_body(seq, at, actor, action, obj, data)
    event = AuditEvent(
        seq=seq,
        firm_id=firm_id,
        at=at,
        actor=actor,
        action=action,
        object=obj,
        detail=data,
        prev_hash=prev,
        hash=event_hash(prev, body),
    )
    session.add(event)
    session.flush()
    return event


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    """The event as DESIGN.md lists it: ``{seq, at, actor, action, object, detail, prev_hash,
    hash}``."""
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "object": event.object,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """Where the chain breaks: the first bad ``seq`` and what is wrong with it."""

    seq: int
    reason: str


def iter_events(session: Session) -> Iterator[AuditEvent]:
    yield from session.scalars(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    )


def verify_chain(session: Session) -> tuple[int, AuditBreak | None]:
    """Check every event in order: numbering without gaps from 1, each ``prev_hash`` the
    previous ``hash``, each ``hash`` recomputed from the event. Returns the number of events
    checked and the first break (``None`` when the chain is intact)."""
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for event in iter_events(session):
        count += 1
        if event.seq != expected_seq:
            return count, AuditBreak(expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev:
            return count, AuditBreak(event.seq, "prev_hash is not the previous event's hash")
        body = _event_body(
            event.seq, event.at, event.actor, event.action, event.object, event.detail
        )
        if event_hash(prev, body) != event.hash:
            return count, AuditBreak(event.seq, "hash does not match the event's content")
        prev, expected_seq = event.hash, expected_seq + 1
    return count, None
