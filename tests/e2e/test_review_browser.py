"""An archivist's morning in Chromium: filter the queue, open, approve into the dossier, reject;
the rejecting tablet's next pull carries the retake request. Screenshots go to var/screenshots/."""

import base64
import re
import time
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import func, select

from clients.device_client import DeviceClient, HttpTransport, PhotoFile
from models import Capture, DossierItem, Photo
from models.database import db
from models.evidence import PhotoEvidence
from tests.helpers.browser import chromium_page, live_server, login, require_chromium, screenshot
from tests.helpers.captures import HIGH, LOW, review_world
from tests.helpers.device import sample_data
from tests.helpers.factories import PASSWORD
from tests.helpers.images import make_jpeg

pytestmark = pytest.mark.e2e
TAKEN = datetime(2026, 3, 2, 1, 25, tzinfo=timezone.utc)


def _photo(directory, name, slot, category, seed, gps):
    path = directory / f"{name}.jpg"
    path.write_bytes(make_jpeg(seed=seed, gps=gps, datetime_original="2026:03:02 09:25:00"))
    fix = {"latitude": gps[0], "longitude": gps[1], "accuracy_m": 6.0}
    return PhotoFile(str(path), slot, category, captured_at=TAKEN, gps=fix)


class OneShotTusUploader:
    """tus creation-with-upload in one request (the photos here are small)."""

    def __init__(self, base_url: str, token: str):
        self.url = base_url + "/api/v1/uploads"
        self.token = token

    def upload(self, client, photo: dict, stop_at=None) -> bool:
        """Send the whole file with the creation request."""
        data = open(photo["path"], "rb").read()
        meta = {
            "photo_id": photo["photo_id"],
            "sha256": photo["sha256"],
            "filename": "photo.jpg",
            "filetype": photo["mime_type"],
        }
        header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
        answer = requests.post(
            self.url,
            data=data,
            timeout=30,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(data)),
                "Upload-Metadata": header,
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert answer.status_code == 201, answer.text
        return int(answer.headers["Upload-Offset"]) == len(data)


def _wait_for_stamps(photo_count: int, timeout: float = 45.0) -> int:
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        db.session.remove()
        done = (
            db.session.scalar(
                select(func.count()).select_from(PhotoEvidence).where(PhotoEvidence.completed_at.is_not(None))
            )
            or 0
        )
        if done >= photo_count:
            break
        time.sleep(0.5)
    return done


def test_archivist_filters_approves_and_rejects_and_the_tablet_pulls_the_retake(app, database_url, redis_url, tmp_path):
    require_chromium()
    _, token = review_world()
    db.session.remove()
    site, far = (30.2102, 120.2106), (30.2301, 120.2405)
    with live_server(database_url, redis_url, tmp_path, worker=True) as base:
        tablet = DeviceClient(
            str(tmp_path / "tablet.sqlite3"), HttpTransport(base, token), uploader=OneShotTusUploader(base, token)
        )
        first, _ = tablet.capture(
            "usage_inspection",
            HIGH,
            sample_data("usage_inspection", 2),
            photos=[_photo(tmp_path, "a1", "meter", "meter", 1, site), _photo(tmp_path, "a2", "seal", "seal", 2, site)],
        )
        second, _ = tablet.capture(
            "usage_inspection",
            LOW,
            sample_data("usage_inspection", 1),
            photos=[_photo(tmp_path, "b1", "meter", "meter", 3, (30.2512, 120.1744))],
            schema_version=1,
        )
        third, _ = tablet.capture(
            "metering_check",
            HIGH,
            sample_data("metering_check", 1),
            photos=[_photo(tmp_path, "c1", "meter", "meter", 4, far)],
        )
        tablet.sync(attempts=2, base_delay=0.2)
        assert tablet.rejected() == []
        db.session.remove()
        states = [
            (c.id[:6], c.complete, [(p.slot, p.state, bool(p.blob_sha256)) for p in c.photos])
            for c in db.session.scalars(select(Capture))
        ]
        assert db.session.scalar(select(func.count()).select_from(Capture).where(Capture.complete.is_(True))) == 3, (
            states
        )
        _wait_for_stamps(4)

        with chromium_page() as page:
            login(page, base, "archivist", PASSWORD)
            page.click("text=待审核队列")
            page.wait_for_url(f"{base}/review/queue")
            assert page.locator("tr.rv-row").count() == 3
            page.select_option("#filter-class", "high")
            page.click("#apply-filters")
            page.wait_for_url(re.compile(r"voltage_class=high"))
            assert page.locator("tr.rv-row").count() == 2
            assert page.locator("#queue-total").inner_text() == "2"
            screenshot(page, "review-queue")

            opened = page.locator("tr.rv-row").first.get_attribute("data-id")
            assert opened in (first, third)
            page.keyboard.press("j")  # select the first row with the keyboard and open it
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/review/captures/{opened}")
            assert page.locator("#form-table tr").count() >= 3
            assert page.locator("svg.rv-plan").count() == 1
            screenshot(page, "review-detail")
            page.select_option("#doc-type", "inspection_record")
            page.fill("#item-title", "定期检查记录及计量装置照片")
            page.click("#approve")
            page.wait_for_url(re.compile(r"/review/captures/(?!" + opened + ")"))  # straight on to the next one
            assert "归入卷内目录第 1 号" in page.inner_text(".flash")

            page.goto(f"{base}/review/captures/{second}")
            page.select_option("#reject-reason", "blurry")
            page.fill("#reject-text", "表计示数看不清，请靠近重拍")
            page.click("#reject")
            page.wait_for_load_state()
            assert "已退回" in page.inner_text(".flash")

            page.goto(f"{base}/dossiers/{HIGH}")
            index = page.inner_text("#dossier-index")
            assert "定期检查记录及计量装置照片" in index and "用电检查工作单" in index
            assert "档案号" in page.inner_text(".rv-detail-head")
            screenshot(page, "dossier")

        db.session.remove()
        item = db.session.scalar(select(DossierItem))
        assert (item.seq, item.capture_id, item.doc_type) == (1, opened, "inspection_record")
        assert db.session.get(Capture, second).review_state == "rejected"
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 4

        tablet.pull()
        retake = tablet.local("review")[second]
        assert retake["state"] == "rejected" and retake["reason_code"] == "blurry"
        assert retake["reason_text"] == "表计示数看不清，请靠近重拍"
        assert tablet.local("review")[opened]["state"] == "approved"
        tablet.close()
