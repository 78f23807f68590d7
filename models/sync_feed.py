"""The change feed that device pulls read: one row per change visible to a scope, in server order."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class SyncChange(Base):
    """A change a device must learn about; ``id`` is the monotonic sequence behind pull cursors.

    ``scope`` says who sees it: ``all`` (every device, e.g. capture schemas) or
    ``inspector:<user id>`` (that inspector's tablets: assigned dossiers, review outcomes).
    """

    __tablename__ = "sync_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(8))  # upsert | delete
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
