"""The tus 1.0 upload state machine and its storage: parsing, locking, streaming, verifying, storing.

No Flask here. The web layer turns HTTP headers into the small request objects below and hands
over the request body as a file-like object; the service layer decides when to commit.

Where the truth lives: the ``uploads`` row (offset, length, lock, state) and the staging file
``<blob staging>/uploads/<id>.part``. The staging file may hold more bytes than the offset (a
PATCH that died before committing); those are cut off before the next write. The only thing
kept in process memory is a cache of running SHA-256 states keyed by (upload, offset): when it
misses (another process took the previous chunk, or the server restarted) the complete staged
file is hashed once at the end, by streaming it (see docs/performance.md for why that beats
persisting the hash state). SM3 is not computed here: stamping computes it from the stored bytes.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import errno
import hashlib
import os
import queue
import re
import secrets
import socket
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Callable, Mapping

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from capture_schema.base import is_safe_filename
from core import errors
from models import Blob, Device, Photo, Upload
from ports.blobstore import BlobStore
from sync.photos import blob_arrived

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "creation-defer-length", "expiration", "checksum", "termination")
CHECKSUM_ALGORITHMS = ("sha1", "md5", "sha256")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# the headers a browser client must be allowed to send and to read (CORS)
REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Offset",
    "Upload-Checksum",
    "Upload-Defer-Length",
    "Upload-Concat",
    "X-HTTP-Method-Override",
    "X-Requested-With",
)
EXPOSED_HEADERS = (
    "Location",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Expires",
    "Retry-After",
)
METHODS = ("POST", "HEAD", "PATCH", "DELETE", "OPTIONS")

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_INTEGER = re.compile(r"^[0-9]{1,19}$")
_METADATA_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")


@dataclass(frozen=True)
class UploadSettings:
    """Limits and durations of the upload service (config keys in ``settings_from``)."""

    max_size: int = 1 << 30
    expiry: timedelta = timedelta(hours=24)
    unclaimed_grace: timedelta = timedelta(days=7)
    lock_ttl: timedelta = timedelta(seconds=30)
    lock_renew_seconds: float = 5.0
    read_chunk: int = 1 << 20
    max_metadata_bytes: int = 4096
    progress_seconds: float = 2.0  # a PATCH commits the bytes it has synced at least this often
    max_parallel_per_device: int = 4  # PATCH requests one device may have writing at once


def settings_from(config: Mapping) -> UploadSettings:
    """Build settings from an app config mapping; missing keys keep the defaults.

    The lock lease may also come from ``DANGAN_UPLOAD_LOCK_TTL_SECONDS`` (every web node the same).
    """
    base = UploadSettings()
    lock_ttl = float(
        os.environ.get("DANGAN_UPLOAD_LOCK_TTL_SECONDS")
        or config.get("UPLOAD_LOCK_TTL_SECONDS", base.lock_ttl.total_seconds())
    )
    return UploadSettings(
        max_size=int(config.get("UPLOAD_MAX_BYTES", base.max_size)),
        expiry=timedelta(seconds=int(config.get("UPLOAD_EXPIRY_SECONDS", base.expiry.total_seconds()))),
        unclaimed_grace=timedelta(
            seconds=int(config.get("UPLOAD_UNCLAIMED_GRACE_SECONDS", base.unclaimed_grace.total_seconds()))
        ),
        lock_ttl=timedelta(seconds=lock_ttl),
        lock_renew_seconds=min(base.lock_renew_seconds, lock_ttl / 3),  # renewed well before it runs out
        read_chunk=int(config.get("UPLOAD_READ_CHUNK_BYTES", base.read_chunk)),
        progress_seconds=float(config.get("UPLOAD_PROGRESS_SECONDS", base.progress_seconds)),
        max_parallel_per_device=int(config.get("UPLOAD_MAX_PARALLEL_PER_DEVICE", base.max_parallel_per_device)),
    )


# --- parsing tus headers --------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoLabel:
    """What Upload-Metadata says about the photo; the filename is a label, never a path."""

    photo_id: str
    sha256: str
    filename: str | None
    filetype: str | None
    raw: dict


@dataclass(frozen=True)
class CreateRequest:
    """A parsed creation request (POST)."""

    length: int | None
    label: PhotoLabel


@dataclass(frozen=True)
class PatchRequest:
    """A parsed PATCH (or the body part of a creation-with-upload POST)."""

    offset: int
    content_length: int | None
    checksum: tuple[str, bytes] | None = None
    length: int | None = None  # a deferred length given now


def check_version(value: str | None) -> None:
    """Refuse any Tus-Resumable other than 1.0.0 (412, with Tus-Version)."""
    if value != TUS_VERSION:
        raise errors.DomainError(
            errors.UPLOAD_TUS_VERSION, details={"supported": [TUS_VERSION]}, headers={"Tus-Version": TUS_VERSION}
        )


def check_content_type(value: str | None) -> None:
    """Upload bodies must be application/offset+octet-stream (415 otherwise)."""
    if (value or "").split(";")[0].strip().lower() != OFFSET_CONTENT_TYPE:
        raise errors.DomainError(errors.UPLOAD_CONTENT_TYPE, details={"expected": OFFSET_CONTENT_TYPE})


def check_upload_id(value: str) -> str:
    """Upload ids are 32 lowercase hex characters; anything else is unknown (404)."""
    if not _UPLOAD_ID.match(value or ""):
        raise errors.DomainError(errors.UPLOAD_UNKNOWN)
    return value


def _integer(value: str | None, problem: errors.Problem, name: str) -> int:
    if value is None or not _INTEGER.match(value.strip()):
        raise errors.DomainError(problem, details={"header": name, "value": (value or "")[:40]})
    return int(value.strip())


def parse_offset(value: str | None) -> int:
    """Parse Upload-Offset: a non-negative integer."""
    return _integer(value, errors.UPLOAD_OFFSET_INVALID, "Upload-Offset")


def parse_length(value: str | None, max_size: int) -> int:
    """Parse Upload-Length: a non-negative integer not above Tus-Max-Size (413)."""
    length = _integer(value, errors.UPLOAD_LENGTH_INVALID, "Upload-Length")
    if length > max_size:
        raise errors.DomainError(errors.UPLOAD_TOO_LARGE, details={"max": max_size, "length": length})
    return length


def parse_creation_length(length: str | None, defer: str | None, max_size: int) -> int | None:
    """Exactly one of Upload-Length and ``Upload-Defer-Length: 1``; None means deferred."""
    if length is not None and defer is not None:
        raise errors.DomainError(errors.UPLOAD_LENGTH_INVALID, "Send Upload-Length or Upload-Defer-Length, not both.")
    if defer is not None:
        if defer.strip() != "1":
            raise errors.DomainError(errors.UPLOAD_LENGTH_INVALID, "Upload-Defer-Length must be 1.")
        return None
    if length is None:
        raise errors.DomainError(errors.UPLOAD_LENGTH_INVALID, "Upload-Length is required.")
    return parse_length(length, max_size)


def parse_metadata(value: str | None, max_bytes: int = 4096) -> dict[str, str | None]:
    """Decode Upload-Metadata (comma-separated ``key base64value`` pairs) into text values."""
    if value is None or not value.strip():
        return {}
    if len(value) > max_bytes:
        raise errors.DomainError(errors.UPLOAD_METADATA_INVALID, "Upload-Metadata is too long.", {"max": max_bytes})
    out: dict[str, str | None] = {}
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not _METADATA_KEY.match(key) or len(parts) > 2 or key in out:
            raise errors.DomainError(errors.UPLOAD_METADATA_INVALID, details={"key": key[:64]})
        if len(parts) == 1 or parts[1] == "":
            out[key] = None
            continue
        try:
            out[key] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise errors.DomainError(
                errors.UPLOAD_METADATA_INVALID, "A metadata value is not base64 UTF-8.", {"key": key}
            ) from None
    return out


def photo_label(metadata: dict[str, str | None]) -> PhotoLabel:
    """Check the photo fields of the metadata: photo_id (UUID), sha256 (hex), safe filename."""
    photo_id = (metadata.get("photo_id") or "").strip()
    try:
        photo_id = str(uuid.UUID(photo_id))
    except ValueError:
        raise errors.DomainError(
            errors.UPLOAD_METADATA_INVALID, "photo_id must be a UUID.", {"key": "photo_id"}
        ) from None
    sha256 = (metadata.get("sha256") or "").strip().lower()
    if not _SHA256.match(sha256):
        raise errors.DomainError(errors.UPLOAD_METADATA_INVALID, "sha256 must be 64 hex characters.", {"key": "sha256"})
    filename = metadata.get("filename")
    if filename is not None and not is_safe_filename(filename):
        raise errors.DomainError(errors.UPLOAD_FILENAME_INVALID, details={"filename": filename[:80]})
    filetype = metadata.get("filetype")
    if filetype is not None and len(filetype) > 100:
        raise errors.DomainError(errors.UPLOAD_METADATA_INVALID, details={"key": "filetype"})
    return PhotoLabel(photo_id, sha256, filename, filetype, dict(metadata))


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """Parse Upload-Checksum ``<algorithm> <base64 digest>``; unsupported algorithms are 400."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2 or parts[0].lower() not in CHECKSUM_ALGORITHMS:
        raise errors.DomainError(errors.UPLOAD_CHECKSUM_UNSUPPORTED, details={"supported": list(CHECKSUM_ALGORITHMS)})
    algorithm = parts[0].lower()
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise errors.DomainError(errors.UPLOAD_CHECKSUM_UNSUPPORTED, "The checksum is not base64.") from None
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise errors.DomainError(errors.UPLOAD_CHECKSUM_UNSUPPORTED, "The checksum has the wrong length.")
    return algorithm, digest


