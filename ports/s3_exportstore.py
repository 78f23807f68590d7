"""Evidence bundles in the S3-compatible object store (the same ``BLOB_STORE=s3://bucket/prefix``).

Bundle ``evidence-export-<id>.zip`` is the object ``<prefix>/exports/evidence-export-<id>.zip``.
A bundle is written to a local staging directory, uploaded with its SHA-256 for the store to
check, and the local file is deleted; reads stream from the bucket, and finding bundles by
content hash reads only each ZIP's directory and manifest (ranged GETs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from ports import s3_objects
from ports.exportstore import ExportStore, bundle_name, export_id_of, partial_files


class S3ExportStore(ExportStore):
    """Bundles as objects ``<prefix>/exports/<name>`` in one bucket."""

    def __init__(self, client, bucket: str, prefix: str, staging: str | os.PathLike):
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")
        self._staging = Path(staging)

    def object_key(self, export_id: int) -> str:
        """The object key of an export's bundle."""
        return s3_objects.join(self.prefix, "exports", bundle_name(export_id))

    def staging_dir(self) -> Path:
        """The local directory bundles are written in before they are uploaded."""
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    @s3_objects.unavailable_on_outage
    def put_file(self, export_id: int, path: str | os.PathLike) -> None:
        """Upload the finished bundle (checked by the store against its SHA-256), then delete the local file."""
        digest = s3_objects.file_sha256(path)
        s3_objects.put_file(self.client, self.bucket, self.object_key(export_id), path, digest, write_once=False)
        os.unlink(path)

    @s3_objects.unavailable_on_outage
    def location(self, export_id: int) -> str:
        """The bundle's ``s3://`` URL."""
        return f"s3://{self.bucket}/{self.object_key(export_id)}"

    @s3_objects.unavailable_on_outage
    def exists(self, export_id: int) -> bool:
        """True if the bundle is in the bucket."""
        return s3_objects.head(self.client, self.bucket, self.object_key(export_id)) is not None

    @s3_objects.unavailable_on_outage
    def open(self, export_id: int) -> BinaryIO:
        """A streamed, seekable reader of the bundle; FileNotFoundError if it is not stored."""
        return s3_objects.open_object(self.client, self.bucket, self.object_key(export_id))  # type: ignore[return-value]

    @s3_objects.unavailable_on_outage
    def remove(self, export_id: int) -> list[str]:
        """Delete the bundle (every version of it) and any local partial file; the names removed."""
        removed = []
        if s3_objects.delete_everywhere(self.client, self.bucket, self.object_key(export_id)):
            removed.append(bundle_name(export_id))
        for path in partial_files(self._staging, export_id):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path.name)
        return removed

    @s3_objects.unavailable_on_outage
    def stored(self) -> list[int]:
        """Ids of the bundles in the bucket."""
        folder = s3_objects.join(self.prefix, "exports") + "/"
        names = (key[len(folder) :] for key in s3_objects.list_keys(self.client, self.bucket, folder))
        return sorted(i for name in names if (i := export_id_of(name)) is not None)
