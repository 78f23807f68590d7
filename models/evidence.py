"""Evidence extracted from received photos, pipeline progress, and the transparency log."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

TSA_STATUSES = ("pending", "granted", "failed")
RUN_STATUSES = ("queued", "running", "retry_wait", "done", "failed")


class PhotoEvidence(Base):
    """What the stamping pipeline established about one photo; the original bytes stay untouched."""

    __tablename__ = "photo_evidence"

    photo_id: Mapped[str] = mapped_column(ForeignKey("photos.id"), primary_key=True)
    evidence_no: Mapped[str] = mapped_column(String(40), unique=True)
    steps_done: Mapped[list] = mapped_column(JSON, default=list)
    # step 1: hashes re-computed from the stored bytes
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    sm3: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    hash_ok: Mapped[bool | None] = mapped_column(Boolean)
    hashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # step 2: metadata as read, raw values kept
    metadata_status: Mapped[str | None] = mapped_column(String(12))  # ok | absent | unreadable
    metadata_reason: Mapped[str | None] = mapped_column(Text)
    reader: Mapped[str | None] = mapped_column(String(40))
    exif_raw: Mapped[dict] = mapped_column(JSON, default=dict)
    parsed: Mapped[dict] = mapped_column(JSON, default=dict)
    gps_latitude: Mapped[float | None] = mapped_column(Float)
    gps_longitude: Mapped[float | None] = mapped_column(Float)
    # step 3: time analysis
    estimated_capture_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    estimate_basis: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    time_analysis: Mapped[dict] = mapped_column(JSON, default=dict)
    # step 4: derived copies, content-addressed in the blob store
    thumbnail_key: Mapped[str | None] = mapped_column(String(64))
    preview_key: Mapped[str | None] = mapped_column(String(64))
    stamped_key: Mapped[str | None] = mapped_column(String(64))
    derivatives_error: Mapped[str | None] = mapped_column(Text)
    # step 5: RFC 3161 timestamp over the SHA-256
    tsa_status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    tsa_kind: Mapped[str | None] = mapped_column(String(10))  # local | external
    tsa_name: Mapped[str | None] = mapped_column(String(200))
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)  # the DER TimeStampResp
    tsa_gen_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tsa_serial: Mapped[str | None] = mapped_column(String(64))
    tsa_attempts: Mapped[int] = mapped_column(Integer, default=0)
    tsa_error: Mapped[str | None] = mapped_column(Text)
    tsa_next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # who issued the token: the TSA's URL (None = built-in local TSA), its certificate chain (PEM,
    # signer first) and the root certificate the token was verified against at stamping (PEM)
    tsa_url: Mapped[str | None] = mapped_column(String(500))
    tsa_chain_pem: Mapped[str | None] = mapped_column(Text)
    tsa_anchor_pem: Mapped[str | None] = mapped_column(Text)
    # step 6: transparency log
    stamped_leaf_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PipelineRun(Base):
    """Durable progress of one outbox event through its pipeline; Redis only delivers the work."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (UniqueConstraint("event", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    job_id: Mapped[str | None] = mapped_column(String(200))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LogLeaf(Base):
    """One evidence event in the append-only Merkle log; ``index`` is its leaf position (0-based)."""

    __tablename__ = "log_leaves"

    index: Mapped[int] = mapped_column(
        "leaf_index", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)  # the canonical JSON exactly as hashed
    leaf_hash: Mapped[str] = mapped_column(String(64))
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogNode(Base):
    """A complete subtree of the log above the leaves: level ``level``, ``index``-th from the left.

    It covers leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 is ``LogLeaf.leaf_hash``.
    Written with the leaf that completes it, so roots and proofs read O(log n) rows.
    """

    __tablename__ = "log_nodes"
    # a clustered key on SQLite: the node rows are the index, not a copy of it
    __table_args__ = {"sqlite_with_rowid": False}

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(
        "node_index", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    """A signed tree head (Ed25519 signed note), itself timestamped by the TSA."""

    __tablename__ = "log_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    key_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    tsa_status: Mapped[str] = mapped_column(String(10), default="pending")
    tsa_kind: Mapped[str | None] = mapped_column(String(10))
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    tsa_gen_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tsa_error: Mapped[str | None] = mapped_column(Text)
    tsa_name: Mapped[str | None] = mapped_column(String(200))
    # who issued the token: the TSA's URL (None = built-in local TSA), its certificate chain (PEM,
    # signer first) and the root certificate the token was verified against at stamping (PEM)
    tsa_url: Mapped[str | None] = mapped_column(String(500))
    tsa_chain_pem: Mapped[str | None] = mapped_column(Text)
    tsa_anchor_pem: Mapped[str | None] = mapped_column(Text)