# --- the responses' tus headers ---------------------------------------------------------------------


def http_date(moment: datetime) -> str:
    """RFC 7231 date, as Upload-Expires wants it."""
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def discovery_headers(settings: UploadSettings) -> dict[str, str]:
    """The OPTIONS answer: version, extensions, size limit, checksum algorithms."""
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(settings.max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def status_headers(upload: Upload, with_metadata: bool = False) -> dict[str, str]:
    """Upload-Offset, Upload-Length (or Upload-Defer-Length) and Upload-Expires of an upload."""
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.state == "receiving":
        headers["Upload-Expires"] = http_date(upload.expires_at)
    if with_metadata and upload.upload_metadata:
        headers["Upload-Metadata"] = ",".join(
            key if value is None else f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in upload.upload_metadata.items()
        )
    return headers


# --- loading and state checks ---------------------------------------------------------------------


def same_inspector(session: Session, declared_by: str, uploading: str) -> bool:
    """Whether two tablets belong to one inspector (a tablet registered again, or their second tablet).

    Their outbox replays the same captures (docs/sync-protocol.md), so it may also bring the bytes.
    """
    if declared_by == uploading:
        return True
    first, second = session.get(Device, declared_by), session.get(Device, uploading)
    return first is not None and second is not None and first.inspector_id == second.inspector_id


def new_upload(
    session: Session, device_id: str, request: CreateRequest, now: datetime, settings: UploadSettings
) -> Upload:
    """Add a new upload row (not committed); refuse a photo declared otherwise."""
    label = request.label
    photo = session.get(Photo, label.photo_id)
    if photo is not None and (
        photo.declared_sha256 != label.sha256 or not same_inspector(session, photo.device_id, device_id)
    ):
        raise errors.DomainError(errors.UPLOAD_PHOTO_CONFLICT, details={"photo_id": label.photo_id})
    if photo is not None and photo.state == "destroyed":  # its dossier was destroyed: the bytes must not return
        raise errors.DomainError(
            errors.PHOTO_DESTROYED, details={"photo_id": photo.id, "record_id": photo.destruction_record_id}
        )
    upload = Upload(
        id=uuid.uuid4().hex,
        device_id=device_id,
        state="receiving",
        length=request.length,
        offset=0,
        photo_id=label.photo_id,
        declared_sha256=label.sha256,
        filename=label.filename,
        filetype=label.filetype,
        upload_metadata=label.raw,
        created_at=now,
        updated_at=now,
        expires_at=now + settings.expiry,
    )
    session.add(upload)
    session.flush()
    return upload


def load_upload(session: Session, device_id: str, upload_id: str) -> Upload:
    """The device's own upload, freshly read (404 unknown, 403 another device's)."""
    upload = session.get(Upload, check_upload_id(upload_id), populate_existing=True)
    if upload is None:
        raise errors.DomainError(errors.UPLOAD_UNKNOWN)
    if upload.device_id != device_id:
        raise errors.DomainError(errors.UPLOAD_NOT_OWNER)
    return upload


_GONE = {
    "expired": errors.UPLOAD_EXPIRED,
    "terminated": errors.UPLOAD_TERMINATED,
    "rejected": errors.UPLOAD_REJECTED,
    "swept": errors.UPLOAD_EXPIRED,
}


def is_expired(upload: Upload, now: datetime) -> bool:
    """An unfinished upload past its Upload-Expires."""
    return upload.state == "receiving" and now >= upload.expires_at


def check_alive(upload: Upload, now: datetime) -> None:
    """Raise 410 for expired, terminated, rejected or swept uploads."""
    if upload.state in _GONE:
        raise errors.DomainError(_GONE[upload.state], details={"state": upload.state})
    if is_expired(upload, now):
        raise errors.DomainError(errors.UPLOAD_EXPIRED, details={"expired_at": upload.expires_at.isoformat()})


def apply_deferred_length(upload: Upload, length: int | None) -> None:
    """Set a deferred Upload-Length once; a different length later is a contradiction (400)."""
    if length is None:
        return
    if upload.length is None:
        if length < upload.offset:
            raise errors.DomainError(errors.UPLOAD_LENGTH_INVALID, "Upload-Length is below the offset.")
        upload.length = length
    elif upload.length != length:
        raise errors.DomainError(
            errors.UPLOAD_LENGTH_INVALID, "Upload-Length cannot change.", {"length": upload.length}
        )


def room_left(upload: Upload, settings: UploadSettings) -> int:
    """How many more bytes the upload may take."""
    end = upload.length if upload.length is not None else settings.max_size
    return end - upload.offset


# --- the write lock: a lease in the database (one PATCH at a time, across processes and hosts) ----


def lock_owner() -> str:
    """This process, as recorded with a lock it holds."""
    return f"{socket.gethostname()}:{os.getpid()}"


def writing_uploads(session: Session, device_id: str, now: datetime, other_than: str | None = None) -> int:
    """How many of a device's uploads a request is writing to (a lock whose lease has not run out)."""
    return len(
        session.scalars(
            select(Upload.id).where(
                Upload.device_id == device_id,
                Upload.id != (other_than or ""),
                Upload.lock_token.is_not(None),
                Upload.lock_expires_at >= now,
            )
        ).all()
    )


def check_parallel(session: Session, device_id: str, upload_id: str, now: datetime, settings: UploadSettings) -> None:
    """Refuse a PATCH when the device already writes ``max_parallel_per_device`` other uploads (429)."""
    writing = writing_uploads(session, device_id, now, other_than=upload_id)
    if writing >= settings.max_parallel_per_device:
        raise errors.DomainError(
            errors.UPLOAD_TOO_MANY_PARALLEL,
            details={"max": settings.max_parallel_per_device, "writing": writing},
            headers={"Retry-After": "5"},
        )


def claim_lock(session: Session, upload: Upload, now: datetime, ttl: timedelta) -> str | None:
    """Claim the write lock with one conditional UPDATE; return its token, or None if held.

    The lock is a lease: free when nobody holds it or when its holder stopped renewing it (its
    expiry passed), whichever host or process that was. The holder's name is only a label.
    """
    token = secrets.token_hex(16)
    free = [Upload.lock_token.is_(None), Upload.lock_expires_at < now]
    result = session.execute(
        update(Upload)
        .where(Upload.id == upload.id, or_(*free))
        .values(lock_token=token, lock_owner=lock_owner(), lock_expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return token if result.rowcount == 1 else None


def renew_lock(session: Session, upload_id: str, token: str, now: datetime, ttl: timedelta) -> bool:
    """Extend a held lock; False when it was lost (expired and taken by another request)."""
    result = session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.lock_token == token)
        .values(lock_expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_lock(session: Session, upload_id: str, token: str) -> None:
    """Release the lock if this request still holds it."""
    session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.lock_token == token)
        .values(lock_token=None, lock_owner=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )


# --- staging files and streaming -------------------------------------------------------------------


class BodyInterrupted(Exception):
    """The client went away in the middle of a body (the web layer raises it from ``read``)."""


class StagingLost(Exception):
    """The staged bytes are shorter than the committed offset (the staging dir was tampered with)."""


def staging_path(blobs: BlobStore, upload_id: str) -> Path:
    """Where the partial file of an upload lives (same filesystem as the blob store)."""
    directory = blobs.staging_dir() / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{check_upload_id(upload_id)}.part"


def discard_staging(blobs: BlobStore, upload_id: str) -> None:
    """Remove an upload's partial file, if any."""
    staging_path(blobs, upload_id).unlink(missing_ok=True)


@dataclass
class Digests:
    """Running whole-file SHA-256 of the first ``at`` bytes (SM3 is stamping's, from the stored bytes)."""

    at: int = 0
    sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256)

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes."""
        self.sha256.update(data)
        self.at += len(data)


class DigestCache:
    """Process-local running digests keyed by upload and offset; a miss only costs a re-hash."""

    def __init__(self, size: int = 64):
        self.size = size
        self._entries: OrderedDict[str, Digests] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int, trailing: bool = False) -> Digests | None:
        """Remove and return the running digests of the first ``offset`` bytes (fresh ones at offset 0).

        With ``trailing``, digests of fewer bytes qualify too (fresh ones when none are cached):
        another process wrote the bytes in between, and :func:`write_chunk` catches up from the
        staged file. None when there is nothing to continue.
        """
        with self._lock:
            entry = self._entries.pop(upload_id, None)
        if entry is None or entry.at > offset:
            entry = Digests()
        return entry if entry.at == offset or trailing else None

    def keep(self, upload_id: str, digests: Digests) -> None:
        """Remember digests after their bytes were committed."""
        with self._lock:
            self._entries[upload_id] = digests
            self._entries.move_to_end(upload_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        """Drop an upload's digests."""
        with self._lock:
            self._entries.pop(upload_id, None)


DIGESTS = DigestCache()


class _Hasher:
    """Feeds running hashes from a helper thread, so hashing overlaps receiving and writing.

    hashlib lets go of the GIL while it hashes a large buffer; at most ``depth`` pieces wait for
    the helper (memory stays flat). ``wait`` hashes what was fed and stops the helper; a PATCH
    calls it before it reads or hands over a digest, and on every way out.
    """

    def __init__(self, hashes: list, depth: int = 2):
        self.hashes = [h for h in hashes if h is not None]
        self.pending: queue.Queue = queue.Queue(maxsize=depth)
        self.failure: BaseException | None = None
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        while (data := self.pending.get()) is not None:
            if self.failure is None:
                try:
                    if callable(data):
                        data()
                        continue
                    for running in self.hashes:
                        running.update(data)
                except BaseException as exc:  # handed to the request thread by wait()
                    self.failure = exc

    def _start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="upload-hash", daemon=True)
            self.thread.start()

    def feed(self, data: bytes) -> None:
        """Queue the next bytes (in order) for every hash; the helper starts with the first bytes."""
        if not self.hashes:
            return
        self._start()
        self.pending.put(data)

    def catch_up(self, digests: Digests, fd: int, end: int, piece: int) -> None:
        """Feed ``digests`` the staged bytes it has not seen, up to ``end``, before anything fed later.

        Those bytes were written, synced and committed by an earlier PATCH in another process; the
        helper reads them back (from the page cache, as a rule) while this PATCH's body arrives.
        """

        def read_back() -> None:
            try:
                while digests.at < end:
                    data = os.pread(fd, min(piece, end - digests.at), digests.at)
                    if not data:
                        raise OSError(f"staged file ends at {digests.at}, expected {end}")
                    digests.update(data)
            except OSError:
                # digests stay those of their first ``at`` bytes: feed them nothing more, and the
                # finish re-hashes the staged file as it does without cached digests
                self.hashes.remove(digests)

        self._start()
        self.pending.put(read_back)

    def stop(self) -> None:
        """Hash everything fed so far and stop the helper."""
        if self.thread is not None:
            self.pending.put(None)
            self.thread.join()
            self.thread = None

    def wait(self) -> None:
        """:meth:`stop`, then raise what hashing raised."""
        self.stop()
        if self.failure is not None:
            raise self.failure


