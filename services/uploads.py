"""Use cases of resumable photo uploads (tus): create, status, write a chunk, finish, terminate.

Each use case owns its transactions. A PATCH commits on purpose: claiming the write lock (so
other processes see it while the body streams), the synced offset every ``progress_seconds``
while bytes land (so a cut or killed PATCH keeps them), the new offset (after fsync), and, on
the last byte, the finish in two steps (digests first, then blob + photos) so that a crash
between moving the bytes and recording them is completed by the next HEAD, PATCH or sweep.
No Flask here: the sweep job uses these functions too.
"""

from __future__ import annotations

import io
import logging
import math
import time
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Upload, audit
from ports.blobstore import BlobStore
from ports.clock import Clock
from sync import uploads as tus
from sync.uploads import CreateRequest, Digests, PatchRequest, UploadSettings

log = logging.getLogger("dangan.uploads")


class _LockKeeper:
    """Renews the write lock while a body streams; says False once the lock was lost."""

    def __init__(self, session: Session, upload_id: str, token: str, clock: Clock, settings: UploadSettings):
        self.session, self.upload_id, self.token = session, upload_id, token
        self.clock, self.settings = clock, settings
        self.renewed = time.monotonic()

    def __call__(self) -> bool:
        if time.monotonic() - self.renewed < self.settings.lock_renew_seconds:
            return True
        held = tus.renew_lock(self.session, self.upload_id, self.token, self.clock.now(), self.settings.lock_ttl)
        self.session.commit()
        self.renewed = time.monotonic()
        return held


