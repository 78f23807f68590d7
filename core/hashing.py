"""SHA-256 and SM3 of stored bytes, computed in one pass; SHA-256 alone for content keys.

SM3 goes through OpenSSL (``hashlib.new("sm3")``): on the development machine it hashes as fast as
``cryptography``'s ``hashes.SM3()`` (both OpenSSL 3, ≈380 MB/s on a shared core), with no object
per chunk. Both hashes release the GIL on large buffers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Digests:
    """The two digests of one byte stream and its length."""

    sha256: str
    sm3: str
    size: int


def digest_stream(stream: BinaryIO) -> Digests:
    """Hash a stream with SHA-256 (international) and SM3 (GB/T 32905, named by DA/T 97)."""
    sha256 = hashlib.sha256()
    sm3 = hashlib.new("sm3")
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        sha256.update(chunk)
        sm3.update(chunk)
        size += len(chunk)
    return Digests(sha256.hexdigest(), sm3.hexdigest(), size)


def digest_bytes(data: bytes) -> Digests:
    """Hash bytes already in memory."""
    return Digests(hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest(), len(data))


def sha256_hex(data: bytes) -> str:
    """SHA-256 only: the content key of a derived copy (copies carry no SM3)."""
    return hashlib.sha256(data).hexdigest()


def matches(digests: Digests, sha256: str, sm3: str | None, size: int | None) -> bool:
    """True when computed digests agree with recorded ones; an SM3 not yet computed (None) is not compared."""
    return digests.sha256 == sha256 and digests.size == size and (sm3 is None or digests.sm3 == sm3)