@dataclass
class ChunkResult:
    """What one PATCH body did to the staging file."""

    written: int
    interrupted: bool


class Progress:
    """Where a PATCH stands: ``due`` says when to sync and record, ``record`` commits the new offset."""

    def due(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def record(self, offset: int) -> bool:  # pragma: no cover - interface
        """Commit ``offset`` (bytes up to it are fsynced); False when the write lock was lost."""
        raise NotImplementedError


def write_chunk(
    path: Path,
    offset: int,
    body: BinaryIO,
    room: int,
    read_chunk: int,
    checksum: tuple[str, bytes] | None,
    digests: Digests | None,
    still_locked: Callable[[], bool],
    progress: Progress | None = None,
) -> ChunkResult:
    """Stream ``body`` into the staging file at ``offset`` in bounded reads, then fsync.

    Bytes past ``room`` (the declared length) or failing ``checksum`` are cut off again and
    raise; a body cut short by the client keeps what arrived (unless a checksum was promised:
    an incomplete chunk cannot be verified, so it is dropped). Without a checksum, the bytes
    are fsynced and their offset recorded whenever ``progress`` is due, so a PATCH that is cut,
    killed or timed out keeps what it had synced. Bytes past ``room`` leave the recorded offset
    where it was.
    """
    chunk_hash = hashlib.new(checksum[0]) if checksum else None
    hasher = _Hasher([chunk_hash, digests])
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size < offset:
            raise StagingLost(f"{path.name}: {size} bytes staged, offset {offset}")
        os.ftruncate(fd, offset)  # bytes of a PATCH that died before committing
        os.lseek(fd, offset, os.SEEK_SET)
        if digests is not None and digests.at < offset:
            hasher.catch_up(digests, fd, offset, read_chunk)
        written, interrupted = 0, False
        kept = offset  # bytes up to here are synced and recorded
        while True:
            try:
                data = body.read(read_chunk)
            except BodyInterrupted:
                interrupted = True
                break
            if not data:
                break
            if written + len(data) > room:
                os.ftruncate(fd, kept)
                raise errors.DomainError(errors.UPLOAD_EXCEEDS_LENGTH, details={"room": room})
            if not still_locked():
                # another request owns the file now: touch nothing
                raise errors.DomainError(
                    errors.UPLOAD_LOCKED, "The write lock was lost; resume with HEAD.", headers={"Retry-After": "1"}
                )
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as exc:
                _out_of_space(exc, fd, kept)
                raise
            hasher.feed(data)
            _start_writeback(fd, offset + written, len(data))
            written += len(data)
            if progress is not None and chunk_hash is None and progress.due():
                _fsync(fd, kept)
                if not progress.record(offset + written):
                    raise errors.DomainError(
                        errors.UPLOAD_LOCKED, "The write lock was lost; resume with HEAD.", headers={"Retry-After": "1"}
                    )
                kept = offset + written
        hasher.wait()
        if chunk_hash is not None and (interrupted or chunk_hash.digest() != checksum[1]):
            os.ftruncate(fd, offset)
            if interrupted:
                return ChunkResult(0, True)
            raise errors.DomainError(errors.UPLOAD_CHECKSUM_MISMATCH, details={"algorithm": checksum[0]})
        _fsync(fd, kept)
        return ChunkResult(written, interrupted)
    finally:
        hasher.stop()  # no digest changes once the PATCH is over, whatever ended it
        os.close(fd)


def _libc_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's ``sync_file_range`` (not in ``os``), or None elsewhere."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    return function


_SYNC_FILE_RANGE = _libc_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def _start_writeback(fd: int, start: int, length: int) -> None:
    """Let the disk start on bytes just written, so the fsync that acknowledges them waits less.

    Only a hint (asynchronous, no durability promised): the fsync before the offset is recorded
    stays the guarantee.
    """
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, start, length, _SYNC_FILE_RANGE_WRITE)


