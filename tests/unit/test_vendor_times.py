"""Vendor capture-time readers: the layouts they understand, and bounded behaviour on hostile bytes."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import vendor_times
from core.exif import read_metadata
from tests.helpers.images import jpeg_with_segments, make_jpeg


def _ciff(entries: list[tuple[int, bytes]], self_references: int = 0) -> bytes:
    """A CIFF heap as Canon wrote it into JPEG APP0: records, then the table, then the table offset."""
    data, table = b"", []
    for tag, value in entries:
        table.append(struct.pack("<HII", tag, len(value), len(data)))
        data += value
    size = len(data) + 2 + 10 * (len(table) + self_references) + 4
    for _ in range(self_references):  # sub-heap records covering the whole heap: loops that branch
        table.append(struct.pack("<HII", 0x300A, size, 0))
    heap = data + struct.pack("<H", len(table)) + b"".join(table)
    heap += struct.pack("<I", len(data))
    return b"II" + struct.pack("<I", 14) + b"HEAPJPGM" + heap


def test_a_ciff_timestamp_and_make_model_are_read():
    stamp = struct.pack("<III", 972687386, 0, 0)  # 2000-10-27 22:56:26 on the camera's clock
    heap = _ciff([(0x180E, stamp), (0x080A, b"Canon\x00Canon PowerShot A5\x00")])
    meta = read_metadata(jpeg_with_segments((0xE0, heap)))
    assert (meta.capture_local, meta.capture_source) == ("2000-10-27T22:56:26", "CIFF TimeStamp")
    assert (meta.make, meta.model) == ("Canon", "Canon PowerShot A5")


def test_an_app12_picture_info_time_is_read_and_exif_still_wins():
    segment = b"OLYMPUS OPTICAL CO.,LTD.\x00 713\r\n[picture info]\r\nTimeDate=909698819\r\n"
    assert read_metadata(jpeg_with_segments((0xEC, segment))).capture_local == "1998-10-29T22:06:59"
    with_exif = make_jpeg()  # EXIF DateTimeOriginal 2026-03-02 09:15:30
    combined = with_exif[:2] + b"\xff\xec" + struct.pack(">H", len(segment) + 2) + segment + with_exif[2:]
    assert read_metadata(combined).capture_source == "EXIF DateTimeOriginal"


def test_a_reconyx_maker_note_with_big_endian_words_is_read():
    words = struct.pack(">6H", 5, 4, 3, 2, 1, 2021)  # second, minute, hour, month, day, year
    note = b"\x01\xf1\x03\x00" + b"\x00" * 18 + words
    assert vendor_times.reconyx_time(note) == "2021-02-01T03:04:05"
    assert vendor_times.reconyx_time(b"\x01\xf1" + b"\x00" * 40) is None  # month 0: no time


@pytest.mark.timeout(5)
def test_a_ciff_heap_that_contains_itself_many_times_stops_at_its_limits():
    heap = _ciff([(0x080A, b"Canon\x00A5\x00")], self_references=50)  # 50 ** 8 walks without a budget
    fields = vendor_times.ciff_fields(heap)
    assert fields.make == "Canon" and fields.capture_local is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_in_vendor_blocks_never_raise(blob):
    vendor_times.ciff_fields(b"II" + struct.pack("<I", 14) + b"HEAPJPGM" + blob)
    vendor_times.picture_info_time(blob)
    vendor_times.reconyx_time(b"\x01\xf1" + blob)
    vendor_times.maker_note(b"II*\x00\x08\x00\x00\x00" + blob)
