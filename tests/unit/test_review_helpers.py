"""Pure helpers of the review pages: queue cursors and filters, the site plan, labelled forms."""

from datetime import date, datetime, timezone

import pytest

from core import errors
from services import review_forms, site_plan
from services.review_cursor import decode_cursor, encode_cursor
from services.review_queue import local_day_start, parse_filters

WHEN = datetime(2026, 3, 2, 1, 2, 3, 456000, tzinfo=timezone.utc)


def test_a_cursor_round_trips_and_refuses_tampering_or_another_sort():
    token = encode_cursor("received_asc", WHEN, "abc")
    assert decode_cursor(token, "received_asc") == (WHEN, "abc")
    for bad in (token[:-3], "!!!", "", encode_cursor("received_asc", WHEN, "x" * 40)):
        with pytest.raises(errors.DomainError) as caught:
            decode_cursor(bad, "received_asc")
        assert caught.value.code == "review.bad_cursor"
    with pytest.raises(errors.DomainError):
        decode_cursor(token, "received_desc")


def test_filters_parse_to_typed_values_and_empty_means_any():
    filters = parse_filters(
        {
            "state": "has_issues",
            "flag": "clock_skew",
            "inspector_id": "4",
            "date_from": "2026-03-01",
            "voltage_class": "",
            "limit": "100",
        }
    )
    assert (filters.state, filters.flag, filters.inspector_id, filters.limit) == ("has_issues", "clock_skew", 4, 100)
    assert filters.date_from == date(2026, 3, 1) and filters.voltage_class is None
    assert filters.as_args() == {
        "state": "has_issues",
        "flag": "clock_skew",
        "inspector_id": "4",
        "date_from": "2026-03-01",
        "limit": "100",
    }
    with pytest.raises(errors.DomainError) as caught:
        parse_filters({"inspector_id": "four"})
    assert caught.value.details == {"filter": "inspector_id"}


def test_a_beijing_day_starts_at_16_utc_the_day_before():
    assert local_day_start(date(2026, 3, 2)) == datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc)


def test_the_site_plan_places_fixes_by_bearing_and_flags_the_far_ones():
    north = site_plan.Fix("1", 30.2110, 120.2100, 5)  # ~100 m north
    east = site_plan.Fix("2", 30.2100, 120.2300, None)  # ~1.9 km east
    plan = site_plan.make_plan(30.2100, 120.2100, [north, east], far_threshold_m=500)
    near, far = plan.fixes
    assert plan.scale_m == 2000 and plan.scale_text == "2.0 公里"
    assert near.x == pytest.approx(plan.centre, abs=0.5) and near.y < plan.centre
    assert far.x > plan.centre and far.y == pytest.approx(plan.centre, abs=1)
    assert 100 < near.distance_m < 115 and not near.far and far.far
    assert near.distance_text.endswith("米") and far.bearing == 90
    assert plan.threshold_px == pytest.approx((plan.centre - site_plan.MARGIN) * 500 / 2000, abs=0.1)
    close = site_plan.make_plan(30.2100, 120.2100, [site_plan.Fix("1", 30.21013, 120.2100)])
    assert close.scale_m == 50 and close.threshold_px is None  # near photos stay apart on a small scale
    assert site_plan.distance_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)


def test_a_photo_thousands_of_kilometres_away_is_never_called_within_the_site_range():
    # Hangzhou site, photo taken near Paris: the 500 m ring is far below one pixel at this scale
    plan = site_plan.make_plan(30.2100, 120.2100, [site_plan.Fix("1", 48.8566, 2.3522, 15)], far_threshold_m=500)
    assert plan.fixes[0].far and plan.fixes[0].distance_text.endswith("公里")
    assert plan.far_count == 1
    assert plan.verdict == "1 张照片超出现场范围 500 米"
    assert "以内" not in plan.verdict and "以内" not in plan.ring_note
    assert plan.threshold_px is None and plan.ring_note == "现场范围 500 米在此比例下不足 1 像素，未画出"


def test_the_plan_sentences_agree_for_near_and_mixed_photos():
    near = site_plan.make_plan(30.2100, 120.2100, [site_plan.Fix("1", 30.21013, 120.2100)], far_threshold_m=500)
    assert near.verdict == "全部照片在现场范围 500 米以内" and near.far_count == 0
    assert near.ring_note == "现场范围 500 米大于外圈，未画出"
    mixed = site_plan.make_plan(
        30.2100,
        120.2100,
        [site_plan.Fix("1", 30.2110, 120.2100), site_plan.Fix("2", 30.2100, 120.2300)],
        far_threshold_m=500,
    )
    assert mixed.verdict == "1 张照片超出现场范围 500 米" and mixed.ring_note == "绿色虚线为现场范围 500 米"


def test_forms_are_shown_with_their_schema_labels_and_choice_names():
    data = {
        "inspected_at": "2026-03-02T09:30:00+08:00",
        "meter_number": "3300",
        "seal_status": "broken",
        "meter_readings": {"total": 12.5, "peak": None},
        "customer_present": True,
        "extra": "x",
    }
    rows = {row.path: row for row in review_forms.labelled_rows("usage_inspection", 2, data)}
    assert rows["seal_status"].label == "封印状态" and rows["seal_status"].value == "破损"
    assert rows["customer_present"].value == "是"
    assert rows["meter_readings.total"].label == "总" and rows["meter_readings.total"].depth == 1
    assert rows["meter_readings.peak"].value == "—"
    assert rows["extra"].label == "extra"  # unknown to the schema: shown, not hidden
    assert review_forms.kind_label("usage_inspection") == "用电检查记录"
    assert review_forms.labelled_rows("no_such_kind", 1, {"a": 1})[0].label == "a"


def test_revisions_side_by_side_mark_the_fields_that_differ():
    class Rev:
        def __init__(self, number, payload, conflict=False):
            self.number, self.payload, self.conflict = number, payload, conflict
            self.schema_version, self.received_at, self.device_time, self.payload_sha256 = 2, WHEN, None, "h"

    columns, table = review_forms.side_by_side(
        "usage_inspection",
        [
            Rev(1, {"meter_number": "1", "findings": "正常"}),
            Rev(2, {"meter_number": "1", "findings": "柜门锁损坏"}, conflict=True),
        ],
        2,
    )
    assert [c.current for c in columns] == [False, True] and columns[1].conflict
    differs = {row["path"]: row["differs"] for row in table}
    assert differs == {"meter_number": False, "findings": True}


def test_differences_of_time_read_as_people_say_them():
    from server.web.review_text import duration_html, duration_text

    assert duration_text(-571367092.793) == "约 18 年"
    assert duration_text(192) == "3 分 12 秒"
    assert duration_text(3661) == "1 小时 1 分"
    assert duration_text(60) == "1 分" and duration_text(5) == "5 秒" and duration_text(0.4) == "0.4 秒"
    assert duration_text(86400 * 70) == "约 2 个月"
    assert str(duration_html(-192.5)) == '<span class="duration" title="精确值 -192.5 秒">3 分 12 秒</span>'


def test_the_bundle_report_words_the_time_basis_flags_and_timestamp_kind_in_chinese():
    from services.report_pdf import photo_rows

    item = {
        "photo_id": "p1",
        "evidence_no": "DGE-1",
        "files": {"original": "originals/DGE-1.jpg"},
        "size": 3,
        "timestamp": {"kind": "local"},
        "times": {
            "estimate_basis": "EXIF DateTimeOriginal, offset +08:00 recorded in EXIF OffsetTimeOriginal; "
            "device clock offset measured at sync: +0 s",
            "analysis": {
                "basis_code": "exif",
                "details": {
                    "exif_source": "EXIF DateTimeOriginal",
                    "exif_offset": "+08:00",
                    "device_clock_offset_s": 0,
                },
            },
            "flags": ["gps_far_from_site"],
        },
    }
    rows = dict(photo_rows(item, {"哈希": "一致"}))
    assert "依据：EXIF拍摄时间（EXIF 原始拍摄时间（DateTimeOriginal）；时区 UTC+08:00" in rows["推定拍摄时间"]
    assert "offset" not in rows["推定拍摄时间"] and "recorded" not in rows["推定拍摄时间"]
    assert rows["时间标记"] == "拍摄地点远离客户登记位置"
    assert rows["可信时间戳时间"].endswith("（本地时间戳服务（非第三方））")