def _fsync(fd: int, offset: int) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        _out_of_space(exc, fd, offset)
        raise


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _out_of_space(exc: OSError, fd: int, offset: int) -> None:
    """A full disk: cut the staged file back to the stored offset and raise a clean 507.

    Nothing of the chunk counts as received (the offset is not advanced by the caller); the
    client resumes from Upload-Offset once there is room again. Other OS errors are left alone.
    """
    if exc.errno not in _NO_SPACE:
        return
    try:
        os.ftruncate(fd, offset)
    except OSError:
        pass  # the next write truncates to the stored offset anyway
    raise errors.DomainError(
        errors.UPLOAD_STORAGE_FULL,
        details={"offset": offset},
        headers={"Retry-After": "60", "Upload-Offset": str(offset)},
    ) from None


def hash_file(path: Path, length: int, read_chunk: int = 1 << 20) -> Digests:
    """SHA-256 of the first ``length`` bytes of a file, streamed."""
    digests = Digests()
    with open(path, "rb") as fh:
        while digests.at < length:
            data = fh.read(min(read_chunk, length - digests.at))
            if not data:
                raise StagingLost(f"{path.name}: ends at {digests.at}, expected {length}")
            digests.update(data)
    return digests


# --- finishing ------------------------------------------------------------------------------------


