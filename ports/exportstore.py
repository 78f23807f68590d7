"""The export store port: where evidence bundles (ZIP) are kept on the server until they expire.

A bundle is named ``evidence-export-<id>.zip``; a bundle being written sits beside it as a hidden
``.evidence-export-<id>.zip.*.part`` file until it is complete. Besides writing and reading, the
port answers which stored bundles carry given content hashes (from the ``manifest.json`` each
bundle holds, the same list the offline verifier checks the originals against), so that
destruction can prove no copy of destroyed bytes is left. A bundle is written to a local file in
``staging_dir()`` and handed over with ``put_file``; the S3 adapter is ``ports.s3_exportstore``.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import BinaryIO, Iterable

MANIFEST = "manifest.json"
_NAME = re.compile(r"^evidence-export-(\d+)\.zip$")


def bundle_name(export_id: int) -> str:
    """The stored name of an export's bundle."""
    return f"evidence-export-{int(export_id)}.zip"


def export_id_of(name: str) -> int | None:
    """The export id a stored bundle name carries, or None for any other name."""
    m = _NAME.match(name)
    return int(m.group(1)) if m else None


def partial_files(directory: Path, export_id: int) -> list[Path]:
    """The partial files of an export's bundle being written in ``directory``."""
    if not directory.is_dir():
        return []
    prefix = f".{bundle_name(export_id)}."
    return [p for p in directory.iterdir() if p.name.startswith(prefix) and p.name.endswith(".part")]


class ExportStore:
    """Interface of the export store."""

    def staging_dir(self) -> Path:  # pragma: no cover
        """A local directory a bundle is written in (as a ``.<name>.*.part`` file) before ``put_file``."""
        raise NotImplementedError

    def put_file(self, export_id: int, path: str | os.PathLike) -> None:  # pragma: no cover
        """Keep the finished local file at ``path`` as this export's bundle; the local file is gone after."""
        raise NotImplementedError

    def location(self, export_id: int) -> str:  # pragma: no cover
        """Where the bundle of this export is kept (a path or an ``s3://`` URL), as recorded on the export."""
        raise NotImplementedError

    def exists(self, export_id: int) -> bool:  # pragma: no cover
        raise NotImplementedError

    def open(self, export_id: int) -> BinaryIO:  # pragma: no cover
        raise NotImplementedError

    def remove(self, export_id: int) -> list[str]:  # pragma: no cover
        """Remove the bundle and any partial file of this export; return the names removed."""
        raise NotImplementedError

    def stored(self) -> list[int]:  # pragma: no cover
        """Export ids whose bundle is stored, ascending."""
        raise NotImplementedError

    def bundles_holding(self, sha256s: Iterable[str]) -> dict[int, list[str]]:
        """Stored bundles whose manifest lists any of these SHA-256 digests: export id → digests found.

        A bundle that cannot be read counts as holding them all (it cannot be proven clean). Only
        the ZIP's directory and its manifest are read (seeks on a streamed bundle).
        """
        wanted = set(sha256s)
        found: dict[int, list[str]] = {}
        if not wanted:
            return found
        for export_id in self.stored():
            try:
                with self.open(export_id) as stream, zipfile.ZipFile(stream) as bundle:
                    manifest = json.loads(bundle.read(MANIFEST))
            except FileNotFoundError:
                continue
            except (zipfile.BadZipFile, KeyError, ValueError):
                found[export_id] = sorted(wanted)
                continue
            listed = {item.get("sha256") for item in manifest.get("items", [])}
            hits = sorted(wanted & listed)
            if hits:
                found[export_id] = hits
        return found


class LocalExportStore(ExportStore):
    """Bundles as files in one directory on the server (``<data dir>/exports``)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, export_id: int) -> Path:
        """Where the bundle of this export lives."""
        return self.root / bundle_name(export_id)

    def staging_dir(self) -> Path:
        """The bundle directory itself: the finished file is renamed into place atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def put_file(self, export_id: int, path: str | os.PathLike) -> None:
        """Rename the finished file into place."""
        os.replace(path, self.path_for(export_id))

    def location(self, export_id: int) -> str:
        """The bundle's path."""
        return str(self.path_for(export_id))

    def exists(self, export_id: int) -> bool:
        """True if the bundle is stored."""
        return self.path_for(export_id).exists()

    def open(self, export_id: int) -> BinaryIO:
        """Open the stored bundle for reading."""
        return open(self.path_for(export_id), "rb")

    def remove(self, export_id: int) -> list[str]:
        """Delete the bundle and its partial files; the names removed (empty if nothing was there)."""
        removed = []
        for path in [self.path_for(export_id), *partial_files(self.root, export_id)]:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path.name)
        if removed:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return removed

    def stored(self) -> list[int]:
        """Ids of the bundles in the directory."""
        if not self.root.is_dir():
            return []
        return sorted(i for p in self.root.iterdir() if (i := export_id_of(p.name)) is not None)
