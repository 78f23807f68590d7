"""Reading one page of a device's scope from the change feed, in constant memory.

A page is at most ``limit`` feed rows after the cursor's sequence number, in sequence order,
for the scopes ``all`` and ``inspector:<id>``. Cursors older than the compaction floor, or from
another sync epoch, get "reset required" instead of a page with silent gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import errors
from models import Device
from sync import cursor as cursors
from sync import feed

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


@dataclass
class Page:
    """One pull page: changes in feed order, the next cursor and whether more is waiting."""

    changes: list[dict]
    cursor: str
    has_more: bool
    seq_from: int
    seq_to: int


def start_position(session: Session, device: Device, cursor: str | None, secret: bytes) -> cursors.Position:
    """Decode the device's cursor (None: start of the feed) and check it is still servable."""
    epoch = feed.counter_value(session, feed.EPOCH)
    if not cursor:
        return cursors.Position(0, epoch)
    try:
        position = cursors.decode(cursor, device.id, secret)
    except cursors.CursorInvalid as exc:
        raise errors.DomainError(errors.SYNC_CURSOR_INVALID, str(exc)) from None
    if position.epoch != epoch:
        raise errors.DomainError(errors.SYNC_RESET_REQUIRED, details={"reason": "epoch"})
    if position.seq < feed.counter_value(session, feed.FLOOR):
        raise errors.DomainError(errors.SYNC_RESET_REQUIRED, details={"reason": "compacted"})
    return position


def change_json(change) -> dict:
    """The wire form of one feed row."""
    body = {"entity": change.entity, "id": change.entity_id, "op": change.op}
    if change.op == "upsert":
        body["data"] = change.payload
    return body


def read(session: Session, device: Device, position: cursors.Position, limit: int, secret: bytes) -> Page:
    """Read the page after ``position`` for this device's scopes."""
    limit = max(1, min(limit, MAX_LIMIT))
    scopes = [feed.ALL, feed.inspector_scope(device.inspector_id)]
    rows = feed.read_page(session, scopes, position.seq, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].id if rows else position.seq
    next_cursor = cursors.encode(cursors.Position(last, position.epoch), device.id, secret)
    return Page([change_json(r) for r in rows], next_cursor, has_more, position.seq, last)
