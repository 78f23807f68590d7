"""The evidence of captured photos as the review pages show it, and the queue's flag filters.

Stamping (hashes, EXIF, time analysis, derivatives, RFC 3161 token) runs in the background;
until it has finished for a photo the photo shows as 盖章中 and carries the
``timestamp_pending`` flag. Nothing here changes evidence: it only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, cast, exists, literal, or_, select
from sqlalchemy.orm import Session

from capture_schema import PHOTO_CATEGORIES
from core.labels import FLAG_LABELS
from models import Blob, Capture, Photo
from models.evidence import PhotoEvidence as EvidenceRow
from services import like_patterns

FLAGS: dict[str, str] = {
    "time_mismatch": "时间不符",
    "clock_skew": "设备时钟偏差",
    "far_from_site": "远离现场",
    "edited": "疑似编辑",
    "metadata_unreadable": "元数据缺失或不可读",
    "timestamp_pending": "时间戳待盖",
    "incomplete": "缺少照片",
    "conflict": "修订冲突",
}
BROWSER_TYPES = ("image/jpeg", "image/png", "image/webp")
# The stamping pipeline's detailed flags, grouped into the queue's flags.
PIPELINE_FLAGS: dict[str, tuple[str, ...]] = {
    "time_mismatch": ("exif_vs_device_mismatch", "gps_vs_exif_mismatch", "capture_after_receipt"),
    "clock_skew": ("device_clock_skew",),
    "far_from_site": ("gps_far_from_site",),
    "edited": ("edited_by_software",),
    "metadata_unreadable": ("metadata_unreadable", "exif_missing", "no_camera_metadata"),
}
BASIS_LABELS = {
    "exif": "EXIF 拍摄时间",
    "gps": "GPS 卫星时间",
    "device": "平板申报时间（按时钟偏差校正）",
    "receipt": "服务器接收时间（上限）",
    "none": "无时间来源",
}
TIME_SOURCE_LABELS = {
    "exif_local": "EXIF 本地时间",
    "exif_offset": "EXIF 时区",
    "exif_source": "EXIF 来源标签",
    "exif_utc": "EXIF 折算 UTC",
    "gps_time_utc": "GPS 时间（UTC）",
    "device_captured_at": "平板申报拍摄时间",
    "device_clock_offset_s": "平板时钟偏差",
    "device_corrected": "平板时间（校正后）",
    "received_at": "服务器接收时间",
    "exif_vs_device_s": "EXIF 与平板相差",
    "gps_vs_exif_s": "GPS 与 EXIF 相差",
    "offset_inferred_from_gps": "由 GPS 推断时区",
    "offset_assumed": "假定时区",
    "distance_to_site_m": "距客户登记位置",
    "distance_source": "位置来源",
    "software": "编辑软件",
    "modified_after_capture_s": "拍摄后修改",
}


@dataclass
class PhotoEvidence:
    """What the stamping pipeline knows about one photo (or that it is still working on it)."""

    photo_id: str
    stamped: bool = False
    sha256: str | None = None
    sm3: str | None = None
    size: int | None = None
    exif: list[tuple[str, str]] = field(default_factory=list)
    estimated_at: datetime | None = None
    basis: str | None = None
    time_sources: list[tuple[str, str, object]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    thumbnail_key: str | None = None
    preview_key: str | None = None
    tsa_status: str = "pending"
    tsa_time: datetime | None = None
    gps: tuple[float, float, float | None] | None = None
    gps_source: str | None = None
    # the tablet's own fix pushed with the capture (latitude, longitude, accuracy in metres)
    device_gps: tuple[float, float, float | None] | None = None
    exif_gps: tuple[float, float] | None = None
    basis_detail: str | None = None
    pipeline_flags: list[str] = field(default_factory=list)
    tsa_name: str | None = None
    destroyed: bool = False  # the bytes were destroyed with the dossier: nothing to show
    tsa_kind: str | None = None
    basis_code: str | None = None
    time_details: dict = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        """The state shown to the archivist."""
        if self.destroyed:
            return "已销毁"
        return "已盖章" if self.stamped else "盖章中"


def photos_of(session: Session, capture_ids: list[str]) -> dict[str, list[Photo]]:
    """The photos of each capture, in slot and declaration order."""
    if not capture_ids:
        return {}
    out: dict[str, list[Photo]] = {cid: [] for cid in capture_ids}
    for photo in session.scalars(
        select(Photo)
        .where(Photo.capture_id.in_(capture_ids))
        .order_by(Photo.capture_id, Photo.slot, Photo.created_at, Photo.id)
    ):
        assert photo.capture_id is not None
        out[photo.capture_id].append(photo)
    return out


def for_photos(session: Session, photos: list[Photo]) -> dict[str, PhotoEvidence]:
    """Evidence of each photo, in a fixed number of queries."""
    keys = [p.blob_sha256 for p in photos if p.blob_sha256]
    blobs: dict[str | None, Blob]
    blobs = {b.sha256: b for b in session.scalars(select(Blob).where(Blob.sha256.in_(keys)))} if keys else {}
    rows = {}
    if EvidenceRow is not None and photos:
        rows = {
            r.photo_id: r
            for r in session.scalars(select(EvidenceRow).where(EvidenceRow.photo_id.in_([p.id for p in photos])))
        }
    out = {p.id: _evidence_of(p, blobs.get(p.blob_sha256), rows.get(p.id)) for p in photos}
    for photo in photos:
        if photo.state == "destroyed":
            ev = out[photo.id]
            ev.destroyed, ev.thumbnail_key, ev.preview_key = True, None, None
    return out


def _evidence_of(photo: Photo, blob: Blob | None, row) -> PhotoEvidence:
    ev = PhotoEvidence(
        photo.id,
        sha256=photo.blob_sha256 or photo.declared_sha256,
        sm3=blob.sm3 if blob else None,
        size=blob.size if blob else photo.declared_size,
    )
    if photo.device_latitude is not None and photo.device_longitude is not None:
        ev.gps = (photo.device_latitude, photo.device_longitude, photo.device_gps_accuracy_m)
        ev.gps_source = "平板定位"
        ev.device_gps = ev.gps
    if row is None:
        ev.estimated_at = photo.device_captured_at
        ev.basis = "平板申报时间（尚未核验）" if photo.device_captured_at else None
        ev.flags = ["timestamp_pending"]
        return ev
    ev.stamped = row.completed_at is not None
    ev.sha256 = row.sha256 or ev.sha256
    ev.sm3 = row.sm3 or ev.sm3
    ev.size = row.size or ev.size
    ev.exif = sorted((str(k), str(v)) for k, v in (row.exif_raw or {}).items())
    ev.estimated_at = row.estimated_capture_at or photo.device_captured_at
    analysis = row.time_analysis or {}
    code = analysis.get("basis_code")
    ev.basis = BASIS_LABELS.get(code, row.estimate_basis) if code else (row.estimate_basis or None)
    ev.basis_detail = row.estimate_basis
    details = analysis.get("details") or {}
    # (key, label, stored value): the page words each value by its key (times, durations, places)
    ev.time_sources = [
        (k, TIME_SOURCE_LABELS[k], details[k]) for k in TIME_SOURCE_LABELS if details.get(k) not in (None, "")
    ]
    ev.basis_code = code
    ev.time_details = details
    ev.pipeline_flags = list(row.flags or [])
    ev.flags = [flag for flag, members in PIPELINE_FLAGS.items() if set(members) & set(ev.pipeline_flags)]
    ev.thumbnail_key = row.thumbnail_key
    ev.preview_key = row.preview_key
    ev.tsa_status = row.tsa_status or "pending"
    ev.tsa_time = row.tsa_gen_time
    ev.tsa_name = row.tsa_name
    ev.tsa_kind = row.tsa_kind
    if ev.tsa_status != "granted":
        ev.flags.append("timestamp_pending")
    if row.gps_latitude is not None and row.gps_longitude is not None:
        ev.gps = (row.gps_latitude, row.gps_longitude, None)
        ev.gps_source = "照片 EXIF GPS"
        ev.exif_gps = (row.gps_latitude, row.gps_longitude)
    return ev


@dataclass(frozen=True)
class Estimate:
    """The estimated capture time of a whole capture and what it rests on."""

    at: datetime | None
    basis: str | None


def capture_time_estimate(capture: Capture, photos: list[Photo], evidence: list[PhotoEvidence]) -> Estimate:
    """The earliest estimated photo time; else the device's creation time of the form."""
    estimates = [(e.estimated_at, e.basis) for e in evidence if e.estimated_at is not None]
    if estimates:
        at, basis = min(estimates, key=lambda pair: pair[0])
        return Estimate(at, basis)
    if capture.device_created_at is not None:
        return Estimate(capture.device_created_at, "设备时钟（表单创建）")
    return Estimate(None, None)


