"""Derived copies of a photo: thumbnail, review preview and the stamped copy (水印照片).

The original bytes are never re-encoded; these are new JPEGs made from one reduced decode
(Pillow draft mode), orientation applied, with no EXIF carried over (so no GPS either). The
stamped copy adds a visible evidence band in a CJK font the project installs itself and names
its evidence number in EXIF ImageDescription and XMP. Output is deterministic for the same
input and Pillow version, so content-addressed keys stay stable when a step is repeated.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from core.exif import MAX_PIXELS

THUMBNAIL_EDGE = 320
PREVIEW_EDGE = 1600
STAMPED_EDGE = 2000  # half of a 4000×3000 (12 MP) frame: JPEG draft decodes it at scale 1/2
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
    """Decode at reduced size (JPEG draft mode), orientation applied, RGB, long edge ≤ ``longest``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
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
    image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return image


def _jpeg(image: Image.Image, quality: int, **extra) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **extra)
    return buffer.getvalue()


def thumbnail(image: Image.Image) -> bytes:
    """A small JPEG for lists (no metadata at all)."""
    copy = image.copy()
    copy.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    return _jpeg(copy, 80)


def preview(image: Image.Image) -> bytes:
    """A review-size JPEG for the archivist's screen (no metadata at all)."""
    copy = image.copy()
    copy.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE), Image.Resampling.LANCZOS)
    return _jpeg(copy, 85)


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


def stamped_copy(image: Image.Image, band: Band) -> bytes:
    """The picture with the evidence band below it; evidence number in EXIF and XMP."""
    width = image.width
    size = max(14, width // 48)
    font = _font(size)
    lines = band.lines()
    wrapped: list[str] = []
    draw_probe = ImageDraw.Draw(image)
    for line in lines:
        while draw_probe.textlength(line, font=font) > width - 2 * size and len(line) > 10:
            cut = len(line)
            while cut > 10 and draw_probe.textlength(line[:cut], font=font) > width - 2 * size:
                cut -= 1
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
