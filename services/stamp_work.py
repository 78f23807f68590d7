"""What photo and scan stamping share: hashing the stored bytes once, storing copies, and work done ahead.

A run reads the stored bytes once. Decoding the picture (and drawing its thumbnail and preview)
starts on a worker thread as soon as the run opens, and the timestamp request leaves right after
the bytes are hashed, so the TSA's latency and the pixel work overlap the steps that need the
database. Nothing off the main thread touches the session: a step that needs a result waits for it
and records it in its own transaction, so the runner's one-commit-per-step semantics stay as they are.
Pillow, hashlib and the TSA's subprocess or socket release the GIL while they work.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from PIL import Image
from sqlalchemy.orm import Session

from core import derivatives, hashing
from models import Blob
from ports.blobstore import BlobStore

# decode, small copies and one timestamp request of the run in progress (jobs run one at a time)
THREADS = 3
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """This process's stamping threads, started on first use and kept for every later job."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="stamping")
        return _pool


class Pictures:
    """The decoded picture and its thumbnail and preview, drawn off the main thread."""

    def __init__(self, decode: Callable[[], Image.Image]):
        self.decoded: Future[Image.Image] = pool().submit(decode)
        self.copies: Future[dict[str, bytes]] = pool().submit(lambda: derivatives.small_copies(self.decoded.result()))

    def image(self) -> Image.Image:
        """The decoded picture; raises what decoding raised."""
        return self.decoded.result()

    def small_copies(self) -> dict[str, bytes]:
        """``thumbnail_key`` and ``preview_key`` JPEG bytes; raises what decoding raised."""
        return self.copies.result()


def timestamp_ahead(tsa, sha256: str) -> Future:
    """Ask the TSA for a token over ``sha256`` now; the timestamp step takes the answer (or its error)."""
    return pool().submit(tsa.stamp, bytes.fromhex(sha256))


def verify_stored(session: Session, data: bytes, key: str, size: int | None = None) -> tuple[hashing.Digests, bool]:
    """SHA-256 and SM3 of the stored bytes in one pass, checked against their blob row.

    An SM3 the blob row does not have yet (uploads stream SHA-256 only) is recorded on it here, once
    the SHA-256 agrees; a recorded one must match.
    """
    digests = hashing.digest_bytes(data)
    blob = session.get(Blob, key)
    ok = (
        blob is not None
        and hashing.matches(digests, key, blob.sm3, blob.size)
        and (size is None or size == digests.size)
    )
    if ok and blob is not None and blob.sm3 is None:
        blob.sm3 = digests.sm3
    return digests, ok


def store_copies(blobs: BlobStore, evidence, made: dict[str, bytes]) -> None:
    """Put derived copies into the blob store under their SHA-256 and name them on the evidence row."""
    for column, data in made.items():
        key = hashing.sha256_hex(data)
        blobs.put_bytes(key, data)
        setattr(evidence, column, key)
    evidence.derivatives_error = None
