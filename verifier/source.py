"""Reading a bundle either as the ZIP file or as the directory it was unpacked into."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class BundleUnreadable(Exception):
    """The bundle cannot be opened as a ZIP or a directory."""


class BundleSource:
    """The files of one bundle by their relative path."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip = None
        if self.path.is_dir():
            return
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise BundleUnreadable(f"{self.path}: not a readable ZIP file or directory ({exc})") from exc

    def names(self) -> list[str]:
        """Every file in the bundle, relative, with forward slashes."""
        if self._zip is not None:
            return sorted(info.filename for info in self._zip.infolist() if not info.is_dir())
        # Python's bytecode caches, written when the bundled verifier runs from tools/, are not bundle files
        return sorted(
            p.relative_to(self.path).as_posix()
            for p in self.path.rglob("*")
            if p.is_file() and "__pycache__" not in p.relative_to(self.path).parts
        )

    def open(self, name: str) -> BinaryIO:
        """Open one file for streamed reading."""
        if self._zip is not None:
            return self._zip.open(name)
        target = (self.path / name).resolve()
        if self.path.resolve() not in target.parents:
            raise KeyError(name)
        return open(target, "rb")

    def read(self, name: str) -> bytes:
        """The whole file (small files only: JSON, tokens, keys)."""
        with self.open(name) as stream:
            return stream.read()

    def exists(self, name: str) -> bool:
        """True when the bundle holds this file."""
        return name in set(self.names())

    def close(self) -> None:
        """Release the ZIP file."""
        if self._zip is not None:
            self._zip.close()
