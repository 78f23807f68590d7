"""Reading capture metadata from photo bytes: EXIF (exifread), XMP fallback, hostile-file checks.

JPEG is read directly; HEIC/HEIF (pillow-heif), PNG and WebP hand their EXIF block (a TIFF
structure) and XMP packet over through Pillow, and the same checks and reader run on them.

Pure functions: bytes in, a :class:`Metadata` out. Nothing here raises on bad input; a corrupt,
truncated or hostile file comes back with ``status="unreadable"`` and the reason, so the worker
records it and moves on. exiftool is the reference reader; the fields and their precedence
(EXIF before XMP) follow what it reports for the same tags.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import exifread
import pillow_heif
from PIL import Image

from core import vendor_times

pillow_heif.register_heif_opener()

READER = f"exifread {exifread.__version__}"
# Above this many pixels a file is treated as a decompression bomb: a real 12–50 MP camera
# photo is far below it, a 20000×20000 frame header is far above it.
MAX_PIXELS = 100_000_000
MAX_RAW_VALUE = 500
MAX_IFDS = 32
# Containers whose EXIF block and XMP packet are taken from Pillow (not read by exifread directly).
CONTAINER_FORMATS = ("HEIF", "PNG", "WEBP")
_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$")
_XMP_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)


@dataclass
class Metadata:
    """What the reader found in one file (times are naive local wall-clock ISO strings)."""

    status: str = "absent"  # ok | absent (no EXIF/XMP at all) | unreadable
    reason: str | None = None
    reader: str = READER
    format: str | None = None
    width: int | None = None
    height: int | None = None
    raw: dict = field(default_factory=dict)
    xmp: dict = field(default_factory=dict)
    capture_local: str | None = None
    capture_source: str | None = None
    offset: str | None = None
    offset_source: str | None = None
    modify_local: str | None = None
    digitized_local: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None
    gps_source: str | None = None
    gps_time_utc: str | None = None
    make: str | None = None
    model: str | None = None
    body_serial: str | None = None
    software: str | None = None
    image_unique_id: str | None = None
    orientation: int | None = None

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


class Unreadable(Exception):
    """The file's structure is broken or hostile; the message is the recorded reason."""


