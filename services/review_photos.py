"""Opening photo bytes (original, preview, thumbnail) for the review pages; every opening is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Blob, Capture, DestructionRecord, Photo, audit
from services import review_evidence
from services.lifecycle import destruction
from services.unit_of_work import transaction

VARIANTS = ("thumbnail", "preview", "original")


@dataclass
class OpenedPhoto:
    """A stream of image bytes with what the response needs to know about it."""

    stream: BinaryIO
    mime_type: str
    key: str
    variant: str


def _key_for(photo: Photo, evidence: review_evidence.PhotoEvidence, variant: str) -> tuple[str | None, str]:
    if variant == "thumbnail" and evidence.thumbnail_key:
        return evidence.thumbnail_key, "image/jpeg"
    if variant in ("thumbnail", "preview") and evidence.preview_key:
        return evidence.preview_key, "image/jpeg"
    # Until derivatives exist, browsers are shown the original when they can display it.
    if photo.blob_sha256 and (variant == "original" or (photo.mime_type or "") in review_evidence.BROWSER_TYPES):
        return photo.blob_sha256, photo.mime_type or "application/octet-stream"
    return None, ""


def destroyed_photo(session: Session, photo: Photo, variant: str | None = None) -> errors.DomainError:
    """``photo.destroyed`` (410 Gone) naming the destruction record's number and date."""
    record = session.get(DestructionRecord, photo.destruction_record_id) if photo.destruction_record_id else None
    label = destruction.record_label(record.id, record.executed_at) if record else {}
    details = {"photo_id": photo.id, **(label or {})}
    if variant:
        details["variant"] = variant
    return errors.DomainError(errors.PHOTO_DESTROYED, details=details)


@transaction
def open_photo(
    session: Session,
    actor: Actor,
    blobs,
    photo_id: str,
    variant: str,
    now: datetime,
    *,
    only_inspector_id: int | None = None,
) -> OpenedPhoto:
    """Open one variant of a photo for streaming, or raise ``photo.unknown`` (``photo.destroyed`` once destroyed)."""
    if variant not in VARIANTS:
        raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"variant": variant})
    photo = session.get(Photo, photo_id) if isinstance(photo_id, str) else None
    if photo is None:
        raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"photo_id": photo_id})
    if only_inspector_id is not None:
        capture = session.get(Capture, photo.capture_id) if photo.capture_id else None
        if capture is None or capture.inspector_id != only_inspector_id:
            raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"photo_id": photo_id})
    if photo.state == "destroyed":
        raise destroyed_photo(session, photo, variant)
    evidence = review_evidence.for_photos(session, [photo])[photo.id]
    key, mime = _key_for(photo, evidence, variant)
    blob = session.get(Blob, key) if key else None
    if key is None or (blob is not None and blob.destroyed_at is not None) or not blobs.exists(key):
        raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"photo_id": photo_id, "variant": variant})
    audit.record(
        session,
        actor,
        "evidence.view",
        "photo",
        photo.id,
        {"variant": variant, "sha256": key, "capture_id": photo.capture_id},
        at=now,
    )
    return OpenedPhoto(blobs.open(key), mime, key, variant)
