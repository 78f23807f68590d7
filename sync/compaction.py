"""Keeping the change feed small without silent gaps.

Two rules. (1) A row superseded by a newer row for the same (scope, entity, id) can go at any
time: whoever has not read it yet will read the newer one, and whoever has read it will too.
(2) A tombstone can go only by raising the floor to its sequence number: a cursor below the
floor might never have seen that delete, so it gets "reset required" instead of a gap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models import Counter, SyncChange
from sync import feed


def compact(session: Session, tombstones_before: datetime) -> dict:
    """Apply both rules; return how many rows went and the new floor (caller commits)."""
    latest = (
        select(func.max(SyncChange.id))
        .group_by(SyncChange.scope, SyncChange.entity, SyncChange.entity_id)
        .scalar_subquery()
    )
    superseded = session.execute(
        delete(SyncChange).where(SyncChange.id.not_in(latest)).execution_options(synchronize_session=False)
    ).rowcount
    old_tombstones = select(SyncChange.id).where(SyncChange.op == "delete", SyncChange.created_at < tombstones_before)
    highest = session.scalar(select(func.max(SyncChange.id)).where(SyncChange.id.in_(old_tombstones)))
    tombstones = 0
    floor = feed.counter_value(session, feed.FLOOR)
    if highest is not None:
        tombstones = session.execute(
            delete(SyncChange)
            .where(SyncChange.op == "delete", SyncChange.id <= highest)
            .execution_options(synchronize_session=False)
        ).rowcount
        floor = max(floor, highest)
        session.execute(update(Counter).where(Counter.name == feed.FLOOR).values(value=floor))
    return {"superseded_removed": superseded, "tombstones_removed": tombstones, "floor": floor}


def bump_epoch(session: Session) -> int:
    """Start a new sync epoch (after a breaking change); return it (caller commits)."""
    return session.execute(
        update(Counter).where(Counter.name == feed.EPOCH).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
