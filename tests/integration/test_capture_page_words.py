"""The capture page in words an archivist reads: a far photo's plan, the tablet's own GPS fix,
times in Beijing time, differences as 约 18 年 with the exact seconds at hand, Chinese statements."""

from sqlalchemy import select

from models import Photo, PhotoEvidence
from models.database import db
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, make_capture, review_world, utc
from tests.helpers.factories import PASSWORD

TSA_LOCAL = "Dangan LOCAL TSA (this server's clock, not a trusted third party)"


def _stamped_far_photo(device):
    capture = make_capture(device, HIGH)  # the tablet reported a fix at the site, ±8 m
    photo = db.session.scalar(select(Photo).where(Photo.capture_id == capture.id))
    db.session.add(
        PhotoEvidence(
            photo_id=photo.id,
            evidence_no="EV-FAR-1",
            gps_latitude=48.8566,
            gps_longitude=2.3522,  # Paris
            estimated_capture_at=utc(2008, 8, 8, 12, 0, 0),
            estimate_basis="EXIF DateTimeOriginal, offset +08:00 recorded in EXIF OffsetTimeOriginal; "
            "device clock offset measured at sync: +0 s",
            flags=["gps_far_from_site", "exif_vs_device_mismatch"],
            time_analysis={
                "basis_code": "exif",
                "details": {
                    "exif_local": "2008-08-08T20:00:00",
                    "exif_source": "EXIF DateTimeOriginal",
                    "exif_offset": "+08:00",
                    "exif_utc": "2008-08-08T12:00:00Z",
                    "received_at": "2026-11-30T06:29:34.375260Z",
                    "device_clock_offset_s": 0,
                    "exif_vs_device_s": -571367092.793,
                    "distance_to_site_m": 9060123.4,
                    "distance_source": "EXIF GPS",
                },
            },
            tsa_status="granted",
            tsa_kind="local",
            tsa_name=TSA_LOCAL,
            tsa_gen_time=utc(2026, 11, 30, 6, 29, 40),
            completed_at=utc(2026, 11, 30, 6, 29, 41),
        )
    )
    db.session.commit()
    return capture


def test_a_far_photo_is_reported_far_in_every_sentence_of_the_plan(client):
    device, _ = review_world()
    capture = _stamped_far_photo(device)
    api = ApiClient(client)
    assert api.login("archivist", PASSWORD).status_code == 302
    html = client.get(f"/review/captures/{capture.id}").get_data(as_text=True)
    plan = html[html.index("拍摄位置与客户现场") :]
    plan = plan[: plan.index("</section>")]
    assert "1 张照片超出现场范围 500 米" in plan
    assert "以内" not in plan
    assert "现场范围 500 米在此比例下不足 1 像素，未画出" in plan


def test_the_tablets_own_fix_and_its_accuracy_stand_beside_the_exif_position(client):
    device, _ = review_world()
    capture = _stamped_far_photo(device)
    api = ApiClient(client)
    api.login("archivist", PASSWORD)
    html = client.get(f"/review/captures/{capture.id}").get_data(as_text=True)
    assert "48.856600, 2.352200" in html  # EXIF position
    device_row = html[html.index('class="rv-gps-device"') :]
    device_row = device_row[: device_row.index("</td>")]
    assert "30.210100, 120.210500" in device_row and "±8 米" in device_row
    assert "与照片位置相距" in device_row and "公里" in device_row
    assert "平板定位" in html[html.index("拍摄位置与客户现场") :]  # the fix is on the plan as well


def test_times_are_beijing_time_and_differences_are_words_with_exact_seconds_in_a_tooltip(client):
    device, _ = review_world()
    capture = _stamped_far_photo(device)
    api = ApiClient(client)
    api.login("archivist", PASSWORD)
    html = client.get(f"/review/captures/{capture.id}").get_data(as_text=True)
    assert '<span class="duration" title="精确值 -571367092.793 秒">约 18 年</span>' in html
    assert "2026-11-30 14:29:34（北京时间）" in html
    assert "2026-11-30T06:29:34" not in html and "-571367092" not in html.replace('title="精确值 -571367092', "")
    assert "（秒）" not in html
    assert '<span class="muted">meter</span>' not in html and "电能表" in html  # slots by their 中文名
    for english in ("offset +08:00 recorded", "device clock offset", TSA_LOCAL, "this server's clock"):
        assert english not in html, english
    assert "本服务器的本地时间戳服务（使用本服务器时钟，并非可信第三方）" in html
    assert "EXIF 原始拍摄时间（DateTimeOriginal）；时区 UTC+08:00" in html
