"""Publishing changes to the device change feed (read by pull), in the caller's transaction.

Sequence numbers come from the ``sync_seq`` counter, bumped with ``UPDATE … RETURNING``: the
row lock is held until the publishing transaction ends, so feed rows become visible in exactly
the order of their numbers. A plain autoincrement would let transaction 11 commit before 10 on
PostgreSQL, and a pull in between would move its cursor past 10 and never see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Counter, SyncChange

ALL = "all"
SEQUENCE = "sync_seq"
FLOOR = "sync_floor"
EPOCH = "sync_epoch"


def inspector_scope(inspector_id: int) -> str:
    """The feed scope of one inspector's tablets."""
    return f"inspector:{inspector_id}"


def next_sequence(session: Session) -> int:
    """Allocate the next feed sequence number under the counter's row lock."""
    return session.execute(
        update(Counter).where(Counter.name == SEQUENCE).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()


def publish(
    session: Session,
    scope: str,
    entity: str,
    entity_id: str | int,
    op: str,
    payload: dict | None = None,
    now: datetime | None = None,
) -> SyncChange:
    """Append a change to the feed; it commits (or rolls back) with the caller's change."""
    if op not in ("upsert", "delete"):
        raise ValueError(f"unknown feed op {op!r}")
    change = SyncChange(
        id=next_sequence(session), scope=scope, entity=entity, entity_id=str(entity_id), op=op, payload=payload or {}
    )
    if now is not None:  # the clock port's time; tombstone retention is measured with it
        change.created_at = now
    session.add(change)
    return change


def counter_value(session: Session, name: str) -> int:
    """Read one of the feed counters (sequence, compaction floor, epoch)."""
    return session.scalar(select(Counter.value).where(Counter.name == name)) or 0


def read_page(session: Session, scopes: list[str], after: int, limit: int) -> list[SyncChange]:
    """The next ``limit`` changes of ``scopes`` after sequence ``after``, oldest first."""
    return list(
        session.scalars(
            select(SyncChange)
            .where(SyncChange.scope.in_(scopes), SyncChange.id > after)
            .order_by(SyncChange.id)
            .limit(limit)
        )
    )
