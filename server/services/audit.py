"""Writing the audit log; callers add the entry in the same transaction as the change."""
from datetime import datetime

from sqlalchemy.orm import Session

from server.actor import Actor
from server.models import AuditEntry


def record(session: Session, actor: Actor, action: str, object_type: str | None = None,
           object_id: str | int | None = None, details: dict | None = None,
           at: datetime | None = None) -> AuditEntry:
    """Add one audit entry to the session (not committed here: it commits with the change)."""
    entry = AuditEntry(actor_kind=actor.kind, actor_id=actor.id, action=action,
                       object_type=object_type,
                       object_id=None if object_id is None else str(object_id),
                       details=details or {}, ip=actor.ip)
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry
