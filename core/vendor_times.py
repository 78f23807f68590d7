"""Capture times that cameras store outside the standard EXIF and XMP fields; pure, bounded parsing.

exiftool reads these and so must we, or a photo's capture time is "missing" where the reference
reader finds one. Each reader takes raw bytes that :mod:`core.exif` has already bounded and
returns a naive local wall-clock ISO string (or None); nothing here raises on bad input.

- **Maker notes** (EXIF tag 0x927C): Reconyx HyperFire trail cameras keep the capture time only
  there (little-endian 16-bit words from word 11: second, minute, hour, month, day, year).
- **JPEG APP12 "Picture Info"** (older Olympus, Agfa, Polaroid cameras): ``TimeDate=<seconds>``,
  the camera's wall clock counted in seconds since 1970 as if it were UTC.
- **CIFF** (Canon's Camera Image File Format, in a JPEG APP0 segment of early PowerShot cameras):
  the TimeStamp record (0x180E, the same seconds count) and the MakeModel record (0x080A).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

MAKER_NOTE_TAG, EXIF_IFD_TAG = 0x927C, 0x8769
_EPOCH = datetime(1970, 1, 1)
_PICTURE_INFO_TIME = re.compile(rb"(?:^|[\s\]])TimeDate=(\d{1,12})(?=[\s\x00]|$)")
CIFF_MAX_DEPTH = 8
CIFF_MAX_ENTRIES = 512  # in all heaps together


@dataclass
class VendorFields:
    """What a vendor block says: capture time (naive local ISO), where it was found, make and model."""

    capture_local: str | None = None
    capture_source: str | None = None
    make: str | None = None
    model: str | None = None


def _seconds_as_wall_clock(seconds: int) -> str | None:
    """A camera's wall clock stored as seconds since 1970 (no zone) → naive ISO time."""
    if not 0 < seconds < 4_102_444_800:  # before 2100
        return None
    return (_EPOCH + timedelta(seconds=seconds)).isoformat()


# --- maker notes ------------------------------------------------------------------------------


def maker_note(tiff: bytes) -> bytes | None:
    """The MakerNote bytes of an EXIF TIFF structure (already checked by the caller), or None."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    exif_ifd = _entry(tiff, order, struct.unpack(order + "I", tiff[4:8])[0], EXIF_IFD_TAG)
    if exif_ifd is None:
        return None
    found = _entry(tiff, order, struct.unpack(order + "I", exif_ifd[2])[0], MAKER_NOTE_TAG)
    if found is None:
        return None
    kind, count, value = found
    if kind not in (1, 7) or count <= 4:  # BYTE or UNDEFINED, stored at an offset
        return None
    offset = struct.unpack(order + "I", value)[0]
    return tiff[offset : offset + count] if offset + count <= len(tiff) else None


def _entry(tiff: bytes, order: str, ifd: int, wanted: int) -> tuple[int, int, bytes] | None:
    """(type, count, 4-byte value field) of one tag in the IFD at ``ifd``."""
    if ifd + 2 > len(tiff):
        return None
    count = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
    for i in range(count):
        at = ifd + 2 + i * 12
        if at + 12 > len(tiff):
            return None
        tag, kind, number = struct.unpack(order + "HHI", tiff[at : at + 8])
        if tag == wanted:
            return kind, number, tiff[at + 8 : at + 12]
    return None


def reconyx_time(note: bytes) -> str | None:
    """Capture time of a Reconyx HyperFire maker note (signature ``01 F1``), or None."""
    if not note.startswith(b"\x01\xf1") or len(note) < 34:
        return None
    words = list(struct.unpack("<6H", note[22:34]))
    if words[0] & 0xFF00 and not words[0] & 0xFF:  # some firmware writes these words big-endian
        words = [((w >> 8) | ((w & 0xFF) << 8)) for w in words]
    second, minute, hour, month, day, year = words
    try:
        return datetime(year, month, day, hour, minute, second).isoformat()
    except ValueError:
        return None


# --- JPEG APP12 Picture Info ------------------------------------------------------------------


def picture_info_time(payload: bytes) -> str | None:
    """``TimeDate=`` of an APP12 Picture Info segment, or None."""
    match = _PICTURE_INFO_TIME.search(payload[: 64 * 1024])
    return _seconds_as_wall_clock(int(match.group(1))) if match else None


# --- CIFF in JPEG APP0 ------------------------------------------------------------------------


def ciff_fields(payload: bytes) -> VendorFields:
    """TimeStamp and MakeModel of a CIFF heap (``II`` + header length + ``HEAPJPGM``)."""
    fields = VendorFields()
    if len(payload) < 14 or payload[:2] != b"II" or payload[6:10] != b"HEAP":
        return fields
    header = struct.unpack("<I", payload[2:6])[0]
    if not 14 <= header < len(payload):
        return fields
    records: dict[int, bytes] = {}
    _walk_heap(payload, header, len(payload), 0, records, [CIFF_MAX_ENTRIES])
    stamp = records.get(0x180E)
    if stamp and len(stamp) >= 4:
        fields.capture_local = _seconds_as_wall_clock(struct.unpack("<I", stamp[:4])[0])
        fields.capture_source = "CIFF TimeStamp" if fields.capture_local else None
    make_model = records.get(0x080A)
    if make_model:
        parts = [p.decode("latin-1").strip() for p in make_model.split(b"\x00") if p.strip()]
        fields.make, fields.model = (parts + [None, None])[:2]
    return fields


def _walk_heap(data: bytes, start: int, end: int, depth: int, records: dict[int, bytes], budget: list[int]) -> None:
    """Collect records of a heap and its sub-heaps; ``budget`` bounds the entries read in all."""
    if depth > CIFF_MAX_DEPTH or end - start < 6 or end > len(data):
        return
    table = start + struct.unpack("<I", data[end - 4 : end])[0]
    if table + 2 > end:
        return
    count = struct.unpack("<H", data[table : table + 2])[0]
    if count > CIFF_MAX_ENTRIES or table + 2 + count * 10 > end:
        return
    for i in range(count):
        budget[0] -= 1
        if budget[0] < 0:
            return
        at = table + 2 + i * 10
        tag, size, offset = struct.unpack("<HII", data[at : at + 10])
        if tag & 0xC000 == 0x4000:  # value kept in the entry itself
            records.setdefault(tag & 0x3FFF, data[at + 2 : at + 10])
            continue
        begin, stop = start + offset, start + offset + size
        if offset > end - start or stop > end:
            continue
        if tag & 0x3800 in (0x2800, 0x3000):  # a sub-heap
            _walk_heap(data, begin, stop, depth + 1, records, budget)
        else:
            records.setdefault(tag & 0x3FFF, data[begin:stop])


# --- all of them ------------------------------------------------------------------------------


def find(segments: list[tuple[int, bytes]], tiff: bytes | None) -> VendorFields:
    """The first vendor capture time found: maker note, then APP12 Picture Info, then CIFF."""
    if tiff:
        note = maker_note(tiff)
        if note:
            local = reconyx_time(note)
            if local:
                return VendorFields(local, "MakerNotes Reconyx DateTimeOriginal")
    for marker, payload in segments:
        if marker == 0xEC:
            local = picture_info_time(payload)
            if local:
                return VendorFields(local, "APP12 PictureInfo TimeDate")
    for marker, payload in segments:
        if marker == 0xE0 and payload[6:14] == b"HEAPJPGM":
            fields = ciff_fields(payload)
            if fields.capture_local or fields.make:
                return fields
    return VendorFields()
