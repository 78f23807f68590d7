"""Derived copies of a photo: thumbnail, review preview and the stamped copy (水印照片).

The original bytes are never re-encoded; these are new JPEGs made from one reduced decode
(Pillow draft mode), orientation applied, with no EXIF carried over (so no GPS either). The
stamped copy adds a visible evidence band in a CJK font the project installs itself and names
its evidence number in EXIF ImageDescription and XMP. Output is deterministic for the same
input and Pillow version, so content-addressed keys stay stable when a step is repeated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from core.exif import MAX_PIXELS

THUMBNAIL_EDGE = 320
PREVIEW_EDGE = 1600
STAMPED_EDGE = 2000  # half of a 4000×3000 (12 MP) frame: JPEG draft decodes it at scale 1/2
# Downscaling by at most 1.25× after the DCT reduction: Pillow's bilinear filter is antialiased
# (its support widens with the factor) and costs half of Lanczos on a 2000-pixel frame.
RESAMPLE = Image.Resampling.BILINEAR
REDUCING_GAP = 2.0  # larger factors first shrink by whole box steps (Image.reduce), then filter
_SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


class DerivativeError(Exception):
    """The picture cannot be decoded safely; the reason is recorded, the pipeline goes on."""


@lru_cache(maxsize=1)
def font_path() -> str:
    """The CJK font: Noto Sans SC from the pinned ``pylopdf-fonts-zh-cn`` package, else a system one."""
    try:
        import pylopdf_fonts_zh_cn

        path = pylopdf_fonts_zh_cn.sans_path()
        if Path(path).exists():
            return str(path)
    except ImportError:
        pass
    for candidate in _SYSTEM_FONTS:
        if Path(candidate).exists():
            return candidate
    raise DerivativeError("no CJK font installed (pylopdf-fonts-zh-cn is missing)")


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size)


def decode(data: bytes, longest: int = STAMPED_EDGE, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode at reduced size (JPEG draft mode), orientation applied, RGB, long edge ≤ ``longest``.

    Safe to call off the main thread: the pixel limit is checked here, before any pixel is decoded,
    rather than by turning Pillow's warning into an error (``warnings.catch_warnings`` is process-wide).
    """
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.width * image.height > max_pixels:
            raise DerivativeError(f"decompression bomb: {image.width}×{image.height} pixels")
        if image.format == "JPEG":
            # ask for the long edge only, so draft may pick the largest DCT reduction that keeps it
            scale = longest / max(image.width, image.height)
            image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGB")
    except DerivativeError:
        raise
    except Exception as exc:  # truncated or garbage data raise many Pillow error types
        raise DerivativeError(f"cannot decode the picture: {type(exc).__name__}: {exc}"[:300]) from exc
    image.thumbnail((longest, longest), RESAMPLE, reducing_gap=REDUCING_GAP)
    return image


def _jpeg(image: Image.Image, quality: int, **extra) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **extra)
    return buffer.getvalue()


def _shrunk(image: Image.Image, edge: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((edge, edge), RESAMPLE, reducing_gap=REDUCING_GAP)
    return copy


def thumbnail(image: Image.Image) -> bytes:
    """A small JPEG for lists (no metadata at all)."""
    return _jpeg(_shrunk(image, THUMBNAIL_EDGE), 80)


def preview(image: Image.Image) -> bytes:
    """A review-size JPEG for the archivist's screen (no metadata at all)."""
    return _jpeg(_shrunk(image, PREVIEW_EDGE), 85)


def small_copies(image: Image.Image) -> dict[str, bytes]:
    """Thumbnail and preview JPEGs of one decoded picture; the thumbnail is shrunk from the preview."""
    shown = _shrunk(image, PREVIEW_EDGE)
    return {"thumbnail_key": _jpeg(_shrunk(shown, THUMBNAIL_EDGE), 80), "preview_key": _jpeg(shown, 85)}


@dataclass
class Band:
    """The lines of the evidence band drawn under the picture."""

    evidence_no: str
    sha256: str
    account_no: str | None = None
    account_name: str | None = None
    captured: str = "未知"
    basis: str = ""
    place: str = "未知"
    received: str = ""
    flags: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The text lines, in reading order."""
        lines = [
            f"证据编号 {self.evidence_no}    SHA-256 {self.sha256[:16]}…",
            f"户号 {self.account_no or '未关联'}    户名 {self.account_name or '—'}",
            f"拍摄时间 {self.captured}    依据 {self.basis}",
            f"地点 {self.place}",
            f"服务器接收 {self.received}",
        ]
        if self.flags:
            lines.append("提示 " + "；".join(self.flags))
        return lines


def _xmp(evidence_no: str, sha256: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'dc:identifier="{evidence_no}" dc:source="sha256:{sha256}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode("utf-8")


def _longest_fitting(line: str, fits) -> int:
    """The longest prefix length (at least 10) whose text fits: a binary search, text width grows with length."""
    low, high = 10, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(line[:middle]):
            low = middle
        else:
            high = middle - 1
    return low


def stamped_copy(image: Image.Image, band: Band) -> bytes:
    """The picture with the evidence band below it; evidence number in EXIF and XMP."""
    width = image.width
    size = max(14, width // 48)
    font = _font(size)
    lines = band.lines()
    wrapped: list[str] = []
    # text is measured on a scratch image: the picture itself may be read by another thread meanwhile
    draw_probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    room = width - 2 * size
    for line in lines:
        while draw_probe.textlength(line, font=font) > room and len(line) > 10:
            cut = _longest_fitting(line, lambda text: draw_probe.textlength(text, font=font) <= room)
            wrapped.append(line[:cut])
            line = "  " + line[cut:]
        wrapped.append(line)
    line_height = int(size * 1.45)
    band_height = line_height * len(wrapped) + size
    canvas = Image.new("RGB", (width, image.height + band_height), (16, 42, 67))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = image.height + size // 2
    for line in wrapped:
        draw.text((size, y), line, font=font, fill=(255, 255, 255))
        y += line_height
    exif = Image.Exif()
    exif[0x010E] = f"Dangan evidence {band.evidence_no}; original SHA-256 {band.sha256}"
    exif[0x0131] = "Dangan evidence stamping"
    return _jpeg(canvas, 88, exif=exif, xmp=_xmp(band.evidence_no, band.sha256))
