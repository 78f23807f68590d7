"""``photos inspect FILE…`` prints one JSON object per file, without needing a database."""

import json
from pathlib import Path

from tests.helpers.images import exif_loop_jpeg, make_jpeg


def test_inspect_prints_capture_time_gps_device_and_flags_per_file(tmp_path):
    from server import create_app

    good, hostile = tmp_path / "good.jpg", tmp_path / "loop.jpg"
    good.write_bytes(make_jpeg(software="Adobe Photoshop 25.0"))
    hostile.write_bytes(exif_loop_jpeg())
    # the URL points nowhere: the command must not touch a database
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "x",
        }
    )
    result = app.test_cli_runner().invoke(
        args=["photos", "inspect", str(good), str(hostile), str(tmp_path / "missing.jpg")]
    )
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert result.exit_code == 1  # one file could not be opened
    first, second, third = lines
    assert first["capture_time"] == "2026-03-02T09:15:30+08:00"
    assert first["capture_time_source"] == "EXIF DateTimeOriginal"
    assert first["gps"]["latitude"] == 31.230416 and first["make"] == "Huawei"
    assert first["flags"] == ["edited_by_software"]
    assert first["estimated_capture_at"] == "2026-03-02T01:15:30Z"
    assert second["error"]["code"] == "metadata.unreadable" and "EXIF loop" in second["error"]["reason"]
    assert third["error"]["code"] == "file.unreadable"


def test_inspect_reads_a_real_heic_photo_and_a_vendor_segment_time(tmp_path):
    from server import create_app

    corpus = Path(__file__).resolve().parents[1] / "corpus" / "cameras"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "x",
        }
    )
    result = app.test_cli_runner().invoke(
        args=["photos", "inspect", str(corpus / "IMG_5195.HEIC"), str(corpus / "olympus-d320l.jpg")]
    )
    assert result.exit_code == 0, result.output
    heic, olympus = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert heic["format"] == "HEIF" and heic["metadata_status"] == "ok"
    assert heic["capture_time"] == "2021-04-11T15:47:53.054-05:00" and heic["make"] == "Apple"
    assert heic["gps"]["latitude"] == 39.0513444 and heic["estimated_capture_at"] == "2021-04-11T20:47:53.054000Z"
    assert olympus["capture_time_source"] == "APP12 PictureInfo TimeDate"
    assert olympus["capture_time"] == "1998-10-29T22:06:59"
