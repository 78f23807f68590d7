"""Resumable photo uploads (tus): the state of every upload lives here and in the staging files.

Nothing about an upload is kept in process memory: any web process can continue any upload,
and a restarted server picks up exactly where the database says the bytes end.
"""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

# receiving → finishing → finished   (bytes verified, stored in the blob store)
# receiving → rejected                (whole-file SHA-256 differed from the declared one)
# receiving → terminated | expired    (DELETE by the device, or the sweep)
# finished → swept                    (never claimed by a photo within the grace period)
UPLOAD_STATES = ("receiving", "finishing", "finished", "rejected", "terminated", "expired", "swept")


class Upload(Base):
    """One tus upload by one device; the partial bytes sit in the blob store's staging dir."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="receiving", index=True)
    # None while the device deferred the length (creation-defer-length)
    length: Mapped[int | None] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    photo_id: Mapped[str] = mapped_column(String(36), index=True)
    declared_sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    filetype: Mapped[str | None] = mapped_column(String(100))
    upload_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    # digests of the complete file, set when the last byte arrived
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    sm3: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # the write lock of one PATCH at a time, claimed with a conditional UPDATE (any process)
    lock_token: Mapped[str | None] = mapped_column(String(32))
    lock_owner: Mapped[str | None] = mapped_column(String(128))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
