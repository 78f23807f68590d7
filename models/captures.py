"""Field captures: forms (with append-only revisions), their photos, and the stored blobs."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.states import LinkState, ReviewState
from models.base import Base, UTCDateTime, utcnow

LINK_STATES = tuple(LinkState)
REVIEW_STATES = tuple(ReviewState)
# Whether a record's evidence is still kept, or was destroyed by supervised destruction
# (the row stays, naming the destruction record); photos carry it as their ``state``.
RECORD_STATES = {"kept": "在档", "destroyed": "已销毁"}


class Capture(Base):
    """One inspection form captured on a tablet; its id is the client-generated UUID."""

    __tablename__ = "captures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    schema_version: Mapped[int] = mapped_column(Integer)
    account_no: Mapped[str] = mapped_column(String(32), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    link_state: Mapped[str] = mapped_column(String(10), default="linked")
    review_state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    current_revision: Mapped[int] = mapped_column(Integer, default=1)
    has_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped by every review decision; a decision names the version it saw, so of two
    # archivists acting at once exactly one wins (the other gets review.conflict).
    review_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    device_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # kept | destroyed (see RECORD_STATES); a capture still open when its dossier was destroyed
    # is closed (review_state ``closed``) with the reason in ``closed_reason``
    record_state: Mapped[str] = mapped_column(String(10), default="kept", server_default="kept")
    destruction_record_id: Mapped[int | None] = mapped_column(ForeignKey("destruction_records.id"))
    closed_reason: Mapped[str | None] = mapped_column(Text)

    revisions: Mapped[list["CaptureRevision"]] = relationship(
        back_populates="capture", order_by="CaptureRevision.number"
    )
    photos: Mapped[list["Photo"]] = relationship(back_populates="capture")


class CaptureRevision(Base):
    """An immutable revision of a capture's form data; amendments add revisions, never overwrite."""

    __tablename__ = "capture_revisions"
    __table_args__ = (UniqueConstraint("capture_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    base_revision_id: Mapped[str | None] = mapped_column(String(36))
    schema_version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # device clock minus server clock (ms) measured on the push that delivered this revision
    device_clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)

    capture: Mapped[Capture] = relationship(back_populates="revisions")


class Blob(Base):
    """Bytes in the content-addressed, write-once blob store, keyed by SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    sm3: Mapped[str | None] = mapped_column(String(64))  # NULL until stamping hashes the stored bytes
    size: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Photo(Base):
    """A photo declared by a capture; its bytes arrive by upload and live in the blob store."""

    __tablename__ = "photos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    slot: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20), index=True)
    declared_sha256: Mapped[str] = mapped_column(String(64), index=True)
    declared_size: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    device_captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_latitude: Mapped[float | None] = mapped_column(Float)
    device_longitude: Mapped[float | None] = mapped_column(Float)
    device_gps_accuracy_m: Mapped[float | None] = mapped_column(Float)
    declared: Mapped[dict] = mapped_column(JSON, default=dict)
    # awaiting_upload → received → (stamping stages, see services/pipeline.py) → ready;
    # any state → destroyed (supervised destruction removed the bytes; destruction_record_id says which record)
    state: Mapped[str] = mapped_column(String(20), default="awaiting_upload", index=True)
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # device clock minus server clock (ms) measured on the push that declared this photo
    device_clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    destruction_record_id: Mapped[int | None] = mapped_column(ForeignKey("destruction_records.id"))

    capture: Mapped[Capture | None] = relationship(back_populates="photos")
    blob: Mapped[Blob | None] = relationship()
