"""Publishing changes to the device change feed (read by pull), in the caller's transaction."""
from __future__ import annotations

from sqlalchemy.orm import Session

from server.models import SyncChange

ALL = "all"


def inspector_scope(inspector_id: int) -> str:
    """The feed scope of one inspector's tablets."""
    return f"inspector:{inspector_id}"


def publish(session: Session, scope: str, entity: str, entity_id: str | int, op: str,
            payload: dict | None = None) -> SyncChange:
    """Append a change to the feed; it commits (or rolls back) with the caller's change."""
    if op not in ("upsert", "delete"):
        raise ValueError(f"unknown feed op {op!r}")
    change = SyncChange(scope=scope, entity=entity, entity_id=str(entity_id), op=op,
                        payload=payload or {})
    session.add(change)
    return change
