"""Real photos from many camera makes: our reader agrees with exiftool wherever exiftool finds a value."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from core.exif import read_metadata
from tests.helpers.tools import require_command

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "cameras"
PHOTOS = sorted(p for p in CORPUS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".heic", ".heif"))
TAGS = (
    "-DateTimeOriginal",
    "-SubSecTimeOriginal",
    "-OffsetTimeOriginal",
    "-GPSLatitude",
    "-GPSLongitude",
    "-GPSAltitude",
    "-GPSDateTime",
    "-Make",
    "-Model",
    "-ImageWidth",
    "-ImageHeight",
)


@pytest.fixture(scope="module")
def exiftool_says() -> dict[str, dict]:
    exiftool = require_command("exiftool", "libimage-exiftool-perl")
    out = subprocess.run(
        [exiftool, "-j", "-n", *TAGS, *map(str, PHOTOS)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    )
    return {Path(item["SourceFile"]).name: item for item in json.loads(out.stdout)}


def test_the_corpus_covers_heic_and_times_outside_the_main_exif_ifd():
    names = {p.name for p in PHOTOS}
    assert {
        "IMG_5195.HEIC",
        "HMD_Nokia_8.3_5G_hdr.heif",
        "Reconyx_HC500_Hyperfire.jpg",
        "olympus-d320l.jpg",
        "sony-powershota5.jpg",
    } <= names
    assert len(names) >= 15
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in names)  # every file has its source and licence noted


def _exif_time(text: str) -> str:
    return datetime.strptime(str(text)[:19], "%Y:%m:%d %H:%M:%S").isoformat()


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_capture_time_gps_and_camera_agree_with_exiftool(photo, exiftool_says):
    theirs, ours = exiftool_says[photo.name], read_metadata(photo.read_bytes())
    assert ours.status == "ok", ours.reason
    if "DateTimeOriginal" in theirs:
        assert ours.capture_local is not None and ours.capture_local[:19] == _exif_time(theirs["DateTimeOriginal"])
        if "SubSecTimeOriginal" in theirs:
            assert ours.capture_local[20:] == str(theirs["SubSecTimeOriginal"])
    else:
        assert ours.capture_local is None
    assert ours.offset == theirs.get("OffsetTimeOriginal")
    for mine, key in (
        (ours.gps_latitude, "GPSLatitude"),
        (ours.gps_longitude, "GPSLongitude"),
        (ours.gps_altitude, "GPSAltitude"),
    ):
        assert (mine is None) == (key not in theirs), key
        if mine is not None:
            # positions to 1e-7 degree (about 1 cm), altitude to the millimetre, as the reader rounds them
            assert mine == pytest.approx(theirs[key], abs=1e-6 if key != "GPSAltitude" else 5e-4), key
    if "GPSDateTime" in theirs:
        gps = datetime.fromisoformat(ours.gps_time_utc.replace("Z", "+00:00"))
        assert gps.strftime("%Y:%m:%d %H:%M:%S") == str(theirs["GPSDateTime"])[:19]
    else:
        assert ours.gps_time_utc is None
    assert (ours.make, ours.model) == (theirs.get("Make"), theirs.get("Model"))
    assert (ours.width, ours.height) == (theirs["ImageWidth"], theirs["ImageHeight"])


@pytest.mark.parametrize(
    "name,source",
    [
        ("Reconyx_HC500_Hyperfire.jpg", "MakerNotes Reconyx DateTimeOriginal"),
        ("olympus-d320l.jpg", "APP12 PictureInfo TimeDate"),
        ("sony-powershota5.jpg", "CIFF TimeStamp"),
        ("IMG_5195.HEIC", "EXIF DateTimeOriginal"),
    ],
)
def test_the_capture_time_names_where_it_was_found(name, source):
    meta = read_metadata((CORPUS / name).read_bytes())
    assert meta.capture_source == source
    assert meta.raw[source]
