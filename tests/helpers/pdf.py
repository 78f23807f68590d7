"""Reading generated PDFs back with poppler (pdftotext, pdffonts, pdftoppm), as a court's reader would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image

from tests.helpers.tools import require_command


def poppler(tool: str) -> str:
    """Path of a poppler-utils command; skipped locally, required in CI."""
    return require_command(tool, "poppler-utils")


def text_of(pdf: Path) -> str:
    """The text poppler extracts, page breaks included."""
    return subprocess.run(
        [poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def fonts_of(pdf: Path) -> list[dict]:
    """pdffonts' table: one dict per font (name, type, emb, sub, uni)."""
    lines = subprocess.run(
        [poppler("pdffonts"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    fonts = []
    for line in lines:
        parts = line.split()
        # name type… encoding emb sub uni object-id generation: read the flags from the right
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return fonts


def render_page(pdf: Path, page: int, directory: Path) -> Image.Image:
    """One page rendered by poppler at 50 dpi, as a greyscale image."""
    prefix = directory / f"page{page}"
    subprocess.run(
        [
            poppler("pdftoppm"),
            "-r",
            "50",
            "-gray",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(prefix),
        ],
        check=True,
        capture_output=True,
    )
    return Image.open(f"{prefix}.png").convert("L")


def dark_pixels(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> int:
    """How many pixels are darker than mid-grey (drawn text, lines, pictures)."""
    region = image.crop(box) if box else image
    return sum(count for value, count in enumerate(region.histogram()) if value < 128)
