"""Writing a bundle ZIP as a stream: every member hashed as it is written, SHA256SUMS last.

Originals are copied in 1 MiB chunks straight from the blob store into the archive (stored, not
compressed: photos do not shrink), so no photo is ever held in memory whole.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from datetime import datetime
from typing import BinaryIO, Callable

from verifier import layout
from verifier.sums import format_sums

CHUNK = 1024 * 1024


class DigestMismatch(Exception):
    """Bytes streamed into the bundle do not match the hash they are supposed to have."""


class BundleWriter:
    """A ZIP being written; call :meth:`finish` to add SHA256SUMS and close it."""

    def __init__(self, path: str | os.PathLike, stamp: datetime):
        self.zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self.sums: list[tuple[str, str]] = []
        # every member carries the export's time, so two runs of one export write the same metadata
        self.date_time = stamp.timetuple()[:6]

    def _info(self, name: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def add_bytes(self, name: str, data: bytes, compress: bool = True) -> str:
        """Add a small member; return its SHA-256."""
        self.zip.writestr(self._info(name, compress), data)
        digest = hashlib.sha256(data).hexdigest()
        self.sums.append((name, digest))
        return digest

    def add_stream(
        self,
        name: str,
        stream: BinaryIO,
        size: int,
        compress: bool = False,
        with_sm3: bool = False,
        on_chunk: Callable[[int], None] | None = None,
    ) -> tuple[str, str | None, int]:
        """Copy a stream into a member chunk by chunk; return (sha256, sm3 or None, bytes written)."""
        sha256 = hashlib.sha256()
        sm3 = hashlib.new("sm3") if with_sm3 else None
        written = 0
        with self.zip.open(self._info(name, compress), "w", force_zip64=size > 2**31) as member:
            while chunk := stream.read(CHUNK):
                member.write(chunk)
                sha256.update(chunk)
                if sm3 is not None:
                    sm3.update(chunk)
                written += len(chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
        digest = sha256.hexdigest()
        self.sums.append((name, digest))
        return digest, sm3.hexdigest() if sm3 else None, written

    def add_file(self, name: str, path: str | os.PathLike, compress: bool = True) -> str:
        """Add a file from disk (the report, the verifier's source)."""
        with open(path, "rb") as fh:
            return self.add_stream(name, fh, os.path.getsize(path), compress=compress)[0]

    def finish(self) -> None:
        """Write SHA256SUMS over every member and close the archive."""
        self.zip.writestr(self._info(layout.SUMS, True), format_sums(self.sums))
        self.zip.close()

    def abort(self) -> None:
        """Close without finishing (the caller removes the partial file)."""
        try:
            self.zip.close()
        except Exception:  # a half-written archive may fail to close; it is deleted anyway
            pass
