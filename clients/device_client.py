"""A reference device client: durable SQLite outbox, push/pull loop, backoff, tus photo upload.

It is what a tablet app does, in small readable Python; the tests and the demo use it to
simulate tablets. Everything the tablet must not lose lives in one SQLite file written with
``synchronous=FULL``: a capture is in the outbox before ``capture()`` returns, so killing the
process at any point loses nothing, and a resend after a lost answer is harmless because the
server applies each revision id exactly once.

    client = DeviceClient("tablet.sqlite3", HttpTransport(url, token),
                          uploader=TusPhotoUploader(url, token))
    client.capture("usage_inspection", "3100012345", data, photos=[PhotoFile(path, "meter", "meter")])
    client.sync()          # push, upload the photos the server lacks, pull
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import requests

import capture_schema

PROTOCOL = 1
DEFAULT_MAX_BATCH_BYTES = 512 * 1024
DEFAULT_MAX_BATCH_ITEMS = 100
PULL_PAGE = 500
# The photo types the server accepts, by file extension; the platform's MIME table is not relied
# on (Windows and older systems do not know HEIC/HEIF).
PHOTO_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".png": "image/png",
    ".webp": "image/webp",
}
# (offset, signature, type): what the first bytes of a file say when its extension says nothing
_SIGNATURES = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (8, b"WEBP", "image/webp"),
    (8, b"heic", "image/heic"),
    (8, b"heix", "image/heic"),
    (8, b"mif1", "image/heif"),
    (8, b"msf1", "image/heif"),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    revision_id TEXT NOT NULL UNIQUE,
    capture_id TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | done | rejected
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    result TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS captures (
    capture_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    last_revision_id TEXT NOT NULL,
    revisions INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS photos (
    photo_id TEXT PRIMARY KEY,
    capture_id TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'local'      -- local | needed | uploaded
);
CREATE TABLE IF NOT EXISTS tus_urls (key TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scope (
    entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (entity, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TransportError(Exception):
    """The request may or may not have reached the server (timeout, reset, no network)."""


class ServerBusy(Exception):
    """The server answered 5xx or 429: try again later."""


@dataclass
class Response:
    """Status and decoded JSON body of one API call."""

    status: int
    body: dict


class HttpTransport:
    """Talks JSON to the server over HTTP with the device's bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs) -> Response:
        try:
            answer = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise TransportError(str(exc)) from exc
        try:
            body = answer.json()
        except ValueError:
            body = {}
        return Response(answer.status_code, body)

    def post_json(self, path: str, body: bytes) -> Response:
        """POST a JSON body (already encoded, so its size is known)."""
        return self._call("POST", path, data=body, headers={"Content-Type": "application/json"})

    def get_json(self, path: str, params: dict) -> Response:
        """GET with query parameters."""
        return self._call("GET", path, params=params)


@dataclass
class PhotoFile:
    """A photo on the tablet's disk to attach to a capture slot."""

    path: str
    slot: str
    category: str
    captured_at: datetime | None = None
    gps: dict | None = None
    photo_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def photo_mime_type(path: str) -> str:
    """The declared type of a photo file: by extension, else by its first bytes, else the platform's guess."""
    known = PHOTO_TYPES.get(os.path.splitext(path)[1].lower())
    if known:
        return known
    with open(path, "rb") as fh:
        head = fh.read(16)
    for offset, signature, mime in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return mime
    return mimetypes.guess_type(path)[0] or "image/jpeg"


def file_sha256(path: str) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def backoff_delays(attempts: int, base: float = 1.0, cap: float = 60.0, rng=random.random):
    """Exponential backoff with full jitter: how long to wait before each retry."""
    return [rng() * min(cap, base * 2**n) for n in range(attempts)]


