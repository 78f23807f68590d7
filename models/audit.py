"""The append-only audit log: one row for every state change and every access to evidence."""

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.actor import Actor
from models.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """Who did what to which object, when, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(10))  # user | device | system | cli
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one audit entry to the session (not committed here: it commits with the change)."""
    entry = AuditEntry(
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or {},
        ip=actor.ip,
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry
