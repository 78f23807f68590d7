"""The blob store on an S3-compatible object store (``BLOB_STORE=s3://bucket/prefix``).

Blob ``<sha256>`` is the object ``<prefix>/blobs/<sha256>``. Every write sends the key itself as
``x-amz-checksum-sha256``: the store refuses bytes that do not hash to their key. Writes are
conditional (``If-None-Match: *``), so a key once stored is never overwritten. Reads stream the
body and seek with ranged GETs. Partial uploads still sit in a local staging directory until
they are finished; once ``put_file`` returns, no byte of the blob is left on the local disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from ports import s3_objects
from ports.blobstore import BlobStore, check_key


class S3BlobStore(BlobStore):
    """Blobs as objects ``<prefix>/blobs/<sha256>`` in one bucket."""

    def __init__(
        self,
        client,
        bucket: str,
        prefix: str,
        staging: str | os.PathLike,
        multipart_threshold: int = s3_objects.MULTIPART_THRESHOLD,
        part_size: int = s3_objects.PART_SIZE,
    ):
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")
        self._staging = Path(staging)
        self._staging.mkdir(parents=True, exist_ok=True)
        self.multipart_threshold, self.part_size = multipart_threshold, part_size

    def object_key(self, key: str) -> str:
        """The object key a blob is stored under."""
        return s3_objects.join(self.prefix, "blobs", check_key(key))

    @s3_objects.unavailable_on_outage
    def put_file(self, key: str, path: str | os.PathLike) -> bool:
        """Upload a finished local file (the store checks its SHA-256), then delete the local file."""
        name = self.object_key(key)
        if s3_objects.head(self.client, self.bucket, name) is not None:
            os.unlink(path)
            return False
        stored = s3_objects.put_file(
            self.client, self.bucket, name, path, key, True, self.multipart_threshold, self.part_size
        )
        os.unlink(path)
        return stored

    @s3_objects.unavailable_on_outage
    def put_bytes(self, key: str, data: bytes) -> bool:
        """Store small bytes (derivatives) write-once, checked by the store."""
        name = self.object_key(key)
        if s3_objects.head(self.client, self.bucket, name) is not None:
            return False
        return s3_objects.put_bytes(self.client, self.bucket, name, data, key, True)

    @s3_objects.unavailable_on_outage
    def open(self, key: str) -> BinaryIO:
        """A streamed, seekable reader of the blob; FileNotFoundError if it is not stored."""
        return s3_objects.open_object(self.client, self.bucket, self.object_key(key))  # type: ignore[return-value]

    @s3_objects.unavailable_on_outage
    def open_range(self, key: str, start: int, length: int | None = None) -> BinaryIO:
        """A streamed reader of ``length`` bytes of the blob from ``start`` (one ranged GET)."""
        return s3_objects.open_object(self.client, self.bucket, self.object_key(key), start, length)  # type: ignore[return-value]

    @s3_objects.unavailable_on_outage
    def exists(self, key: str) -> bool:
        """True if the blob is stored."""
        return s3_objects.head(self.client, self.bucket, self.object_key(key)) is not None

    @s3_objects.unavailable_on_outage
    def size(self, key: str) -> int:
        """Size in bytes of a stored blob; FileNotFoundError if it is not stored."""
        found = s3_objects.head(self.client, self.bucket, self.object_key(key))
        if found is None:
            raise FileNotFoundError(f"blob {key} is not stored")
        return int(found["ContentLength"])

    @s3_objects.unavailable_on_outage
    def destroy(self, key: str) -> bool:
        """Delete the blob, and every older version of it in a versioned bucket."""
        return s3_objects.delete_everywhere(self.client, self.bucket, self.object_key(key))

    def staging_dir(self) -> Path:
        """A local directory for partial uploads (they move into the bucket once finished)."""
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging
