"""EXIF/XMP reading on images made here, compared with exiftool; hostile files never crash or hang."""

import io
import json
import struct
import subprocess

import pytest
from PIL import Image

from core.exif import capture_moment, read_metadata
from tests.helpers.images import (
    PhotoSpec,
    bomb_jpeg,
    exif_loop_jpeg,
    huge_ifd_count_jpeg,
    jpeg_with_segments,
    make_heic,
    make_image,
    make_jpeg,
    not_an_image,
    odd_layout_tiff,
    truncated_jpeg,
    xmp_packet,
)
from tests.helpers.tools import require_command


def test_capture_time_offset_subseconds_gps_and_device_fields_are_read():
    meta = read_metadata(
        make_jpeg(
            datetime_original="2026:03:02 09:15:30",
            subsec="250",
            offset="+08:00",
            gps=(31.230416, -121.473701),
            gps_altitude=-12.5,
            gps_date="2026:03:02",
            gps_time=(1, 15, 30),
            make="Canon",
            model="EOS R6",
            body_serial="0123",
            image_unique_id="A1B2",
            orientation=6,
        )
    )
    assert meta.status == "ok"
    assert (meta.capture_local, meta.offset) == ("2026-03-02T09:15:30.250", "+08:00")
    assert meta.capture_source == "EXIF DateTimeOriginal" and meta.offset_source == "EXIF OffsetTimeOriginal"
    assert capture_moment(meta).isoformat() == "2026-03-02T01:15:30.250000+00:00"
    assert (meta.gps_latitude, meta.gps_longitude, meta.gps_altitude) == (31.230416, -121.473701, -12.5)
    assert meta.gps_time_utc == "2026-03-02T01:15:30Z"
    assert (meta.make, meta.model, meta.body_serial, meta.image_unique_id, meta.orientation) == (
        "Canon",
        "EOS R6",
        "0123",
        "A1B2",
        6,
    )
    assert meta.raw["EXIF DateTimeOriginal"] == "2026:03:02 09:15:30"  # raw values are kept as read


def test_xmp_only_capture_time_and_gps_are_found():
    meta = read_metadata(
        make_jpeg(
            exif=False,
            xmp={
                "exif:DateTimeOriginal": "2026-03-02T09:15:30+08:00",
                "exif:GPSLatitude": "31,13.82496N",
                "exif:GPSLongitude": "121,28.42206E",
            },
        )
    )
    assert meta.capture_source == "XMP exif:DateTimeOriginal"
    assert (meta.capture_local, meta.offset) == ("2026-03-02T09:15:30", "+08:00")
    assert meta.gps_latitude == pytest.approx(31.230416, abs=1e-6)


def test_exif_wins_over_xmp_like_the_reference_reader():
    meta = read_metadata(
        make_jpeg(datetime_original="2026:03:02 09:15:30", xmp={"exif:DateTimeOriginal": "2020-01-01T00:00:00+08:00"})
    )
    assert meta.capture_local == "2026-03-02T09:15:30"


@pytest.mark.parametrize("fmt", ["HEIF", "PNG", "WEBP"])
def test_heic_png_and_webp_give_the_same_fields_as_the_jpeg(fmt):
    spec = dict(
        subsec="250",
        gps_altitude=12.5,
        gps_date="2026:03:02",
        gps_time=(1, 15, 30),
        body_serial="0123",
        xmp={"xmp:CreateDate": "2026-03-02T09:15:30"},
    )
    ours, jpeg = read_metadata(make_image(fmt, **spec)), read_metadata(make_jpeg(**spec))
    assert ours.status == "ok" and ours.format == fmt
    for name in (
        "capture_local",
        "capture_source",
        "offset",
        "offset_source",
        "gps_latitude",
        "gps_longitude",
        "gps_altitude",
        "gps_time_utc",
        "make",
        "model",
        "body_serial",
        "width",
        "height",
    ):
        assert getattr(ours, name) == getattr(jpeg, name), name
    assert ours.capture_local == "2026-03-02T09:15:30.250"
    assert ours.xmp["xmp:CreateDate"] == "2026-03-02T09:15:30"


def test_a_heic_photo_is_not_unreadable():
    meta = read_metadata(make_heic(exif=False))
    assert (meta.status, meta.format, meta.width, meta.height) == ("absent", "HEIF", 640, 480)


def test_hostile_exif_inside_a_heic_photo_is_unreadable_with_the_reason():
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0xFFFF) + b"\x01\x00" * 10
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, "HEIF", exif=b"Exif\x00\x00" + tiff)
    meta = read_metadata(buffer.getvalue())
    assert meta.status == "unreadable" and "claims 65535 entries" in meta.reason


def test_a_photo_without_metadata_is_absent_not_unreadable():
    meta = read_metadata(make_jpeg(exif=False))
    assert (meta.status, meta.capture_local, meta.width, meta.height) == ("absent", None, 640, 480)


@pytest.mark.parametrize(
    "make,reason",
    [
        (truncated_jpeg, "truncated"),
        (exif_loop_jpeg, "EXIF loop"),
        (huge_ifd_count_jpeg, "claims 65535 entries"),
        (bomb_jpeg, "decompression bomb"),
        (not_an_image, "not a readable image"),
        (lambda: make_heic()[:-10], "not a readable image"),
    ],
)
@pytest.mark.timeout(10)
def test_hostile_files_come_back_unreadable_with_the_reason(make, reason):
    meta = read_metadata(make())
    assert meta.status == "unreadable"
    assert reason in meta.reason
    assert meta.capture_local is None


SPECS = [
    PhotoSpec(
        datetime_original="2026:03:02 09:15:30",
        offset="+08:00",
        gps=(31.230416, 121.473701),
        gps_altitude=8.25,
        make="Huawei",
        model="MatePad 11",
        orientation=1,
    ),
    PhotoSpec(
        datetime_original="2025:12:31 23:59:59",
        subsec="5",
        offset="-05:00",
        gps=(-33.8688, -151.2093),
        make="Apple",
        model="iPad Pro",
        orientation=6,
        software="Adobe Photoshop 25.0",
        modify_datetime="2026:01:05 10:00:00",
    ),
    PhotoSpec(
        datetime_original=None,
        offset=None,
        gps=None,
        exif=False,
        xmp={"exif:DateTimeOriginal": "2026-03-02T09:15:30+08:00"},
    ),
    PhotoSpec(
        datetime_original="2026:03:02 09:15:30",
        offset=None,
        gps=(39.9, 116.4),
        gps_date="2026:03:02",
        gps_time=(1, 15, 40),
        make="Xiaomi",
        model="Pad 6",
        orientation=8,
    ),
]


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF", "PNG", "WEBP"])
def test_results_agree_with_exiftool_on_the_same_files(tmp_path, fmt):
    exiftool = require_command("exiftool", "libimage-exiftool-perl")
    paths = []
    for i, spec in enumerate(SPECS):
        path = tmp_path / f"p{i}.{fmt.lower()}"
        path.write_bytes(make_jpeg(spec) if fmt == "JPEG" else make_image(fmt, spec))
        paths.append(path)
    out = subprocess.run(
        [
            exiftool,
            "-json",
            "-n",
            "-DateTimeOriginal",
            "-SubSecTimeOriginal",
            "-OffsetTimeOriginal",
            "-GPSLatitude",
            "-GPSLongitude",
            "-GPSAltitude",
            "-Make",
            "-Model",
            "-Software",
            "-Orientation",
            "-ImageWidth",
            "-ImageHeight",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    reference = {item["SourceFile"]: item for item in json.loads(out.stdout)}
    for path in paths:
        ours, theirs = read_metadata(path.read_bytes()), reference[str(path)]
        if "DateTimeOriginal" in theirs:
            text = str(theirs["DateTimeOriginal"])  # exiftool: "YYYY:MM:DD HH:MM:SS[+HH:MM]" for XMP
            assert ours.capture_local[:19].replace("-", ":").replace("T", " ") == text[:19]
        else:
            assert ours.capture_local is None
        assert ours.offset == theirs.get(
            "OffsetTimeOriginal",
            ours.offset if "DateTimeOriginal" in theirs and len(str(theirs["DateTimeOriginal"])) > 19 else None,
        )
        for mine, key in (
            (ours.gps_latitude, "GPSLatitude"),
            (ours.gps_longitude, "GPSLongitude"),
            (ours.gps_altitude, "GPSAltitude"),
        ):
            assert (mine is None) == (key not in theirs)
            if mine is not None:
                assert mine == pytest.approx(theirs[key], abs=1e-6)
        assert (ours.make, ours.model, ours.software) == (
            theirs.get("Make"),
            theirs.get("Model"),
            theirs.get("Software"),
        )
        assert ours.orientation == theirs.get("Orientation")
        assert (ours.width, ours.height) == (theirs["ImageWidth"], theirs["ImageHeight"])


ODD_LAYOUTS = {
    "EXIF IFD before IFD0, big-endian": jpeg_with_segments((0xE1, b"Exif\x00\x00" + odd_layout_tiff(">"))),
    "EXIF IFD before IFD0, little-endian": jpeg_with_segments((0xE1, b"Exif\x00\x00" + odd_layout_tiff("<"))),
    "ExifIFD pointer of type IFD": jpeg_with_segments((0xE1, b"Exif\x00\x00" + odd_layout_tiff("<", 13))),
    "ExifIFD pointer of type SLONG": jpeg_with_segments((0xE1, b"Exif\x00\x00" + odd_layout_tiff(">", 9))),
    "XMP and ICC segments before EXIF": jpeg_with_segments(
        (0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet({"xmp:CreateDate": "2020-01-01T00:00:00"})),
        (0xE2, b"ICC_PROFILE\x00\x01\x01" + bytes(3000)),
        (0xE1, b"Exif\x00\x00" + odd_layout_tiff()),
    ),
}


def test_odd_ifd_layouts_agree_with_exiftool(tmp_path):
    exiftool = require_command("exiftool", "libimage-exiftool-perl")
    paths = {}
    for number, (name, data) in enumerate(ODD_LAYOUTS.items()):
        paths[name] = tmp_path / f"odd{number}.jpg"
        paths[name].write_bytes(data)
    out = subprocess.run(
        [exiftool, "-j", "-n", "-DateTimeOriginal", "-Make", *map(str, paths.values())],
        capture_output=True,
        text=True,
        check=True,
    )
    reference = {item["SourceFile"]: item for item in json.loads(out.stdout)}
    for name, path in paths.items():
        ours, theirs = read_metadata(path.read_bytes()), reference[str(path)]
        assert theirs["DateTimeOriginal"] == "2024:05:06 07:08:09" and theirs["Make"] == "OddCam", name
        assert (ours.status, ours.capture_local, ours.make) == ("ok", "2024-05-06T07:08:09", "OddCam"), name
