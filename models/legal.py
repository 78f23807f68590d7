"""Legal retrieval: evidence export requests (with approval and progress) and the use register.

Also declares the indexes that keep the legal search fast on a million photos: keyset
pagination walks photos in (received_at, id) order, or evidence in (estimated capture time,
photo id) order, optionally within one capture (and so one customer).
"""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.captures import Photo
from models.evidence import PhotoEvidence

EXPORT_STATES = {
    "awaiting_approval": "待审批",
    "rejected": "已驳回",
    "queued": "排队中",
    "running": "生成中",
    "done": "已完成",
    "failed": "失败",
    "expired": "已过期删除",
    "destroyed": "已随档案销毁",
}
USE_ACTIONS = {
    "search": "检索",
    "open": "查看",
    "download": "下载原件",
    "export_request": "申请导出",
    "export": "导出证据包",
    "bundle_download": "下载证据包",
}


class EvidenceExport(Base):
    """One request to export photos as an evidence bundle, from asking through approval to the ZIP."""

    __tablename__ = "evidence_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(Text)
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    # scanned paper documents in the bundle (a customer's export includes them); [] for photo-only exports
    scan_ids: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), index=True)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(100))
    phase: Mapped[str | None] = mapped_column(String(30))
    done_items: Mapped[int] = mapped_column(Integer, default=0)
    done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # The manifest is fixed the first time the job runs and its hash goes into the evidence log,
    # so a re-run after a crash writes the very same manifest again.
    manifest: Mapped[bytes | None] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    events_logged: Mapped[bool] = mapped_column(Boolean, default=False)
    checkpoint_size: Mapped[int | None] = mapped_column(BigInteger)
    bundle_path: Mapped[str | None] = mapped_column(String(400))
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))
    bundle_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the bundle is kept on the server until expires_at (EXPORT_BUNDLE_DAYS after it was built),
    # or until a destruction of one of its photos removes it (state destroyed, removed_at)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destruction_record_id: Mapped[int | None] = mapped_column(ForeignKey("destruction_records.id"))


class EvidenceUse(Base):
    """One line of the use register (档案利用登记): who used which evidence, how, when and why."""

    __tablename__ = "evidence_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    user_label: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(20))
    photo_id: Mapped[str | None] = mapped_column(String(36), index=True)
    export_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_exports.id"), index=True)
    purpose: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


Index("ix_photos_legal_received", Photo.received_at, Photo.id)
Index("ix_photos_legal_capture", Photo.capture_id, Photo.received_at, Photo.id)
Index("ix_photo_evidence_legal_captured", PhotoEvidence.estimated_capture_at, PhotoEvidence.photo_id)