class SqliteUrlStorage:
    """tuspy url storage in the client's SQLite file, so an upload resumes after a kill."""

    def __init__(self, client: "DeviceClient"):
        self.client = client

    def get_item(self, key):
        """Return the stored upload URL for ``key`` (None if none)."""
        row = self.client.db.execute("SELECT url FROM tus_urls WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_item(self, key, value):
        """Remember the upload URL for ``key`` (tuspy stores None when it has none yet)."""
        if value is None:
            return
        with self.client.db:
            self.client.db.execute("INSERT OR REPLACE INTO tus_urls (key, url) VALUES (?, ?)", (key, value))

    def remove_item(self, key):
        """Forget the upload URL for ``key``."""
        with self.client.db:
            self.client.db.execute("DELETE FROM tus_urls WHERE key = ?", (key,))


class PhotoIdFingerprint:
    """tuspy fingerprinter: the upload of a photo is keyed by its photo id, not its first bytes."""

    def __init__(self, photo_id: str):
        self.photo_id = photo_id

    def get_fingerprint(self, _stream):
        """Return the key under which the upload URL is stored."""
        return f"photo:{self.photo_id}"


class TusPhotoUploader:
    """Uploads photo files with tuspy to ``/api/v1/uploads`` and resumes from the stored URL."""

    def __init__(
        self, base_url: str, token: str, chunk_size: int = 4 * 1024 * 1024, retries: int = 3, retry_delay: int = 1
    ):
        from tusclient import client as tus_client

        self.tus = tus_client.TusClient(
            base_url.rstrip("/") + "/api/v1/uploads", headers={"Authorization": f"Bearer {token}"}
        )
        self.chunk_size, self.retries, self.retry_delay = chunk_size, retries, retry_delay

    def upload(self, client: "DeviceClient", photo: dict, stop_at: int | None = None) -> bool:
        """Upload (or resume) one photo; True when the server holds all of its bytes."""
        from tusclient.exceptions import TusCommunicationError

        storage = SqliteUrlStorage(client)
        for attempt in (1, 2):
            try:
                uploader = self.tus.uploader(
                    file_path=photo["path"],
                    chunk_size=self.chunk_size,
                    retries=self.retries,
                    retry_delay=self.retry_delay,
                    store_url=True,
                    url_storage=storage,
                    fingerprinter=PhotoIdFingerprint(photo["photo_id"]),
                    metadata={
                        "photo_id": photo["photo_id"],
                        "sha256": photo["sha256"],
                        "filename": os.path.basename(photo["path"]),
                        "filetype": photo["mime_type"],
                    },
                )
                uploader.upload(stop_at=stop_at)
                finished = uploader.offset >= photo["size"]
                if finished:  # nothing left to resume
                    storage.remove_item(PhotoIdFingerprint(photo["photo_id"]).get_fingerprint(None))
                return finished
            except TusCommunicationError as exc:
                # a stored URL the server no longer knows (expired, rejected): start afresh once
                if attempt == 1 and exc.status_code in (403, 404, 410):
                    storage.remove_item(PhotoIdFingerprint(photo["photo_id"]).get_fingerprint(None))
                    continue
                raise TransportError(str(exc)) from exc
        return False


class DeviceClient:
    """One tablet: outbox, photos, local copy of its scope, and the sync loop."""

    def __init__(
        self,
        db_path: str,
        transport,
        uploader=None,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS,
    ):
        # one client is used by one thread at a time, but may be handed to a worker thread
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self.transport = transport
        self.uploader = uploader
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.sleep = sleep
        self.max_batch_bytes = max_batch_bytes
        self.max_batch_items = max_batch_items

    def close(self) -> None:
        """Close the SQLite file (everything is already on disk)."""
        self.db.close()

    # --- capturing (offline) -------------------------------------------------------------
    def _schema_version(self, kind: str) -> int:
        rows = self.db.execute("SELECT data FROM scope WHERE entity = 'schema'").fetchall()
        versions = [json.loads(r[0])["version"] for r in rows if json.loads(r[0])["kind"] == kind]
        if versions:
            return max(versions)

        return capture_schema.latest_version(kind)

    def _photo_meta(self, capture_id: str, photo: PhotoFile) -> dict:
        sha256, size = file_sha256(photo.path)
        mime = photo_mime_type(photo.path)
        self.db.execute(
            "INSERT OR IGNORE INTO photos (photo_id, capture_id, path, sha256, size, mime_type) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (photo.photo_id, capture_id, photo.path, sha256, size, mime),
        )
        return {
            "id": photo.photo_id,
            "slot": photo.slot,
            "category": photo.category,
            "captured_at": (photo.captured_at or self.now()).isoformat(),
            "gps": photo.gps,
            "sha256": sha256,
            "size": size,
            "mime_type": mime,
            "filename": os.path.basename(photo.path),
        }

    def _enqueue(self, item: dict) -> None:
        self.db.execute(
            "INSERT INTO outbox (revision_id, capture_id, body, created_at) VALUES (?, ?, ?, ?)",
            (item["revision_id"], item["capture_id"], json.dumps(item, ensure_ascii=False), self.now().isoformat()),
        )

    def capture(
        self,
        kind: str,
        account_no: str,
        data: dict,
        photos: list[PhotoFile] = (),
        schema_version: int | None = None,
        capture_id: str | None = None,
    ) -> tuple[str, str]:
        """Save a new capture durably in the outbox; return (capture id, revision id)."""
        capture_id = capture_id or str(uuid.uuid4())
        revision_id = str(uuid.uuid4())
        with self.db:
            item = {
                "capture_id": capture_id,
                "revision_id": revision_id,
                "base_revision_id": None,
                "kind": kind,
                "schema_version": schema_version or self._schema_version(kind),
                "account_no": account_no,
                "device_time": self.now().isoformat(),
                "data": data,
                "photos": [self._photo_meta(capture_id, p) for p in photos],
            }
            self._enqueue(item)
            self.db.execute("INSERT INTO captures VALUES (?, ?, ?, 1)", (capture_id, kind, revision_id))
        return capture_id, revision_id

    def amend(
        self,
        capture_id: str,
        data: dict,
        new_photos: list[PhotoFile] = (),
        account_no: str | None = None,
        base_revision_id: str | None = None,
    ) -> str:
        """Save an amendment based on the last local revision (or ``base_revision_id``)."""
        kind, last = self.db.execute(
            "SELECT kind, last_revision_id FROM captures WHERE capture_id = ?", (capture_id,)
        ).fetchone()
        previous = json.loads(self.db.execute("SELECT body FROM outbox WHERE revision_id = ?", (last,)).fetchone()[0])
        revision_id = str(uuid.uuid4())
        with self.db:
            item = {
                **previous,
                "revision_id": revision_id,
                "base_revision_id": base_revision_id or last,
                "account_no": account_no or previous["account_no"],
                "device_time": self.now().isoformat(),
                "data": data,
                "photos": previous["photos"] + [self._photo_meta(capture_id, p) for p in new_photos],
            }
            self._enqueue(item)
            self.db.execute(
                "UPDATE captures SET last_revision_id = ?, revisions = revisions + 1 WHERE capture_id = ?",
                (revision_id, capture_id),
            )
        return revision_id

    # --- push ------------------------------------------------------------------------------
    def pending(self) -> list[tuple[int, str]]:
        """(seq, body) of the outbox items still to send, oldest first."""
        return self.db.execute("SELECT seq, body FROM outbox WHERE state = 'pending' ORDER BY seq").fetchall()

    def _batch(self, pending: list[tuple[int, str]]) -> tuple[list[int], bytes]:
        seqs, bodies, size = [], [], 100
        for seq, body in pending:
            if seqs and (size + len(body.encode()) + 1 > self.max_batch_bytes or len(seqs) >= self.max_batch_items):
                break
            seqs.append(seq)
            bodies.append(body)
            size += len(body.encode()) + 1
        envelope = '{"protocol":%d,"device_time":%s,"items":[%s]}' % (
            PROTOCOL,
            json.dumps(self.now().isoformat()),
            ",".join(bodies),
        )
        return seqs, envelope.encode("utf-8")

    def _record(self, seq: int, result: dict) -> None:
        status = result.get("status")
        if status == "applied":
            self.db.execute(
                "UPDATE outbox SET state = 'done', result = ?, error = NULL WHERE seq = ?", (json.dumps(result), seq)
            )
            for photo in result.get("photos", []):
                state = "needed" if photo.get("needs_upload") else "uploaded"
                self.db.execute(
                    "UPDATE photos SET state = ? WHERE photo_id = ? AND state != 'uploaded'", (state, photo["id"])
                )
        elif status == "rejected":  # permanent: set aside for the inspector, never blocks the queue
            self.db.execute(
                "UPDATE outbox SET state = 'rejected', error = ?, attempts = attempts + 1 WHERE seq = ?",
                (json.dumps(result.get("error")), seq),
            )
        else:  # temporary: stays pending, later items still go
            self.db.execute(
                "UPDATE outbox SET error = ?, attempts = attempts + 1 WHERE seq = ?",
                (json.dumps(result.get("error")), seq),
            )

    def push(self) -> dict:
        """Send every pending item in byte-capped batches; return counts by result status."""
        counts: dict[str, int] = {}
        sent: set[int] = set()
        while True:
            pending = [p for p in self.pending() if p[0] not in sent]
            if not pending:
                return counts
            seqs, body = self._batch(pending)
            answer = self.transport.post_json("/api/v1/sync/push", body)
            if answer.status == 413 and len(seqs) > 1:
                # follow the server's stated limit; halve when it gives none
                limit = (answer.body.get("details") or {}).get("limit_bytes")
                self.max_batch_bytes = max(1024, min(limit or len(body) // 2, len(body) - 1))
                continue
            if answer.status == 413:
                with self.db:
                    self._record(seqs[0], {"status": "rejected", "error": answer.body})
                counts["rejected"] = counts.get("rejected", 0) + 1
                sent.add(seqs[0])
                continue
            if answer.status >= 500 or answer.status == 429:
                raise ServerBusy(f"push answered {answer.status}")
            if answer.status != 200:
                raise RuntimeError(f"push refused: {answer.status} {answer.body}")
            with self.db:
                for seq, result in zip(seqs, answer.body["results"]):
                    self._record(seq, result)
                # a replay carries the stored result ("applied"); the server's counts tell them apart
                for status, number in answer.body.get("counts", {}).items():
                    if number:
                        counts[status] = counts.get(status, 0) + number
                for wanted in answer.body.get("uploads", []):
                    self.db.execute("UPDATE photos SET state = 'needed' WHERE photo_id = ?", (wanted["photo_id"],))
            sent.update(seqs)

    def rejected(self) -> list[dict]:
        """Items the server refused for good, with the error (shown to the inspector to fix)."""
        rows = self.db.execute("SELECT body, error FROM outbox WHERE state = 'rejected' ORDER BY seq")
        return [{"item": json.loads(b), "error": json.loads(e) if e else None} for b, e in rows]

    # --- photos ----------------------------------------------------------------------------
    def photos_to_upload(self) -> list[dict]:
        """Photos the server said it lacks."""
        rows = self.db.execute(
            "SELECT photo_id, path, sha256, size, mime_type FROM photos WHERE state = 'needed' ORDER BY photo_id"
        ).fetchall()
        return [dict(zip(("photo_id", "path", "sha256", "size", "mime_type"), r)) for r in rows]

    def upload(self) -> int:
        """Upload (resuming where possible) every photo the server lacks; return how many finished."""
        if self.uploader is None:
            return 0
        done = 0
        for photo in self.photos_to_upload():
            if self.uploader.upload(self, photo):
                with self.db:
                    self.db.execute("UPDATE photos SET state = 'uploaded' WHERE photo_id = ?", (photo["photo_id"],))
                done += 1
        return done

    # --- pull ------------------------------------------------------------------------------
    def cursor(self) -> str | None:
        """The stored pull cursor (opaque)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
        return row[0] if row else None

    def _apply_page(self, page: dict) -> None:
        with self.db:  # the page and its cursor land together, or not at all
            for change in page["changes"]:
                if change["op"] == "upsert":
                    self.db.execute(
                        "INSERT OR REPLACE INTO scope (entity, id, data) VALUES (?, ?, ?)",
                        (change["entity"], change["id"], json.dumps(change["data"], ensure_ascii=False)),
                    )
                else:
                    self.db.execute("DELETE FROM scope WHERE entity = ? AND id = ?", (change["entity"], change["id"]))
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('cursor', ?)", (page["cursor"],))

    def reset(self) -> None:
        """Drop the local copy of the scope and the cursor (never the outbox)."""
        with self.db:
            self.db.execute("DELETE FROM scope")
            self.db.execute("DELETE FROM meta WHERE key = 'cursor'")

    def pull(self, page_size: int = PULL_PAGE) -> int:
        """Pull pages until ``has_more`` is false; return the number of changes applied."""
        applied, resets = 0, 0
        while True:
            params = {"limit": page_size, "device_time": self.now().isoformat()}
            if self.cursor():
                params["cursor"] = self.cursor()
            answer = self.transport.get_json("/api/v1/sync/pull", params)
            code = answer.body.get("code")
            if code in ("sync.reset_required", "sync.cursor_invalid") and resets < 2:
                self.reset()
                resets += 1
                continue
            if answer.status >= 500 or answer.status == 429:
                raise ServerBusy(f"pull answered {answer.status}")
            if answer.status != 200:
                raise RuntimeError(f"pull refused: {answer.status} {answer.body}")
            self._apply_page(answer.body)
            applied += len(answer.body["changes"])
            if not answer.body["has_more"]:
                return applied

    def local(self, entity: str) -> dict[str, dict]:
        """The local copy of one entity type of the scope, by id."""
        rows = self.db.execute("SELECT id, data FROM scope WHERE entity = ?", (entity,))
        return {i: json.loads(d) for i, d in rows}

    # --- the loop --------------------------------------------------------------------------
    def sync(self, attempts: int = 5, base_delay: float = 1.0) -> dict:
        """Push, upload, pull; retry with jittered exponential backoff on network or server trouble."""
        delays = backoff_delays(attempts, base_delay)
        for attempt in range(attempts + 1):
            try:
                pushed = self.push()
                uploaded = self.upload()
                pulled = self.pull()
                return {"pushed": pushed, "uploaded": uploaded, "pulled": pulled}
            except (TransportError, ServerBusy):
                if attempt == attempts:
                    raise
                self.sleep(delays[attempt])
        raise AssertionError("unreachable")