class _ProgressRecorder(tus.Progress):
    """Commits the offset of the bytes a PATCH has synced so far, every ``progress_seconds``."""

    def __init__(self, session: Session, upload_id: str, token: str, clock: Clock, settings: UploadSettings):
        self.session, self.upload_id, self.token = session, upload_id, token
        self.clock, self.settings = clock, settings
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.settings.progress_seconds

    def record(self, offset: int) -> bool:
        now = self.clock.now()
        result = self.session.execute(
            update(Upload)
            .where(Upload.id == self.upload_id, Upload.lock_token == self.token, Upload.state == "receiving")
            .values(
                offset=offset,
                updated_at=now,
                expires_at=now + self.settings.expiry,
                lock_expires_at=now + self.settings.lock_ttl,
            )
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        recorded = result.rowcount == 1
        self.session.commit()
        self.last = time.monotonic()
        return recorded


def _release(session: Session, upload_id: str, token: str) -> None:
    """Roll back whatever failed, then give the lock back in its own transaction."""
    session.rollback()
    tus.release_lock(session, upload_id, token)
    session.commit()


def create(
    session: Session,
    actor: Actor,
    device_id: str,
    request: CreateRequest,
    first_chunk: PatchRequest | None,
    body: BinaryIO | None,
    clock: Clock,
    blobs: BlobStore,
    settings: UploadSettings,
) -> Upload:
    """Create an upload (creation) and, with a body, write its first chunk (creation-with-upload)."""
    now = clock.now()
    upload = tus.new_upload(session, device_id, request, now, settings)
    audit.record(
        session,
        actor,
        "upload.created",
        "upload",
        upload.id,
        {
            "photo_id": upload.photo_id,
            "declared_sha256": upload.declared_sha256,
            "length": upload.length,
            "filename": upload.filename,
        },
        at=now,
    )
    session.commit()
    if first_chunk is not None and body is not None:
        try:
            return write(session, actor, device_id, upload.id, first_chunk, body, clock, blobs, settings)
        except errors.DomainError as exc:
            exc.details.setdefault("upload_id", upload.id)
            raise
    if upload.length == 0:
        return write(session, actor, device_id, upload.id, PatchRequest(0, 0), None, clock, blobs, settings)
    return upload


def status(
    session: Session,
    actor: Actor,
    device_id: str,
    upload_id: str,
    clock: Clock,
    blobs: BlobStore,
    settings: UploadSettings,
) -> Upload:
    """The upload's offset and length for HEAD; completes an interrupted finish on the way."""
    upload = tus.load_upload(session, device_id, upload_id)
    tus.check_alive(upload, clock.now())
    if upload.state == "finishing":
        return _finished_or_locked(session, actor, upload, clock, blobs, settings)
    return upload


def _already_complete(
    session: Session,
    actor: Actor,
    upload: Upload,
    request: PatchRequest,
    clock: Clock,
    blobs: BlobStore,
    settings: UploadSettings,
) -> Upload:
    """A PATCH to a complete upload: a retried last chunk gets the same answer, nothing refires."""
    end = request.offset + (request.content_length or 0)
    if request.offset != upload.length and end != upload.length:
        raise errors.DomainError(
            errors.UPLOAD_OFFSET_MISMATCH,
            details={"offset": upload.length},
            headers={"Upload-Offset": str(upload.length)},
        )
    if upload.state == "finishing":
        return _finished_or_locked(session, actor, upload, clock, blobs, settings)
    return upload


def _finished_or_locked(
    session: Session, actor: Actor, upload: Upload, clock: Clock, blobs: BlobStore, settings: UploadSettings
) -> Upload:
    """Finish an interrupted finish now, or say 423 while another holder's lease runs.

    Never report a finishing upload as complete: the client would stop, and the photo would wait
    for bytes it will never send again. A finisher that died holds its lease until it expires.
    """
    resume_finishing(session, actor, upload, clock, blobs, settings)
    upload = tus.load_upload(session, upload.device_id, upload.id)
    if upload.state != "finishing":
        return upload
    wait = 1
    if upload.lock_expires_at is not None:
        wait = max(1, math.ceil((upload.lock_expires_at - clock.now()).total_seconds()))
    raise errors.DomainError(errors.UPLOAD_LOCKED, details={"upload_id": upload.id}, headers={"Retry-After": str(wait)})


def write(
    session: Session,
    actor: Actor,
    device_id: str,
    upload_id: str,
    request: PatchRequest,
    body: BinaryIO | None,
    clock: Clock,
    blobs: BlobStore,
    settings: UploadSettings,
) -> Upload:
    """Append one PATCH body at the stored offset under the write lock; finish on the last byte."""
    upload = tus.load_upload(session, device_id, upload_id)
    tus.check_alive(upload, clock.now())
    if upload.state in ("finishing", "finished"):
        return _already_complete(session, actor, upload, request, clock, blobs, settings)
    if request.offset != upload.offset:
        raise errors.DomainError(
            errors.UPLOAD_OFFSET_MISMATCH,
            details={"offset": upload.offset},
            headers={"Upload-Offset": str(upload.offset)},
        )
    if request.length is not None and request.length > settings.max_size:
        raise errors.DomainError(errors.UPLOAD_TOO_LARGE, details={"max": settings.max_size})
    tus.check_parallel(session, device_id, upload.id, clock.now(), settings)
    token = tus.claim_lock(session, upload, clock.now(), settings.lock_ttl)
    session.commit()
    if token is None:
        raise errors.DomainError(errors.UPLOAD_LOCKED, headers={"Retry-After": "1"})
    try:
        # the lock is ours: read the state again, another PATCH may have committed meanwhile
        upload = tus.load_upload(session, device_id, upload_id)
        if upload.offset != request.offset or upload.state != "receiving":
            raise errors.DomainError(
                errors.UPLOAD_OFFSET_MISMATCH,
                details={"offset": upload.offset},
                headers={"Upload-Offset": str(upload.offset)},
            )
        tus.apply_deferred_length(upload, request.length)
        room = tus.room_left(upload, settings)
        if request.content_length is not None and request.content_length > room:
            raise errors.DomainError(errors.UPLOAD_EXCEEDS_LENGTH, details={"room": room})
        # PATCHes of one upload land on any web process: this one's digests may trail by the bytes
        # others wrote, which it reads back while the body arrives, so the last PATCH need not re-hash
        # the whole file before it answers
        digests = tus.DIGESTS.take(upload.id, upload.offset, trailing=True)
        keeper = _LockKeeper(session, upload.id, token, clock, settings)
        start = upload.offset
        progress = _ProgressRecorder(session, upload.id, token, clock, settings)
        staged = tus.staging_path(blobs, upload.id)
        # hold no database connection while a slow body streams in (touch no expired attribute)
        session.commit()
        try:
            # an empty body still creates the staging file (a 0-byte upload finishes at once)
            result = tus.write_chunk(
                staged,
                start,
                body if body is not None else io.BytesIO(),
                room,
                settings.read_chunk,
                request.checksum,
                digests,
                keeper,
                progress,
            )
        except tus.StagingLost as exc:
            log.error("staged bytes lost: %s", exc)
            _reject(session, actor, upload, blobs, clock.now(), {"reason": "staging_lost"})
            raise errors.DomainError(errors.UPLOAD_REJECTED, details={"reason": "staging_lost"}) from None
        now = clock.now()
        upload.offset = start + result.written
        upload.updated_at = now
        upload.expires_at = now + settings.expiry
        if upload.length is not None and upload.offset == upload.length:
            return _finish(session, actor, upload, digests, token, clock, blobs, settings)
        tus.release_lock(session, upload.id, token)
        session.commit()
        if digests is not None:
            tus.DIGESTS.keep(upload.id, digests)
        return upload
    except BaseException:
        tus.DIGESTS.forget(upload_id)
        _release(session, upload_id, token)
        raise


def _reject(session: Session, actor: Actor, upload: Upload, blobs: BlobStore, now: datetime, details: dict) -> None:
    """Reject an upload for good (its bytes did not verify or were lost) and say so in the audit log."""
    tus.reject_lost(upload, blobs, now)
    upload.lock_token = upload.lock_owner = upload.lock_expires_at = None
    audit.record(
        session,
        actor,
        "upload.rejected",
        "upload",
        upload.id,
        {"photo_id": upload.photo_id, "declared_sha256": upload.declared_sha256, **details},
        at=now,
    )
    session.commit()
    tus.DIGESTS.forget(upload.id)


def _finish(
    session: Session,
    actor: Actor,
    upload: Upload,
    digests: Digests | None,
    token: str,
    clock: Clock,
    blobs: BlobStore,
    settings: UploadSettings,
) -> Upload:
    """Verify the whole file against its declared SHA-256, then store it (lock held)."""
    now = clock.now()
    if digests is None or digests.at != upload.length:
        assert upload.length is not None  # a finishing upload has its length
        digests = tus.hash_file(tus.staging_path(blobs, upload.id), upload.length, settings.read_chunk)
    tus.DIGESTS.forget(upload.id)
    if not tus.verify(upload, digests, now):
        received = upload.sha256
        _reject(session, actor, upload, blobs, now, {"reason": "sha256_mismatch", "sha256": received})
        raise errors.DomainError(
            errors.UPLOAD_SHA256_MISMATCH, details={"declared": upload.declared_sha256, "received": received}
        )
    session.commit()  # digests and "finishing" are durable before any byte moves
    return _complete(session, actor, upload, token, clock, blobs)


def _complete(session: Session, actor: Actor, upload: Upload, token: str, clock: Clock, blobs: BlobStore) -> Upload:
    """Store the verified bytes, record the blob and the photos it completes, release the lock."""
    now = clock.now()
    try:
        photos = tus.store(session, upload, blobs, now)
    except tus.StagingLost as exc:
        log.error("verified bytes lost before storing: %s", exc)
        session.rollback()
        _reject(session, actor, upload, blobs, now, {"reason": "staging_lost"})
        raise errors.DomainError(errors.UPLOAD_REJECTED, details={"reason": "staging_lost"}) from None
    audit.record(
        session,
        actor,
        "upload.finished",
        "upload",
        upload.id,
        {
            "photo_id": upload.photo_id,
            "sha256": upload.sha256,
            "size": upload.length,
            "photos_received": [photo.id for photo in photos],
        },
        at=now,
    )
    tus.release_lock(session, upload.id, token)
    session.commit()
    return upload


def resume_finishing(
    session: Session, actor: Actor, upload: Upload, clock: Clock, blobs: BlobStore, settings: UploadSettings
) -> bool:
    """Complete a finish that a crash interrupted; False if another request is on it right now."""
    token = tus.claim_lock(session, upload, clock.now(), settings.lock_ttl)
    session.commit()
    if token is None:
        return False
    fresh = session.get(Upload, upload.id, populate_existing=True)
    assert fresh is not None  # the lock is held on this row
    upload = fresh
    if upload.state != "finishing":
        _release(session, upload.id, token)
        return False
    try:
        _complete(session, actor, upload, token, clock, blobs)
    except errors.DomainError:
        return False
    except BaseException:
        _release(session, upload.id, token)
        raise
    return True


def terminate(
    session: Session,
    actor: Actor,
    device_id: str,
    upload_id: str,
    clock: Clock,
    blobs: BlobStore,
    settings: UploadSettings,
) -> None:
    """DELETE: drop an unfinished upload and its staged bytes (a finished one is kept, 409)."""
    upload = tus.load_upload(session, device_id, upload_id)
    if upload.state in ("finishing", "finished"):
        raise errors.DomainError(errors.UPLOAD_FINISHED)
    tus.check_alive(upload, clock.now())
    token = tus.claim_lock(session, upload, clock.now(), settings.lock_ttl)
    session.commit()
    if token is None:
        raise errors.DomainError(errors.UPLOAD_LOCKED, headers={"Retry-After": "1"})
    fresh = session.get(Upload, upload.id, populate_existing=True)
    assert fresh is not None  # the lock is held on this row
    upload = fresh
    now = clock.now()
    upload.state = "terminated"
    upload.updated_at = now
    upload.lock_token = upload.lock_owner = upload.lock_expires_at = None
    audit.record(
        session,
        actor,
        "upload.terminated",
        "upload",
        upload.id,
        {"photo_id": upload.photo_id, "offset": upload.offset},
        at=now,
    )
    session.commit()
    tus.DIGESTS.forget(upload.id)
    tus.discard_staging(blobs, upload.id)
