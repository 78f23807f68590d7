"""Estimating capture time from every source, and the flags raised when the sources disagree."""
from datetime import datetime, timedelta, timezone

from tests.helpers.images import make_jpeg
from core.exif import read_metadata
from core.time_analysis import DeviceFacts, Settings, analyse

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
    result = analyse(read_metadata(make_jpeg(exif=False)),
                     facts(device_captured_at=datetime(2026, 3, 2, 1, 25, tzinfo=UTC)))
    assert "offset measured at sync: unknown" in result.basis and "uncorrected" in result.basis


def test_no_time_anywhere_uses_receipt_time_as_an_upper_bound():
    result = analyse(read_metadata(make_jpeg(exif=False)), facts())
    assert (result.estimated_capture_at, result.basis_code) == (RECEIVED, "receipt")


def test_disagreements_become_flags_and_never_change_the_raw_values():
    meta = read_metadata(make_jpeg(datetime_original="2026:03:02 12:00:00", gps=(39.9, 116.4), gps_date="2026:03:02",
                                   gps_time=(1, 0, 0), software="Adobe Photoshop 25.0"))
    result = analyse(meta, facts(device_captured_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))
    assert set(result.flags) == {"exif_vs_device_mismatch", "gps_vs_exif_mismatch", "capture_after_receipt",
                                 "edited_by_software", "gps_far_from_site"}
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
