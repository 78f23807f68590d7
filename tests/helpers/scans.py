"""Scanned documents made in the tests: PDFs and multi-page TIFFs at a chosen resolution."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

A4_INCHES = (8.27, 11.69)


def page(dpi: int, mode: str = "L", label: str = "", scale: float = 0.25) -> Image.Image:
    """One page of a (shrunken) A4 sheet at ``dpi``: ``scale`` keeps test files small."""
    size = (int(A4_INCHES[0] * dpi * scale), int(A4_INCHES[1] * dpi * scale))
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, size[0] - 10, 40), outline="black")
    draw.text((15, 15), label or f"page {dpi}", fill="black")
    return image.convert(mode)


def make_pdf(pages: int = 3, dpi: int = 300, mode: str = "L", label: str = "") -> bytes:
    """A scanned-looking PDF: one picture per page, page size = pixels / dpi."""
    images = [page(dpi, mode, f"{label} p{n + 1}") for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return out.getvalue()


def make_tiff(pages: int = 2, dpi: int = 150, mode: str = "1", label: str = "") -> bytes:
    """A multi-page TIFF with its resolution recorded (XResolution/YResolution, inches)."""
    images = [page(dpi, mode, f"{label} p{n + 1}") for n in range(pages)]
    out = io.BytesIO()
    images[0].save(
        out,
        "TIFF",
        dpi=(dpi, dpi),
        save_all=True,
        append_images=images[1:],
        compression="group4" if mode == "1" else "tiff_lzw",
    )
    return out.getvalue()


def make_page_image(fmt: str = "JPEG", dpi: int | None = 300, mode: str = "RGB", label: str = "") -> bytes:
    """A single page as JPEG or PNG, with or without a recorded resolution."""
    out = io.BytesIO()
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    page(dpi or 200, mode, label).save(out, fmt, **extra)
    return out.getvalue()
