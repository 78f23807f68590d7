"""The meeting point of declared photos (push) and stored bytes (uploads).

Whichever arrives second completes the photo: a push that declares a photo whose blob is
already stored, or an upload that finishes for a photo already declared ("upload first, claim
later" works both ways). Marking a photo received writes the ``photo.received`` outbox event in
the same transaction, so stamping can never be lost or started twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Blob, Capture, OutboxEvent, Photo

RECEIVED_EVENT = "photo.received"


def mark_received(session: Session, photo: Photo, blob: Blob, now: datetime) -> bool:
    """Attach a verified blob to a declared photo; False if it was already received."""
    if photo.blob_sha256 is not None:
        return False
    if blob.sha256 != photo.declared_sha256:
        raise ValueError("blob does not match the photo's declared SHA-256")
    photo.blob_sha256 = blob.sha256
    photo.state = "received"
    photo.received_at = now
    exists = session.scalar(
        select(OutboxEvent.id).where(OutboxEvent.event == RECEIVED_EVENT, OutboxEvent.subject_id == photo.id)
    )
    if exists is None:
        session.add(OutboxEvent(event=RECEIVED_EVENT, subject_id=photo.id, created_at=now))
    if photo.capture_id is not None:
        session.flush()
        refresh_completeness(session, photo.capture_id)
    return True


def blob_arrived(session: Session, blob: Blob, now: datetime) -> list[Photo]:
    """Mark every declared, not yet received photo with this blob's hash as received."""
    waiting = session.scalars(
        select(Photo).where(Photo.declared_sha256 == blob.sha256, Photo.blob_sha256.is_(None))
    ).all()
    return [photo for photo in waiting if mark_received(session, photo, blob, now)]


def refresh_completeness(session: Session, capture_id: str) -> bool:
    """A capture is complete when every photo it declares has arrived and verified."""
    capture = session.get(Capture, capture_id)
    pending = session.scalar(
        select(Photo.id).where(Photo.capture_id == capture_id, Photo.blob_sha256.is_(None)).limit(1)
    )
    capture.complete = pending is None
    return capture.complete
