"""Estimating capture time from every source, and the flags raised when the sources disagree."""

from datetime import datetime, timedelta, timezone

import pytest

from core.exif import read_metadata
from core.labels import FLAG_LABELS
from core.time_analysis import DeviceFacts, Settings, analyse
from tests.helpers.images import make_image, make_jpeg

UTC = timezone.utc
RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SITE = dict(site_latitude=31.230416, site_longitude=121.473701)


def facts(**kw) -> DeviceFacts:
    return DeviceFacts(**{"received_at": RECEIVED, **SITE, **kw})


def test_exif_with_offset_is_the_estimate_and_consistent_sources_raise_no_flag():
    meta = read_metadata(make_jpeg(gps_date="2026:03:02", gps_time=(1, 15, 40)))
    result = analyse(meta, facts(device_captured_at=datetime(2026, 3, 2, 1, 15, 20, tzinfo=UTC), clock_offset_s=3))
    assert result.estimated_capture_at == datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC)
    assert result.basis_code == "exif" and "+08:00 recorded" in result.basis and "+3 s" in result.basis
    assert result.flags == []


def test_missing_exif_falls_back_to_the_device_time_corrected_by_its_clock_offset():
    meta = read_metadata(make_jpeg(exif=False))
    result = analyse(meta, facts(device_captured_at=datetime(2026, 3, 2, 1, 25, tzinfo=UTC), clock_offset_s=600))
    assert result.estimated_capture_at == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    assert result.basis_code == "device"
    assert set(result.flags) == {"exif_missing", "device_clock_skew"}


def test_unknown_device_offset_is_said_in_the_basis():
    result = analyse(
        read_metadata(make_jpeg(exif=False)), facts(device_captured_at=datetime(2026, 3, 2, 1, 25, tzinfo=UTC))
    )
    assert "offset measured at sync: unknown" in result.basis and "uncorrected" in result.basis


def test_no_time_anywhere_uses_receipt_time_as_an_upper_bound():
    result = analyse(read_metadata(make_jpeg(exif=False)), facts())
    assert (result.estimated_capture_at, result.basis_code) == (RECEIVED, "receipt")


def test_disagreements_become_flags_and_never_change_the_raw_values():
    meta = read_metadata(
        make_jpeg(
            datetime_original="2026:03:02 12:00:00",
            gps=(39.9, 116.4),
            gps_date="2026:03:02",
            gps_time=(1, 0, 0),
            software="Adobe Photoshop 25.0",
        )
    )
    result = analyse(meta, facts(device_captured_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))
    assert set(result.flags) == {
        "exif_vs_device_mismatch",
        "gps_vs_exif_mismatch",
        "capture_after_receipt",
        "edited_by_software",
        "gps_far_from_site",
    }
    assert meta.capture_local == "2026-03-02T12:00:00"
    assert result.details["distance_to_site_m"] > 1_000_000


def test_offset_is_inferred_from_gps_time_when_the_camera_recorded_none():
    meta = read_metadata(make_jpeg(offset=None, gps_date="2026:03:02", gps_time=(1, 15, 31)))
    result = analyse(meta, facts())
    assert result.estimated_capture_at == datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC)
    assert result.details["offset_inferred_from_gps"] == "+08:00" and result.flags == []


def test_modify_time_well_after_capture_marks_an_edit_even_without_an_editor_name():
    meta = read_metadata(make_jpeg(modify_datetime="2026:03:04 10:00:00"))
    assert "edited_by_software" in analyse(meta, facts()).flags


def test_tolerances_come_from_settings():
    meta = read_metadata(make_jpeg())
    device = datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC) + timedelta(seconds=90)
    assert "exif_vs_device_mismatch" not in analyse(meta, facts(device_captured_at=device)).flags
    strict = Settings(exif_device_tolerance_s=30)
    assert "exif_vs_device_mismatch" in analyse(meta, facts(device_captured_at=device), strict).flags


def test_gps_time_thirty_hours_after_exif_time_is_a_mismatch_and_the_basis_names_the_gps_time():
    meta = read_metadata(make_jpeg(offset=None, gps_date="2026:03:03", gps_time=(7, 15, 30)))
    result = analyse(meta, facts())
    assert "gps_vs_exif_mismatch" in result.flags
    assert "no GPS time" not in result.basis
    assert "GPS time" in result.basis and "+08:00 assumed" in result.basis
    assert result.details["gps_vs_exif_s"] == -30 * 3600


# One scenario per flag: (flag, photo bytes, device facts, what the basis must say, what it must not say).
FLAG_CASES = {
    "exif_missing": (
        make_jpeg(exif=False),
        dict(device_captured_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC)),
        ["capture time declared by the tablet"],
        ["EXIF", "GPS"],
    ),
    "exif_vs_device_mismatch": (
        make_jpeg(),
        dict(device_captured_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC), clock_offset_s=0),
        ["EXIF DateTimeOriginal", "+08:00 recorded", "+0 s"],
        ["tablet"],
    ),
    "gps_vs_exif_mismatch": (
        make_jpeg(offset=None, gps_date="2026:03:03", gps_time=(7, 15, 30)),
        {},
        ["EXIF DateTimeOriginal", "+08:00 assumed", "GPS time 2026-03-03T07:15:30Z"],
        ["no GPS time", "inferred"],
    ),
    "device_clock_skew": (
        make_jpeg(exif=False),
        dict(device_captured_at=datetime(2026, 3, 2, 1, 10, tzinfo=UTC), clock_offset_s=600),
        ["corrected by its clock offset", "+600 s"],
        ["uncorrected", "unknown"],
    ),
    "capture_after_receipt": (
        make_jpeg(datetime_original="2026:03:02 12:00:00"),
        {},
        ["EXIF DateTimeOriginal", "+08:00 recorded"],
        ["upper bound"],
    ),
    "edited_by_software": (make_jpeg(software="Adobe Photoshop 25.0"), {}, ["EXIF DateTimeOriginal"], []),
    "gps_far_from_site": (make_jpeg(gps=(39.9, 116.4)), {}, ["EXIF DateTimeOriginal"], []),
    "metadata_unreadable": (
        b"\xff\xd8\xff\xe1\x00\x40Exif",
        {},
        ["server receipt time", "upper bound"],
        ["EXIF DateTimeOriginal"],
    ),
    "no_camera_metadata": (
        make_image("PNG", exif=False),
        {},
        ["server receipt time", "upper bound"],
        ["EXIF DateTimeOriginal"],
    ),
}


@pytest.mark.parametrize("flag", sorted(FLAG_CASES))
def test_each_flag_comes_with_a_basis_that_agrees_with_it(flag):
    data, device, says, never = FLAG_CASES[flag]
    result = analyse(read_metadata(data), facts(**device))
    assert flag in result.flags
    for text in says:
        assert text in result.basis, (flag, result.basis)
    for text in never:
        assert text not in result.basis, (flag, result.basis)
    if {"exif_missing", "metadata_unreadable", "no_camera_metadata"} & set(result.flags):
        assert result.basis_code != "exif"


def test_every_flag_of_the_analysis_has_a_scenario_and_a_chinese_label():
    assert set(FLAG_CASES) == set(FLAG_LABELS)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in FLAG_LABELS.values())