def verify(upload: Upload, digests: Digests, now: datetime) -> bool:
    """Record the whole-file SHA-256; True if it matches the declaration (state finishing).

    ``upload.sm3`` stays NULL: SM3 is computed once, at stamping, from the stored bytes.
    """
    upload.sha256 = digests.sha256.hexdigest()
    upload.updated_at = now
    if upload.sha256 != upload.declared_sha256:
        upload.state = "rejected"
        return False
    upload.state = "finishing"
    return True


def _lock_blob_row(session: Session, sha256: str) -> Blob | None:
    """Take the blob row's write lock before touching the store (serialises with the sweep).

    A no-op UPDATE locks the row on PostgreSQL and takes the database write lock on SQLite.
    """
    session.execute(
        update(Blob).where(Blob.sha256 == sha256).values(size=Blob.size).execution_options(synchronize_session=False)
    )
    return session.scalar(select(Blob).where(Blob.sha256 == sha256).execution_options(populate_existing=True))


def store(session: Session, upload: Upload, blobs: BlobStore, now: datetime) -> list[Photo]:
    """Move verified bytes into the write-once store and record the blob (idempotent).

    Runs in the caller's transaction: the Blob row, the photos it completes (``blob_arrived``)
    and the upload's ``finished`` state commit together. The staging file may already be gone
    if an earlier attempt moved it; then the stored blob is used.
    """
    if upload.state == "finished":
        return []
    if upload.state != "finishing" or upload.sha256 is None:
        raise ValueError(f"upload {upload.id} is {upload.state}, not finishing")
    blob = _lock_blob_row(session, upload.sha256)
    if blob is None:
        blob = Blob(sha256=upload.sha256, sm3=None, size=upload.length, stored_at=now)  # SM3: at stamping
        session.add(blob)
        session.flush()
    staged = staging_path(blobs, upload.id)
    if staged.exists():
        blobs.put_file(upload.sha256, staged)
    elif not blobs.exists(upload.sha256):
        raise StagingLost(f"{upload.id}: neither staged nor stored")
    photos = blob_arrived(session, blob, now)
    upload.state = "finished"
    upload.offset = upload.length
    upload.finished_at = now
    upload.updated_at = now
    return photos


def reject_lost(upload: Upload, blobs: BlobStore, now: datetime) -> None:
    """An upload whose staged bytes vanished cannot be finished: reject it, the device re-uploads."""
    upload.state = "rejected"
    upload.updated_at = now
    discard_staging(blobs, upload.id)
