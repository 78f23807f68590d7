"""Sweeping uploads: expired unfinished uploads, interrupted finishes, and unclaimed blobs.

``sweep_uploads`` is idempotent and safe to run from several processes at once: every step
claims what it changes with the same locks the web requests use, and commits per item.

"Unclaimed" means: an upload finished (bytes verified and stored) more than the grace period
ago (``UPLOAD_UNCLAIMED_GRACE_SECONDS``, default 7 days), and still no photo declares or holds
its SHA-256, no newer upload carries the same bytes, and no other table references the blob.
Only then are the blob row and its bytes removed. A blob that any photo references is never
touched: the check runs under the blob row's lock and the photos' foreign key backs it up.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import CursorResult, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actor import SYSTEM
from models import Base, Blob, Photo, Upload, audit
from models.database import db
from ports.blobstore import BlobStore
from ports.clock import Clock
from services import uploads as upload_service
from sync import uploads as tus

log = logging.getLogger("dangan.sweeps")


class _FixedClock(Clock):
    """The sweep's one ``now`` handed to the upload services."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self) -> datetime:
        """Return the sweep's time."""
        return self._now


def _lock_free(now: datetime):
    return or_(Upload.lock_token.is_(None), Upload.lock_expires_at < now)


def expire_uploads(session: Session, blobs: BlobStore, now: datetime) -> int:
    """Mark unfinished uploads past Upload-Expires as expired and drop their staged bytes."""
    ids = session.scalars(
        select(Upload.id).where(Upload.state == "receiving", Upload.expires_at <= now, _lock_free(now))
    ).all()
    count = 0
    for upload_id in ids:
        # the same condition again, atomically: a PATCH may have claimed it in between
        result = session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.state == "receiving", Upload.expires_at <= now, _lock_free(now))
            .values(state="expired", updated_at=now, lock_token=None, lock_owner=None, lock_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            session.rollback()
            continue
        audit.record(session, SYSTEM, "upload.expired", "upload", upload_id, at=now)
        session.commit()
        tus.DIGESTS.forget(upload_id)
        tus.discard_staging(blobs, upload_id)
        count += 1
    return count


def resume_finishes(session: Session, blobs: BlobStore, now: datetime, settings: tus.UploadSettings) -> int:
    """Complete finishes that a crash interrupted (verified bytes not yet recorded)."""
    stuck = session.scalars(select(Upload).where(Upload.state == "finishing", _lock_free(now))).all()
    done = 0
    for upload in stuck:
        if upload_service.resume_finishing(session, SYSTEM, upload, _FixedClock(now), blobs, settings):
            done += 1
    return done


def _blob_references() -> list:
    """Every column of another table that points at ``blobs.sha256`` (found from the metadata)."""
    columns = []
    for table in Base.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name == "blobs" and fk.column.name == "sha256":
                columns.append(fk.parent)
    return columns


def _referenced(session: Session, sha256: str, cutoff: datetime) -> bool:
    """True if a photo, a recent or unfinished upload, or any other row still needs this blob."""
    if session.scalar(select(exists().where(or_(Photo.declared_sha256 == sha256, Photo.blob_sha256 == sha256)))):
        return True
    if session.scalar(
        select(
            exists().where(
                or_(Upload.sha256 == sha256, Upload.declared_sha256 == sha256),
                or_(
                    Upload.state.in_(("receiving", "finishing")),
                    (Upload.state == "finished") & (Upload.finished_at > cutoff),
                ),
            )
        )
    ):
        return True
    return any(session.scalar(select(exists().where(column == sha256))) for column in _blob_references())


def sweep_unclaimed(session: Session, blobs: BlobStore, now: datetime, settings: tus.UploadSettings) -> int:
    """Remove blobs of uploads that no photo claimed within the grace period."""
    cutoff = now - settings.unclaimed_grace
    candidates = session.scalars(
        select(Upload.sha256).where(Upload.state == "finished", Upload.finished_at <= cutoff).distinct()
    ).all()
    swept = 0
    for sha256 in candidates:
        assert sha256 is not None  # a finished upload has its verified hash
        try:
            # lock the blob row first (PostgreSQL row lock / SQLite write lock), then look:
            # a concurrent finish or push either committed before us or waits for us
            session.execute(
                update(Blob)
                .where(Blob.sha256 == sha256)
                .values(size=Blob.size)
                .execution_options(synchronize_session=False)
            )
            if _referenced(session, sha256, cutoff):
                session.rollback()
                continue
            deleted = session.execute(
                delete(Blob).where(Blob.sha256 == sha256).execution_options(synchronize_session=False)
            )
            assert isinstance(deleted, CursorResult)
            removed = deleted.rowcount
            uploads = session.scalars(select(Upload).where(Upload.sha256 == sha256, Upload.state == "finished")).all()
            for upload in uploads:
                assert upload.finished_at is not None
                upload.state = "swept"
                upload.updated_at = now
                audit.record(
                    session,
                    SYSTEM,
                    "upload.swept",
                    "upload",
                    upload.id,
                    {"sha256": sha256, "photo_id": upload.photo_id, "finished_at": upload.finished_at.isoformat()},
                    at=now,
                )
            session.flush()
            if removed:
                blobs.destroy(sha256)
            session.commit()
            swept += 1
        except IntegrityError:
            # a photo took the blob after all (its foreign key stops the delete): keep it
            session.rollback()
    return swept


def sweep_uploads(
    session: Session, blobs: BlobStore, now: datetime, settings: tus.UploadSettings | None = None
) -> dict[str, int]:
    """Run every upload sweep once; returns how many uploads each step changed."""
    settings = settings or tus.UploadSettings()
    result = {
        "expired": expire_uploads(session, blobs, now),
        "finished": resume_finishes(session, blobs, now, settings),
        "unclaimed": sweep_unclaimed(session, blobs, now, settings),
    }
    if any(result.values()):
        log.info("upload sweep: %s", result)
    return result


def sweep_in_app(app) -> dict[str, int]:
    """Sweep uploads inside ``app`` with its ports and settings (the job body of :mod:`workers.jobs`)."""
    with app.app_context():
        ports = app.extensions["dangan.ports"]
        return sweep_uploads(db.session(), ports.blobs, ports.clock.now(), tus.settings_from(app.config))
