"""Test images made with Pillow (JPEG; HEIC/HEIF, PNG and WebP through the same spec): EXIF with GPS and offsets, XMP-only times, edits, hostile files.

Every image is built from parameters here, so tests state the expected values themselves and
compare them with what the readers extract.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from fractions import Fraction

import pillow_heif
from PIL import Image, ImageDraw, PngImagePlugin, TiffImagePlugin

pillow_heif.register_heif_opener()
EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def _rational(value: float, denominator: int = 10000) -> TiffImagePlugin.IFDRational:
    fraction = Fraction(value).limit_denominator(denominator)
    return TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)


def _dms(degrees: float) -> tuple:
    degrees = abs(degrees)
    whole = int(degrees)
    minutes_full = (degrees - whole) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    return (_rational(whole, 1), _rational(minutes, 1), _rational(round(seconds, 4), 10000))


@dataclass
class PhotoSpec:
    """What a made-up camera writes into a JPEG."""

    width: int = 640
    height: int = 480
    make: str | None = "Huawei"
    model: str | None = "MatePad 11"
    software: str | None = None
    body_serial: str | None = None
    image_unique_id: str | None = None
    orientation: int | None = None
    datetime_original: str | None = "2026:03:02 09:15:30"
    subsec: str | None = None
    offset: str | None = "+08:00"
    modify_datetime: str | None = None
    digitized: str | None = None
    gps: tuple[float, float] | None = (31.230416, 121.473701)
    gps_altitude: float | None = None
    gps_date: str | None = None
    gps_time: tuple[int, int, float] | None = None
    xmp: dict[str, str] = field(default_factory=dict)
    exif: bool = True
    quality: int = 85
    seed: int = 1


def _picture(spec: PhotoSpec) -> Image.Image:
    image = Image.new("RGB", (spec.width, spec.height), (40 + spec.seed * 7 % 200, 90, 140))
    draw = ImageDraw.Draw(image)
    # an asymmetric mark so orientation changes are visible in derived copies
    draw.rectangle((0, 0, spec.width // 4, spec.height // 8), fill=(250, 220, 0))
    draw.ellipse((spec.width // 2, spec.height // 2, spec.width // 2 + 40, spec.height // 2 + 40), fill=(200, 30, 30))
    return image


def _exif_of(spec: PhotoSpec) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in (
        (0x010F, spec.make),
        (0x0110, spec.model),
        (0x0131, spec.software),
        (0x0132, spec.modify_datetime),
        (0x0112, spec.orientation),
    ):
        if value is not None:
            exif[tag] = value
    sub = exif.get_ifd(EXIF_IFD)
    for tag, value in (
        (0x9003, spec.datetime_original),
        (0x9291, spec.subsec),
        (0x9011, spec.offset),
        (0x9004, spec.digitized),
        (0xA431, spec.body_serial),
        (0xA420, spec.image_unique_id),
    ):
        if value is not None:
            sub[tag] = value
    if spec.gps is not None:
        gps = exif.get_ifd(GPS_IFD)
        lat, lon = spec.gps
        gps[0] = b"\x02\x03\x00\x00"
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(lat)
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(lon)
        if spec.gps_altitude is not None:
            gps[5] = b"\x00" if spec.gps_altitude >= 0 else b"\x01"
            gps[6] = _rational(abs(spec.gps_altitude), 100)
        if spec.gps_time is not None:
            h, m, s = spec.gps_time
            gps[7] = (_rational(h, 1), _rational(m, 1), _rational(s, 100))
        if spec.gps_date is not None:
            gps[0x1D] = spec.gps_date
    return exif


def xmp_packet(values: dict[str, str]) -> bytes:
    """An XMP packet with the given ``prefix:Name`` properties as attributes."""
    namespaces = {
        "exif": "http://ns.adobe.com/exif/1.0/",
        "xmp": "http://ns.adobe.com/xap/1.0/",
        "photoshop": "http://ns.adobe.com/photoshop/1.0/",
        "tiff": "http://ns.adobe.com/tiff/1.0/",
        "dc": "http://purl.org/dc/elements/1.1/",
    }
    used = sorted({key.split(":")[0] for key in values})
    ns = " ".join(f'xmlns:{p}="{namespaces[p]}"' for p in used)
    attrs = " ".join(f'{key}="{value}"' for key, value in values.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {ns} {attrs}/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode("utf-8")


def make_jpeg(spec: PhotoSpec | None = None, **overrides) -> bytes:
    """A JPEG made to ``spec`` (keyword overrides change single fields)."""
    spec = spec or PhotoSpec()
    for key, value in overrides.items():
        setattr(spec, key, value)
    buffer = io.BytesIO()
    kwargs: dict = {"quality": spec.quality}
    if spec.exif:
        kwargs["exif"] = _exif_of(spec)
    if spec.xmp:
        kwargs["xmp"] = xmp_packet(spec.xmp)
    _picture(spec).save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


def make_image(fmt: str, spec: PhotoSpec | None = None, **overrides) -> bytes:
    """The picture of :func:`make_jpeg` in another format ("HEIF", "PNG", "WEBP"), same EXIF and XMP."""
    spec = spec or PhotoSpec()
    for key, value in overrides.items():
        setattr(spec, key, value)
    kwargs: dict = {}
    if spec.exif:
        kwargs["exif"] = _exif_of(spec).tobytes()
    if spec.xmp and fmt == "PNG":
        kwargs["pnginfo"] = PngImagePlugin.PngInfo()
        kwargs["pnginfo"].add_itxt("XML:com.adobe.xmp", xmp_packet(spec.xmp).decode("utf-8"))
    elif spec.xmp:
        kwargs["xmp"] = xmp_packet(spec.xmp)
    if fmt == "HEIF":
        kwargs["quality"] = 50
    buffer = io.BytesIO()
    _picture(spec).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def make_heic(spec: PhotoSpec | None = None, **overrides) -> bytes:
    """A HEIC (HEVC in HEIF) photo, as iPads and many Android tablets write it by default."""
    return make_image("HEIF", spec, **overrides)


def truncated_jpeg() -> bytes:
    """A JPEG cut off inside its EXIF segment."""
    data = make_jpeg()
    return data[:60]


def exif_loop_jpeg() -> bytes:
    """A JPEG whose EXIF IFD0 points to itself as its next IFD and as its EXIF sub-IFD (a loop)."""
    tiff = bytearray(b"II*\x00" + struct.pack("<I", 8))
    entries = [(0x010F, 2, 4, b"Cam\x00"), (0x8769, 4, 1, struct.pack("<I", 8))]
    tiff += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        tiff += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
    tiff += struct.pack("<I", 8)  # next IFD offset: IFD0 again
    return _jpeg_with_app1(b"Exif\x00\x00" + bytes(tiff))


def huge_ifd_count_jpeg() -> bytes:
    """A JPEG whose IFD0 claims 65535 entries in a few bytes."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0xFFFF) + b"\x01\x00" * 10
    return _jpeg_with_app1(b"Exif\x00\x00" + tiff)


