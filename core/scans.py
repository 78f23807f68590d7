"""What a scanned paper document is made of, read from its bytes (DA/T 31 quality checks).

A scan is a PDF, a (multi-page) TIFF, or a single JPEG/PNG page. For each page the resolution
(dpi), colour mode (bilevel, grey, colour) and pixel size are read; the scan is flagged when a
page is below the minimum resolution, has no recorded resolution, or when the page count differs
from the one declared. Nothing here changes the bytes; the first page is rendered for the
thumbnail and preview (PDF pages with pdfium, images with Pillow).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import asdict, dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageSequence

from core.exif import MAX_PIXELS

MIN_DPI = 200  # DA/T 31-2017 §6.4: scanning resolution of at least 200 dpi
MAX_PAGES = 2000
PREVIEW_RENDER_DPI = 100
FORMATS = {"PDF": "pdf", "TIFF": "tiff", "JPEG": "jpeg", "PNG": "png"}
MIME_TYPES = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg", "png": "image/png"}
FLAG_LABELS = {
    "low_resolution": f"分辨率低于 {MIN_DPI} dpi",
    "resolution_unknown": "文件未记录分辨率",
    "page_count_mismatch": "页数与登记页数不符",
}
MODE_LABELS = {"bilevel": "黑白二值", "grey": "灰度", "colour": "彩色"}
_GREY_SPACES = {pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY}


class ScanError(Exception):
    """The file is not a readable PDF, TIFF, JPEG or PNG scan."""


@dataclass(frozen=True)
class PageInfo:
    """One page: resolution in dpi (None when the file does not say), colour mode, pixel size."""

    page: int
    dpi: float | None
    mode: str
    width: int
    height: int


@dataclass(frozen=True)
class ScanInfo:
    """The format, the pages and the quality flags of one scan."""

    file_format: str
    pages: list[PageInfo] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def min_dpi(self) -> float | None:
        known = [p.dpi for p in self.pages if p.dpi is not None]
        return min(known) if known else None

    @property
    def colour_modes(self) -> list[str]:
        return sorted({p.mode for p in self.pages})

    def quality(self) -> list[dict]:
        """The per-page readings as plain data."""
        return [asdict(p) for p in self.pages]


def _pillow_mode(mode: str) -> str:
    if mode == "1":
        return "bilevel"
    if mode in ("L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return "grey"
    return "colour"


def _pillow_dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    values = [float(v) for v in dpi if v]
    return round(min(values), 1) if values and min(values) > 1 else None


def _image_pages(data: bytes) -> tuple[str, list[PageInfo]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Exception as exc:  # Pillow raises many error types for garbage
            raise ScanError(f"not a PDF, TIFF, JPEG or PNG file ({type(exc).__name__})") from exc
        file_format = FORMATS.get(image.format or "")
        if file_format is None or file_format == "pdf":
            raise ScanError(f"unsupported image format {image.format}")
        pages = []
        try:
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                if number > MAX_PAGES:
                    raise ScanError(f"more than {MAX_PAGES} pages")
                if frame.width * frame.height > MAX_PIXELS:
                    raise ScanError(f"page {number} is too large: {frame.width}×{frame.height} pixels")
                pages.append(PageInfo(number, _pillow_dpi(frame), _pillow_mode(frame.mode), frame.width, frame.height))
        except ScanError:
            raise
        except Exception as exc:
            raise ScanError(f"cannot read the pages: {type(exc).__name__}: {exc}"[:300]) from exc
    return file_format, pages


def _pdf_page(number: int, page: pdfium.PdfPage) -> PageInfo:
    """A scanned PDF page carries its picture as image objects; the largest one is the scan."""
    best = None
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        meta = obj.get_metadata()
        if best is None or meta.width * meta.height > best.width * best.height:
            best = meta
    if best is None:  # a page with no picture (born-digital text): no scanning resolution
        width, height = page.get_size()
        return PageInfo(number, None, "colour", round(width), round(height))
    dpi = min(best.horizontal_dpi, best.vertical_dpi)
    if best.bits_per_pixel == 1:
        mode = "bilevel"
    elif (
        best.colorspace in _GREY_SPACES
        or best.bits_per_pixel == 8
        and best.colorspace == pdfium_c.FPDF_COLORSPACE_ICCBASED
    ):
        mode = "grey"
    else:
        mode = "colour"
    return PageInfo(number, round(dpi, 1) if dpi > 0 else None, mode, int(best.width), int(best.height))


def _pdf_pages(data: bytes) -> list[PageInfo]:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ScanError(f"cannot open the PDF: {exc}") from exc
    try:
        count = len(document)
        if count == 0:
            raise ScanError("the PDF has no pages")
        if count > MAX_PAGES:
            raise ScanError(f"more than {MAX_PAGES} pages")
        pages = []
        for index in range(count):
            page = document[index]
            try:
                pages.append(_pdf_page(index + 1, page))
            finally:
                page.close()
        return pages
    finally:
        document.close()


def inspect(data: bytes, declared_pages: int | None = None) -> ScanInfo:
    """Read format, pages, resolution and colour mode; flag what falls short of the rules."""
    if data[:5] == b"%PDF-":
        file_format, pages = "pdf", _pdf_pages(data)
    else:
        file_format, pages = _image_pages(data)
    flags = []
    if any(p.dpi is not None and p.dpi < MIN_DPI for p in pages):
        flags.append("low_resolution")
    if any(p.dpi is None for p in pages):
        flags.append("resolution_unknown")
    if declared_pages is not None and declared_pages != len(pages):
        flags.append("page_count_mismatch")
    return ScanInfo(file_format, pages, flags)


def first_page(data: bytes, file_format: str, longest: int) -> Image.Image:
    """The first page as an RGB picture whose long edge is at most ``longest`` pixels."""
    try:
        if file_format == "pdf":
            document = pdfium.PdfDocument(data)
            try:
                page = document[0]
                width, height = page.get_size()
                scale = min(PREVIEW_RENDER_DPI / 72, longest / max(width, height, 1))
                image = page.render(scale=scale).to_pil().convert("RGB")
                page.close()
            finally:
                document.close()
        else:
            image = Image.open(io.BytesIO(data))
            image.seek(0)
            image = image.convert("RGB")
    except Exception as exc:
        raise ScanError(f"cannot render the first page: {type(exc).__name__}: {exc}"[:300]) from exc
    image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return image
