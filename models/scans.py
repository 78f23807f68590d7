"""Paper documents scanned into a customer dossier (电子扫描归档) and what the pipeline established."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

SCAN_STATES = ("received", "hashed", "derived", "timestamped", "ready", "integrity_failed")


class Scan(Base):
    """One scanned file (PDF, TIFF, JPEG or PNG) of a paper document, kept byte for byte.

    A customer holds a given content (SHA-256) once: uploading or importing the same bytes again
    finds the existing scan. Quality (pages, resolution, colour mode) is read at intake so that
    the archivist sees the flags before filing; filing appends a 卷内目录 entry.
    """

    __tablename__ = "scans"
    __table_args__ = (UniqueConstraint("customer_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # pdf | tiff | jpeg | png
    doc_type: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    doc_date: Mapped[date | None] = mapped_column(Date)
    business_event_id: Mapped[int | None] = mapped_column(ForeignKey("business_events.id"))
    note: Mapped[str | None] = mapped_column(Text)
    declared_pages: Mapped[int | None] = mapped_column(Integer)
    # DA/T 31 quality as read from the file at intake
    pages: Mapped[int] = mapped_column(Integer)
    min_dpi: Mapped[float | None] = mapped_column(Float)
    colour_modes: Mapped[list] = mapped_column(JSON, default=list)
    quality: Mapped[list] = mapped_column(JSON, default=list)  # per page: dpi, mode, size
    flags: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(8), default="upload")  # upload | import
    state: Mapped[str] = mapped_column(String(20), default="received", index=True)
    dossier_item_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_items.id"), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScanEvidence(Base):
    """The stamping pipeline's findings for one scan: the same evidence as a field photo's."""

    __tablename__ = "scan_evidence"

    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"), primary_key=True)
    evidence_no: Mapped[str] = mapped_column(String(40), unique=True)
    steps_done: Mapped[list] = mapped_column(JSON, default=list)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    sm3: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    hash_ok: Mapped[bool | None] = mapped_column(Boolean)
    hashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thumbnail_key: Mapped[str | None] = mapped_column(String(64))
    preview_key: Mapped[str | None] = mapped_column(String(64))
    derivatives_error: Mapped[str | None] = mapped_column(Text)
    tsa_status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    tsa_kind: Mapped[str | None] = mapped_column(String(10))
    tsa_name: Mapped[str | None] = mapped_column(String(200))
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    tsa_gen_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tsa_serial: Mapped[str | None] = mapped_column(String(64))
    tsa_attempts: Mapped[int] = mapped_column(Integer, default=0)
    tsa_error: Mapped[str | None] = mapped_column(Text)
    tsa_next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # who issued the token and what it was verified against (as for photos)
    tsa_url: Mapped[str | None] = mapped_column(String(500))
    tsa_chain_pem: Mapped[str | None] = mapped_column(Text)
    tsa_anchor_pem: Mapped[str | None] = mapped_column(Text)
    stamped_leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
