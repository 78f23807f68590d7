"""The content-addressed, write-once blob store port, with a local-filesystem and an in-memory adapter.

Keys are lowercase hex SHA-256 digests. ``put`` only ever adds: storing a key that exists is a
no-op (same key, same bytes), and nothing but ``destroy`` (supervised destruction) removes one.
The S3-compatible adapter is ``ports.s3_blobstore`` (chosen by ``BLOB_STORE=s3://…``).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

_KEY = re.compile(r"^[0-9a-f]{64}$")


def check_key(key: str) -> str:
    """Return ``key`` if it is a lowercase hex SHA-256, else raise ValueError (no path tricks)."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError("blob key must be a lowercase hex SHA-256")
    return key


class StoreUnavailable(OSError):
    """The store cannot be reached right now (an outage, not a missing object): the caller retries later."""


class BlobStore:
    """Interface of the blob store."""

    def put_file(self, key: str, path: str | os.PathLike) -> bool:  # pragma: no cover
        """Move the finished file at ``path`` in under ``key``; False if the key already existed."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes) -> bool:  # pragma: no cover
        """Store small bytes (derivatives) under ``key``, write-once; False if the key already existed."""
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:  # pragma: no cover
        """Open the blob for streamed reading."""
        raise NotImplementedError

    def open_range(self, key: str, start: int, length: int | None = None) -> BinaryIO:
        """Open ``length`` bytes of the blob from ``start`` (to its end when None) for streamed reading."""
        stream = self.open(key)
        stream.seek(start)
        return stream if length is None else _Window(stream, length)  # type: ignore[return-value]

    def exists(self, key: str) -> bool:  # pragma: no cover
        raise NotImplementedError

    def size(self, key: str) -> int:  # pragma: no cover
        raise NotImplementedError

    def destroy(self, key: str) -> bool:  # pragma: no cover
        """Remove a blob (only for approved destruction); False if it was not there."""
        raise NotImplementedError

    def staging_dir(self) -> Path:  # pragma: no cover
        """A local directory on the same filesystem for partial files (uploads in progress)."""
        raise NotImplementedError


class _Window(io.RawIOBase):
    """At most ``length`` bytes of an open stream, from where it stands."""

    def __init__(self, stream: BinaryIO, length: int):
        super().__init__()
        self._stream, self._left = stream, max(0, length)

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer) -> int:
        """Read up to ``len(buffer)`` bytes, never past the window."""
        data = self._stream.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        """Close the underlying stream."""
        self._stream.close()
        super().close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore(BlobStore):
    """Blobs as read-only files under ``root/ab/cd/<sha256>``, written with fsync + rename."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "staging").mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Return where the blob with this key lives."""
        check_key(key)
        return self.root / "objects" / key[:2] / key[2:4] / key

    def put_file(self, key: str, path: str | os.PathLike) -> bool:
        """Atomically move a finished, fsynced file into the store (write-once)."""
        dest = self.path_for(key)
        if dest.exists():
            os.unlink(path)
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(path, 0o444)
        os.replace(path, dest)
        _fsync_dir(dest.parent)
        return True

    def put_bytes(self, key: str, data: bytes) -> bool:
        """Store small bytes (derivatives, tests) through the same atomic path."""
        fd, tmp = tempfile.mkstemp(dir=self.staging_dir())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return self.put_file(key, tmp)

    def open(self, key: str) -> BinaryIO:
        """Open the blob for reading."""
        return open(self.path_for(key), "rb")

    def exists(self, key: str) -> bool:
        """True if the blob is stored."""
        return self.path_for(key).exists()

    def size(self, key: str) -> int:
        """Size in bytes of a stored blob."""
        return self.path_for(key).stat().st_size

    def destroy(self, key: str) -> bool:
        """Remove a blob for approved destruction."""
        path = self.path_for(key)
        if not path.exists():
            return False
        os.chmod(path, 0o644)
        path.unlink()
        _fsync_dir(path.parent)
        return True

    def staging_dir(self) -> Path:
        """Directory for partial files; same filesystem so rename is atomic."""
        return self.root / "staging"


class InMemoryBlobStore(BlobStore):
    """A blob store in a dict, for unit tests."""

    def __init__(self, staging: str | os.PathLike | None = None):
        self.blobs: dict[str, bytes] = {}
        self._staging = Path(staging or tempfile.mkdtemp(prefix="dangan-staging-"))

    def put_file(self, key: str, path: str | os.PathLike) -> bool:
        check_key(key)
        if key in self.blobs:
            os.unlink(path)
            return False
        with open(path, "rb") as fh:
            self.blobs[key] = fh.read()
        os.unlink(path)
        return True

    def put_bytes(self, key: str, data: bytes) -> bool:
        if check_key(key) in self.blobs:
            return False
        self.blobs[key] = bytes(data)
        return True

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self._get(key))

    def _get(self, key: str) -> bytes:
        try:
            return self.blobs[check_key(key)]
        except KeyError:
            raise FileNotFoundError(f"blob {key} is not stored") from None

    def exists(self, key: str) -> bool:
        return check_key(key) in self.blobs

    def size(self, key: str) -> int:
        return len(self._get(key))

    def destroy(self, key: str) -> bool:
        return self.blobs.pop(check_key(key), None) is not None

    def staging_dir(self) -> Path:
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    def clear_staging(self) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)