def _jpeg_with_app1(payload: bytes) -> bytes:
    plain = make_jpeg(exif=False)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return plain[:2] + segment + plain[2:]


def _ifd(order: str, entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0) -> bytes:
    out = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in sorted(entries):
        out += struct.pack(order + "HHI", tag, kind, count) + value
    return out + struct.pack(order + "I", next_ifd)


def odd_layout_tiff(
    order: str = ">", pointer_type: int = 4, capture: str = "2024:05:06 07:08:09", make: str = "OddCam"
) -> bytes:
    """An EXIF TIFF block laid out unusually: the EXIF IFD and its values first, a gap, IFD0 last.

    ``pointer_type`` is the TIFF type of the ExifIFD pointer (4 LONG, 9 SLONG or 13 IFD).
    """
    time_value, make_value = capture.encode() + b"\x00", make.encode() + b"\x00"
    exif_at = 8
    time_at = exif_at + 2 + 12 + 4
    make_at = time_at + len(time_value)
    ifd0_at = make_at + len(make_value) + 100
    exif = _ifd(order, [(0x9003, 2, len(time_value), struct.pack(order + "I", time_at))])
    ifd0 = _ifd(
        order,
        [
            (0x010F, 2, len(make_value), struct.pack(order + "I", make_at)),
            (0x8769, pointer_type, 1, struct.pack(order + "I", exif_at)),
        ],
    )
    head = (b"MM" if order == ">" else b"II") + struct.pack(order + "HI", 42, ifd0_at)
    return head + exif + time_value + make_value + b"\x00" * 100 + ifd0


def jpeg_with_segments(*segments: tuple[int, bytes]) -> bytes:
    """A plain JPEG with these (marker, payload) segments inserted after SOI, in this order."""
    plain = make_jpeg(exif=False)
    inserted = b"".join(
        bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload for marker, payload in segments
    )
    return plain[:2] + inserted + plain[2:]


def bomb_jpeg(width: int = 20000, height: int = 20000) -> bytes:
    """A small JPEG whose frame header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    data = bytearray(make_jpeg(width=16, height=16))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at != -1:
            # SOFn: length(2) precision(1) height(2) width(2)
            data[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise AssertionError("no SOF marker in the generated JPEG")


def not_an_image() -> bytes:
    """Bytes that are no image at all."""
    return b"%PDF-1.4 this is not a photo\n" * 10


def make_noisy_jpeg(width: int = 2400, height: int = 1600, seed: int = 1, quality: int = 92) -> bytes:
    """A camera-sized JPEG that does not compress away (random pixels): several MB, for upload tests."""
    import random

    noise = random.Random(seed).randbytes(width * height * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
