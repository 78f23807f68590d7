"""Sync bookkeeping: the exactly-once record of pushed mutations, per-sync clock readings, and
the task assignments (inspector ↔ customer) that decide what each tablet pulls."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.customers import Customer
from models.people import User


class SyncMutation(Base):
    """One applied push item, keyed by its client-generated revision id.

    Written in the same transaction as the capture revision it created, so a retried, replayed
    or reordered push finds it and gets the stored ``result`` back instead of a second effect.
    """

    __tablename__ = "sync_mutations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    capture_id: Mapped[str] = mapped_column(String(36), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncSession(Base):
    """One push or pull request of a device, with the device clock against the server clock."""

    __tablename__ = "sync_sessions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # push | pull
    server_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # device clock minus server clock, in milliseconds (positive: the tablet runs ahead)
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    request_bytes: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    replayed: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    cursor_from: Mapped[int | None] = mapped_column(BigInteger)
    cursor_to: Mapped[int | None] = mapped_column(BigInteger)


class Assignment(Base):
    """A customer assigned to an inspector; their tablets pull the customer's dossier summary.

    Ending an assignment keeps the row (``ended_at``) so the history stays visible.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    inspector: Mapped[User] = relationship()
    customer: Mapped[Customer] = relationship()