# --- structure checks (bounded walks; they never follow a pointer twice) ---------------------


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, payload) of the header segments and the offset of the scan data."""
    segments, pos, end = [], 2, len(data)
    while True:
        if pos + 4 > end:
            raise Unreadable(f"truncated: file ends at byte {end} inside the JPEG header")
        if data[pos] != 0xFF:
            raise Unreadable(f"corrupt JPEG: no segment marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2 or pos + 2 + length > end:
            raise Unreadable(
                f"truncated: segment 0xFF{marker:02X} at byte {pos} claims {length} bytes, file ends at byte {end}"
            )
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return segments, pos


def _check_tiff(payload: bytes) -> None:
    """Walk the IFD graph of an EXIF block; raise Unreadable on loops or impossible counts."""
    if len(payload) < 8 or payload[:2] not in (b"II", b"MM"):
        raise Unreadable("corrupt EXIF: no TIFF header")
    order = "<" if payload[:2] == b"II" else ">"
    first = struct.unpack(order + "I", payload[4:8])[0]
    pending, seen = [(first, "IFD0")], set()
    while pending:
        offset, name = pending.pop()
        if offset == 0:
            continue
        if offset in seen:
            raise Unreadable(f"EXIF loop: {name} points back to the IFD at offset {offset}")
        seen.add(offset)
        if len(seen) > MAX_IFDS:
            raise Unreadable(f"EXIF has more than {MAX_IFDS} IFDs")
        if offset + 2 > len(payload):
            raise Unreadable(f"corrupt EXIF: {name} offset {offset} is outside the {len(payload)}-byte block")
        count = struct.unpack(order + "H", payload[offset : offset + 2])[0]
        if offset + 2 + count * 12 + 4 > len(payload):
            raise Unreadable(f"corrupt EXIF: {name} claims {count} entries, more than its block holds")
        for i in range(count):
            at = offset + 2 + i * 12
            tag = struct.unpack(order + "H", payload[at : at + 2])[0]
            if tag in (0x8769, 0x8825, 0xA005):
                pending.append((struct.unpack(order + "I", payload[at + 8 : at + 12])[0], f"IFD tag 0x{tag:04X}"))
        pending.append(
            (
                struct.unpack(order + "I", payload[offset + 2 + count * 12 : offset + 6 + count * 12])[0],
                f"next IFD after {name}",
            )
        )


def check_structure(data: bytes) -> int:
    """Raise Unreadable for a broken or hostile JPEG; return how many header bytes may hold XMP."""
    if not data.startswith(b"\xff\xd8"):
        return min(len(data), 1024 * 1024)
    segments, scan_start = _jpeg_segments(data)
    for marker, payload in segments:
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            _check_tiff(payload[6:])
    if data.rfind(b"\xff\xd9", scan_start) == -1:
        raise Unreadable("truncated: the image data has no end-of-image marker")
    return scan_start


@dataclass
class _Header:
    format: str
    width: int
    height: int
    exif: bytes | None = None  # the TIFF structure of a container format's EXIF block
    xmp: bytes | None = None


def _tiff_block(value) -> bytes | None:
    """The TIFF structure inside an EXIF block (HEIF, PNG and WebP may prefix it with ``Exif\\0\\0``)."""
    if not isinstance(value, bytes) or not value:
        return None
    return value[6:] if value.startswith(b"Exif\x00\x00") else value


def _xmp_bytes(info: dict) -> bytes | None:
    value = info.get("xmp") or info.get("XML:com.adobe.xmp")
    return value.encode("utf-8") if isinstance(value, str) else value or None


def _heif_as_stored(data: bytes, header: _Header) -> None:
    """EXIF as stored in a HEIF file, and its coded size, as exiftool reports them.

    Pillow's HEIF opener shows the picture upright (the container's rotation applied) and resets the
    EXIF orientation to 1; the evidence keeps the stored orientation and (in :func:`read_metadata`)
    the coded width and height.
    """
    heif = pillow_heif.open_heif(io.BytesIO(data))
    header.exif, header.xmp = _tiff_block(heif.info.get("exif")), _xmp_bytes(heif.info)


def _image_header(data: bytes, max_pixels: int) -> _Header:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                header = _Header(image.format, *image.size)
                if header.format in CONTAINER_FORMATS:
                    header.exif, header.xmp = _tiff_block(image.info.get("exif")), _xmp_bytes(image.info)
            if header.format == "HEIF":
                _heif_as_stored(data, header)
        except Image.DecompressionBombError as exc:
            raise Unreadable(f"decompression bomb: {exc}") from exc
        except Exception as exc:  # Pillow raises many types for garbage input
            detail = re.sub(r"\s*<[^>]*>", "", str(exc))  # drop object reprs: the reason is stored
            raise Unreadable(f"not a readable image: {type(exc).__name__}: {detail}"[:300]) from exc
    pixels = header.width * header.height
    if pixels > max_pixels:
        raise Unreadable(
            f"decompression bomb: {header.width}×{header.height} = {pixels:,} pixels exceeds "
            f"the {max_pixels:,}-pixel limit"
        )
    return header


# --- value conversion ---------------------------------------------------------------------


def _text(tag) -> str | None:
    if tag is None:
        return None
    value = tag.values if isinstance(tag.values, str) else tag.printable
    value = str(value).strip().strip("\x00").strip()
    return value or None


def _exif_time(value: str | None, subsec: str | None = None) -> str | None:
    match = _EXIF_TIME.match(value or "")
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    text = moment.isoformat()
    digits = re.sub(r"\D", "", subsec or "")
    return f"{text}.{digits}" if digits else text


def _number(value) -> float:
    if isinstance(value, Fraction) and value.denominator == 0:
        raise ValueError("zero denominator")
    return float(value)


def _dms(tag, ref: str | None) -> float | None:
    if tag is None or not isinstance(tag.values, list) or len(tag.values) != 3:
        return None
    try:
        d, m, s = (_number(v) for v in tag.values)
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    value = round(d + m / 60 + s / 3600, 7)
    return -value if (ref or "").upper() in ("S", "W") else value


def _gps_time(tags) -> str | None:
    date, stamp = _text(tags.get("GPS GPSDate")), tags.get("GPS GPSTimeStamp")
    if not date or stamp is None or not isinstance(stamp.values, list) or len(stamp.values) != 3:
        return None
    try:
        h, m, s = (_number(v) for v in stamp.values)
        day = datetime.strptime(date, "%Y:%m:%d").replace(tzinfo=timezone.utc)
        moment = day + timedelta(hours=h, minutes=m, seconds=s)
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _raw(tags: dict) -> dict:
    return {
        key: str(tag.printable)[:MAX_RAW_VALUE]
        for key, tag in tags.items()
        if key not in ("JPEGThumbnail", "TIFFThumbnail")
    }


# --- XMP ------------------------------------------------------------------------------------

_XMP_NAMES = (
    "exif:DateTimeOriginal",
    "photoshop:DateCreated",
    "xmp:CreateDate",
    "exif:DateTimeDigitized",
    "xmp:ModifyDate",
    "exif:GPSLatitude",
    "exif:GPSLongitude",
    "exif:GPSAltitude",
    "exif:GPSAltitudeRef",
    "exif:GPSTimeStamp",
    "tiff:Make",
    "tiff:Model",
    "tiff:Orientation",
    "xmp:CreatorTool",
    "exifEX:BodySerialNumber",
    "aux:SerialNumber",
    "exif:ImageUniqueID",
)


def read_xmp(header: bytes) -> dict:
    """Properties of the first XMP packet, as attributes or simple elements; DTDs are refused."""
    start = header.find(b"<x:xmpmeta")
    if start == -1:
        return {}
    end = header.find(b"</x:xmpmeta>", start)
    packet = header[start : end if end != -1 else start + 256 * 1024].decode("utf-8", "replace")
    if "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        return {"_refused": "XMP packet declares a DTD"}
    found = {}
    for name in _XMP_NAMES:
        prefix, local = name.split(":")
        pattern = (
            rf'\b{re.escape(prefix)}:{re.escape(local)}\s*=\s*"([^"]*)"|'
            rf"<{re.escape(prefix)}:{re.escape(local)}>([^<]*)</{re.escape(prefix)}:{re.escape(local)}>"
        )
        match = re.search(pattern, packet)
        if match:
            found[name] = (match.group(1) if match.group(1) is not None else match.group(2)).strip()[:MAX_RAW_VALUE]
    return found


def _xmp_time(value: str | None) -> tuple[str, str | None] | None:
    match = _XMP_TIME.match((value or "").strip())
    if not match or match.group(4) is None:
        return None
    y, mo, d, h, mi, s, frac, zone = match.groups()
    try:
        moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        return None
    text = moment.isoformat() + (f".{frac}" if frac else "")
    if zone == "Z":
        zone = "+00:00"
    return text, zone


def _xmp_coordinate(value: str | None) -> float | None:
    """XMP GPS coordinates are ``DDD,MM.mmmmR`` or ``DDD,MM,SSR``."""
    match = re.match(r"^(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])$", (value or "").strip())
    if not match:
        return None
    deg, minutes, seconds, ref = match.groups()
    result = round(int(deg) + float(minutes) / 60 + float(seconds or 0) / 3600, 7)
    return -result if ref in "SW" else result


# --- the reader -----------------------------------------------------------------------------


def read_metadata(data: bytes, max_pixels: int = MAX_PIXELS) -> Metadata:
    """Extract capture time, offset, GPS and device fields; hostile input gives status unreadable."""
    result = Metadata()
    try:
        header_end = check_structure(data)
        header = _image_header(data, max_pixels)
        result.format, result.width, result.height = header.format, header.width, header.height
        segments, tiff = [], header.exif
        if header.format in CONTAINER_FORMATS:
            tags = {}
            if header.exif:
                _check_tiff(header.exif)
                tags = exifread.process_file(io.BytesIO(header.exif), details=False, extract_thumbnail=False)
            xmp_source = header.xmp or data[:header_end]
        else:
            tags = exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
            xmp_source = data[:header_end]
            if data.startswith(b"\xff\xd8"):
                segments = _jpeg_segments(data)[0]
                tiff = next(
                    (
                        payload[6:]
                        for marker, payload in segments
                        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00")
                    ),
                    None,
                )
        vendor = vendor_times.find(segments, tiff)
    except Unreadable as exc:
        result.status, result.reason = "unreadable", str(exc)
        return result
    except (RecursionError, MemoryError) as exc:
        result.status, result.reason = "unreadable", f"EXIF reader gave up: {type(exc).__name__}"
        return result
    except Exception as exc:  # exifread raises assorted errors on malformed tags
        result.status, result.reason = "unreadable", f"EXIF reader failed: {type(exc).__name__}: {exc}"[:300]
        return result
    result.raw = _raw(tags)
    result.xmp = read_xmp(xmp_source)
    _fill_from_exif(result, tags)
    _fill_from_xmp(result)
    _fill_from_vendor(result, vendor)
    if result.format == "HEIF" and (result.orientation or 1) >= 5:  # shown upright: back to the coded size
        result.width, result.height = result.height, result.width
    result.status = "ok" if (result.raw or result.xmp) else "absent"
    return result


def _first(tags, *names):
    for name in names:
        if name in tags:
            return name, tags[name]
    return None, None


def _fill_from_exif(result: Metadata, tags: dict) -> None:
    name, tag = _first(tags, "EXIF DateTimeOriginal", "Image DateTimeOriginal")
    subsec = _text(tags.get("EXIF SubSecTimeOriginal"))
    result.capture_local = _exif_time(_text(tag), subsec)
    if result.capture_local:
        result.capture_source = name.replace("Image ", "EXIF ")
    offset_name, offset_tag = _first(tags, "EXIF OffsetTimeOriginal", "Image OffsetTimeOriginal")
    offset = _text(offset_tag)
    if result.capture_local and offset and _OFFSET.match(offset):
        result.offset, result.offset_source = offset, offset_name.replace("Image ", "EXIF ")
    result.modify_local = _exif_time(_text(tags.get("Image DateTime")), _text(tags.get("EXIF SubSecTime")))
    result.digitized_local = _exif_time(
        _text(tags.get("EXIF DateTimeDigitized")), _text(tags.get("EXIF SubSecTimeDigitized"))
    )
    lat = _dms(tags.get("GPS GPSLatitude"), _text(tags.get("GPS GPSLatitudeRef")))
    lon = _dms(tags.get("GPS GPSLongitude"), _text(tags.get("GPS GPSLongitudeRef")))
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        result.gps_latitude, result.gps_longitude, result.gps_source = lat, lon, "EXIF GPS"
        altitude = tags.get("GPS GPSAltitude")
        if altitude is not None and altitude.values:
            try:
                value = _number(altitude.values[0])
                ref = tags.get("GPS GPSAltitudeRef")
                below = ref is not None and ref.values and ref.values[0] == 1
                result.gps_altitude = round(-value if below else value, 3)
            except (ValueError, ZeroDivisionError, TypeError):
                pass
    result.gps_time_utc = _gps_time(tags)
    result.make = _text(tags.get("Image Make"))
    result.model = _text(tags.get("Image Model"))
    result.software = _text(tags.get("Image Software"))
    result.body_serial = _text(_first(tags, "EXIF BodySerialNumber", "Image BodySerialNumber")[1])
    result.image_unique_id = _text(tags.get("EXIF ImageUniqueID"))
    orientation = tags.get("Image Orientation")
    if orientation is not None and orientation.values and isinstance(orientation.values[0], int):
        result.orientation = orientation.values[0] if 1 <= orientation.values[0] <= 8 else None


def _fill_from_xmp(result: Metadata) -> None:
    xmp = result.xmp
    if not result.capture_local:
        for name in ("exif:DateTimeOriginal", "photoshop:DateCreated"):
            parsed = _xmp_time(xmp.get(name))
            if parsed:
                result.capture_local, zone = parsed
                result.capture_source = f"XMP {name}"
                if zone:
                    result.offset, result.offset_source = zone, f"XMP {name}"
                break
    if result.gps_latitude is None:
        lat, lon = _xmp_coordinate(xmp.get("exif:GPSLatitude")), _xmp_coordinate(xmp.get("exif:GPSLongitude"))
        if lat is not None and lon is not None:
            result.gps_latitude, result.gps_longitude, result.gps_source = lat, lon, "XMP exif:GPS"
    result.make = result.make or xmp.get("tiff:Make")
    result.model = result.model or xmp.get("tiff:Model")
    result.software = result.software or xmp.get("xmp:CreatorTool")
    result.body_serial = result.body_serial or xmp.get("exifEX:BodySerialNumber") or xmp.get("aux:SerialNumber")
    result.image_unique_id = result.image_unique_id or xmp.get("exif:ImageUniqueID")
    if result.modify_local is None and xmp.get("xmp:ModifyDate"):
        parsed = _xmp_time(xmp["xmp:ModifyDate"])
        result.modify_local = parsed[0] if parsed else None


def _fill_from_vendor(result: Metadata, vendor: vendor_times.VendorFields) -> None:
    """Maker-note and vendor-segment fields, used only where EXIF and XMP have none (as exiftool does)."""
    if not result.capture_local and vendor.capture_local:
        result.capture_local, result.capture_source = vendor.capture_local, vendor.capture_source
        result.raw[vendor.capture_source] = vendor.capture_local
    if not result.make and vendor.make:
        result.make, result.model = vendor.make, result.model or vendor.model
        result.raw["CIFF MakeModel"] = " / ".join(filter(None, (vendor.make, vendor.model)))


def capture_moment(meta: Metadata) -> datetime | None:
    """The EXIF/XMP capture time as an aware UTC datetime, when its offset is recorded."""
    if not meta.capture_local or not meta.offset:
        return None
    return local_to_utc(meta.capture_local, meta.offset)


def local_to_utc(local: str, offset: str) -> datetime:
    """Naive local ISO time plus ``±HH:MM`` → aware UTC datetime."""
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(timezone.utc)