def capture_flags(capture: Capture, evidence: list[PhotoEvidence]) -> list[str]:
    """The flags of a capture: its photos' evidence flags plus incomplete and conflict."""
    found = {flag for e in evidence for flag in e.flags}
    if not capture.complete:
        found.add("incomplete")
    if capture.has_conflict:
        found.add("conflict")
    return [flag for flag in FLAGS if flag in found]


def probe(*conditions):
    """EXISTS over these conditions, evaluated per capture (the queue walks in order and stops early).

    ``OFFSET 0`` keeps PostgreSQL from turning it into a join or a hashed set of every matching
    photo of the archive, which would cost in proportion to the archive, not to the page.
    """
    return select(literal(1)).where(*conditions).offset(0).exists()


def flag_clause(flag: str):
    """A SQL condition on ``Capture`` selecting captures that carry ``flag``."""
    if flag == "incomplete":
        return Capture.complete.is_(False)
    if flag == "conflict":
        return Capture.has_conflict.is_(True)
    if flag == "timestamp_pending":
        granted = exists().where(EvidenceRow.photo_id == Photo.id, EvidenceRow.tsa_status == "granted")
        return probe(Photo.capture_id == Capture.id, ~granted)
    # flags are a JSON list; matching the quoted code in its text works on SQLite and PostgreSQL
    text = cast(EvidenceRow.flags, String)
    return probe(
        Photo.capture_id == Capture.id,
        EvidenceRow.photo_id == Photo.id,
        or_(
            *[
                text.like(like_patterns.json_string_member(member), escape=like_patterns.ESCAPE)
                for member in PIPELINE_FLAGS[flag]
            ]
        ),
    )


def has_image(photo: Photo, evidence: PhotoEvidence) -> bool:
    """True when a browser can be shown something of the photo (a derivative or the original)."""
    if evidence.destroyed:
        return False
    return bool(
        evidence.thumbnail_key
        or evidence.preview_key
        or (photo.blob_sha256 and (photo.mime_type or "") in BROWSER_TYPES)
    )


def pipeline_flag_labels() -> dict[str, str]:
    """Chinese names of the stamping pipeline's detailed flags."""
    return dict(FLAG_LABELS)


def photo_categories() -> dict[str, str]:
    """Photo categories with their Chinese names."""
    return dict(PHOTO_CATEGORIES)
