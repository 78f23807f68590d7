"""The hostile and bad input corpus: generated, never committed as binaries.

``python -m tests.corpus.make_corpus DIR`` writes the bad images into DIR (for trying them by
hand, e.g. with ``flask --app wsgi photos inspect DIR/*``); the tests call :func:`write_images`
into a temporary directory. :data:`HOSTILE_TEXTS` are strings sent into every text field that
reaches a page.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path

from tests.helpers.images import bomb_jpeg, exif_loop_jpeg, huge_ifd_count_jpeg, make_jpeg, not_an_image, truncated_jpeg

SCRIPT = "<script>alert('dangan')</script>"
HOSTILE_TEXTS = (
    SCRIPT,
    "\"><img src=x onerror=alert('dangan')>",
    "javascript:alert('dangan')",
    "'; DROP TABLE captures; --",
    "' OR '1'='1",
    "../../../../etc/passwd",
    "..\\..\\windows\\system32",
    "%00%2e%2e%2f",
    "{{7*7}}${7*7}",
    "\u202eevil\u202c 表箱",
)


def _png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with almost no data behind it."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg_zip_polyglot() -> bytes:
    """A valid JPEG with a ZIP archive (holding a script) appended: both readers accept it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.sh", "#!/bin/sh\necho owned\n")
    return make_jpeg(seed=7, width=64, height=48) + buffer.getvalue()


def _jpeg_html_polyglot() -> bytes:
    """A valid JPEG whose comment segment holds an HTML page with a script."""
    plain = make_jpeg(seed=8, width=64, height=48, exif=False)
    html = f"<html><body>{SCRIPT}</body></html>".encode()
    segment = b"\xff\xfe" + struct.pack(">H", len(html) + 2) + html
    return plain[:2] + segment + plain[2:]


def _exif_with_hostile_strings() -> bytes:
    """A valid JPEG whose EXIF make, model and software are script and SQL strings."""
    return make_jpeg(
        seed=9,
        width=64,
        height=48,
        make=SCRIPT,
        model="'; DROP TABLE photos; --",
        software="\"><img src=x onerror=alert(1)>",
    )


IMAGES = {
    "zero_bytes.jpg": lambda: b"",
    "truncated.jpg": truncated_jpeg,
    "not_an_image.jpg": not_an_image,
    "html_named_jpg.jpg": lambda: f"<html><body>{SCRIPT}</body></html>".encode(),
    "exif_loop.jpg": exif_loop_jpeg,
    "huge_ifd_count.jpg": huge_ifd_count_jpeg,
    "jpeg_bomb.jpg": bomb_jpeg,
    "png_bomb_named_jpg.jpg": _png_bomb,
    "polyglot_jpeg_zip.jpg": _jpeg_zip_polyglot,
    "polyglot_jpeg_html.jpg": _jpeg_html_polyglot,
    "exif_hostile_strings.jpg": _exif_with_hostile_strings,
}


def write_images(directory: Path) -> dict[str, Path]:
    """Write every corpus image into ``directory``; return name → path."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in IMAGES.items():
        path = directory / name
        path.write_bytes(make())
        out[name] = path
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    for written in write_images(target).values():
        print(written)
