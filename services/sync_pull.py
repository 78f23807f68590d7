"""Use case: a tablet pulls the next page of its scope (dossiers, schemas, review outcomes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Device, SyncSession
from sync import pull as pull_logic
from sync import schemas as schema_feed
from sync.push import clock_offset_ms


def pull(
    session: Session,
    device: Device,
    cursor: str | None,
    limit: int,
    now: datetime,
    device_time: datetime | None,
    secret: bytes,
) -> dict:
    """Return one page after the cursor and record the device's clock offset for this sync."""
    if schema_feed.ensure_published(session):
        session.commit()
    schema_feed.remember_published(session)
    position = pull_logic.start_position(session, device, cursor, secret)
    page = pull_logic.read(session, device, position, limit, secret)
    offset_ms = clock_offset_ms(device_time, now)
    device.last_seen_at = now
    session.add(
        SyncSession(
            device_id=device.id,
            kind="pull",
            server_time=now,
            device_time=device_time,
            clock_offset_ms=offset_ms,
            items=len(page.changes),
            cursor_from=page.seq_from,
            cursor_to=page.seq_to,
        )
    )
    session.commit()
    return {
        "changes": page.changes,
        "cursor": page.cursor,
        "has_more": page.has_more,
        "server_time": now,
        "clock_offset_ms": offset_ms,
    }
