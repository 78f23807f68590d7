"""An inspector's day with the capture app in Chromium on a 1280×800 tablet: enrolled by an admin's
QR code, captures three forms offline (camera JPEGs and one HEIC), closes and reopens the app
offline, syncs when the link is back; the archivist rejects one, the tablet shows the retake task,
the inspector amends it, the archivist approves it, the tablet shows the 卷内目录 number."""

import hashlib
import re

import pytest
import segno
import sqlalchemy as sa

from core.actor import CLI
from tests.helpers import capture_browser as app
from tests.helpers.browser import login, screenshot
from tests.helpers.captures import HIGH, LOW
from tests.helpers.factories import PASSWORD
from tests.helpers.images import make_heic, make_jpeg, make_noisy_jpeg
from tests.helpers.stack import LiveStack, engine_for, wait_until

pytestmark = pytest.mark.e2e
UNKNOWN = "9900000001"


def _world(database_url, redis_url, data_dir) -> str:
    """Customers, office users and an inspector with both customers assigned (no tablet yet);
    return an enrolment code for the inspector."""
    from models.database import db
    from server import create_app
    from services import enrolment, sync_assignments
    from services.ports_access import ports
    from tests.helpers.factories import make_customer, make_user

    flask_app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "live-stack",
        }
    )
    with flask_app.app_context():
        make_customer(
            HIGH,
            "江南精密机械有限公司",
            "高压",
            "大工业用电",
            latitude="30.2101",
            longitude="120.2105",
            address="杭州市滨江区江南大道 1088 号",
            meter_number="3300123456781",
        )
        make_customer(
            LOW,
            "张建国",
            "低压",
            "居民生活用电",
            latitude="30.2512",
            longitude="120.1744",
            address="杭州市上城区清泰街 12 号",
            meter_number="3300987654321",
        )
        make_user("inspector1", "inspector", display_name="王检查")
        for name in ("archivist", "admin"):
            make_user(name, name)
        sync_assignments.assign(db.session, CLI, "inspector1", [HIGH, LOW], ports().clock.now())
        _, code = enrolment.create_code(db.session, CLI, "inspector1", ports().clock.now())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return code


@pytest.fixture
def stack(database_url, redis_url, tmp_path):
    _world(database_url, redis_url, tmp_path)
    live = LiveStack(database_url, redis_url, tmp_path)
    live.start_web()
    live.start_worker()
    yield live
    live.stop()


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _photos(tmp_path) -> dict:
    files = {}
    for name, seed in (("meter-a", 1), ("meter-b", 2), ("defect", 3), ("signature", 4), ("meter-retake", 5)):
        path = tmp_path / f"IMG_{name}.jpg"
        path.write_bytes(
            make_jpeg(
                seed=seed, width=1600, height=1200, gps=(30.2102, 120.2106), datetime_original="2026:03:02 09:25:00"
            )
        )
        files[name] = path
    files["seal"] = tmp_path / "IMG_seal.HEIC"
    files["seal"].write_bytes(make_heic(seed=6))
    return files


def _admin_enrolment_code(browser, base: str, tmp_path) -> tuple[str, object]:
    """The admin creates a code on the devices page; return it and a PNG of its QR code."""
    office = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = office.new_page()
    login(page, base, "admin", PASSWORD)
    page.goto(f"{base}/admin/devices")
    page.select_option("#inspector", "inspector1")
    page.fill("#device_name", "平板 07")
    page.click("form[action$='/admin/devices/enrol'] button[type=submit]")
    code = page.inner_text("#enrol-code").replace(" ", "")
    url = page.inner_text("#enrolment code")
    assert url.endswith(f"/capture/#enrol={code}")
    screenshot(page, "capture-admin-enrolment")
    office.close()
    qr = tmp_path / "enrol-qr.png"
    segno.make(url, error="m").save(str(qr), scale=8, border=4)  # what the tablet's camera sees
    return code, qr


def _archivist(browser, base: str):
    page = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900}).new_page()
    login(page, base, "archivist", PASSWORD)
    return page


def test_inspector_captures_offline_syncs_once_and_follows_the_review(stack, tmp_path):
    base = stack.url
    files = _photos(tmp_path)
    engine = engine_for(stack.database_url)
    with app.chromium() as browser:
        code, qr = _admin_enrolment_code(browser, base, tmp_path)
        tablet = app.tablet_context(browser, base)
        page = app.open_app(tablet, base)
        page.set_input_files("#enrol-scan", str(qr))  # scan the QR code with the camera
        app.wait_js(page, f"document.querySelector('#enrol-code').value === {code!r}")
        app.enrol(page, code)
        app.wait_for_service_worker(page)
        page.wait_for_selector(f"button.customer[data-account='{HIGH}']")
        screenshot(page, "capture-home", full_page=False)

        # offline from here: the app comes from the service worker, the data from IndexedDB
        tablet.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert "离线" in page.inner_text("#net")

        first = app.start_capture(page, HIGH, "usage_inspection", search="江南")
        app.photo(page, "meter", files["meter-a"])
        app.photo(page, "seal", files["seal"])
        page.fill("#f-inspected_at", "2026-03-02T09:30")
        app.choose(page, "inspection_type", "定期检查")
        page.fill("#f-meter_number", "3300123456781")
        page.fill("#f-meter_readings-total", "12345.6")
        app.choose(page, "seal_status", "完好")
        page.fill("#f-seal_numbers", "ZJ00012345")
        app.choose(page, "wiring_status", "正确")
        page.click("#submit")  # 表单 validation: the customer's signature is optional, all required fields filled
        page.wait_for_selector("#search")
        screenshot(page, "capture-offline-queue", full_page=False)

        second = app.start_capture(page, LOW, "metering_check", search="清泰街")
        page.fill("#f-checked_at", "2026-03-02T10:05")
        page.fill("#f-meter_number", "3300987654321")
        page.fill("#f-ct_ratio_found", "150")  # not a ratio: refused before saving, as the server would
        page.fill("#f-seal_numbers", "ZJ00054321")
        app.choose(page, "seals_intact", "是")
        app.choose(page, "result", "正常")
        page.click("#submit")
        page.wait_for_selector("[data-field='ct_ratio_found']:not(:empty)")
        assert page.locator(".slot[data-slot='meter'] .error").count() == 1  # the required photo is missing
        screenshot(page, "capture-form-errors", full_page=False)
        page.fill("#f-ct_ratio_found", "150/5")
        app.photo(page, "meter", files["meter-b"])
        app.submit(page)

        third = app.start_capture(page, UNKNOWN, "defect_notice")  # 户号 not on the tablet: arrives unlinked
        app.photo(page, "defect", files["defect"])
        app.photo(page, "customer_signature", files["signature"])
        page.fill("#f-notice_no", "QX-2026-0001")
        page.fill("#f-issued_at", "2026-03-02T11:00")
        page.fill("#f-defect", "配电室无防小动物措施")
        app.choose(page, "severity", "严重")
        page.fill("#f-deadline", "2026-03-20")
        app.choose(page, "customer_signed", "是")
        screenshot(page, "capture-form", full_page=True)
        app.submit(page)

        # close the app and open it again, still offline: everything is still there, waiting
        page.close()
        page = app.open_app(tablet, base)
        shown = app.states(page)
        assert shown == {first: "waiting", second: "waiting", third: "waiting"}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM captures")).scalar() == 0

        tablet.set_offline(False)
        app.sync(page, until="[...document.querySelectorAll('li.capture')].every(e => e.dataset.state === 'stamped')")
        screenshot(page, "capture-stamped", full_page=False)

        with engine.connect() as conn:
            captures = conn.execute(sa.text("SELECT id, account_no, link_state, current_revision FROM captures")).all()
            photos = conn.execute(
                sa.text(
                    "SELECT capture_id, slot, blob_sha256, declared_sha256, mime_type, state, "
                    "device_latitude, device_gps_accuracy_m, device_captured_at FROM photos"
                )
            ).all()
        assert sorted((c.id, c.current_revision) for c in captures) == sorted([(first, 1), (second, 1), (third, 1)])
        assert {c.id: c.link_state for c in captures}[third] == "unlinked"
        expected = {
            (first, "meter"): files["meter-a"],
            (first, "seal"): files["seal"],
            (second, "meter"): files["meter-b"],
            (third, "defect"): files["defect"],
            (third, "customer_signature"): files["signature"],
        }
        assert len(photos) == len(expected)
        for p in photos:
            path = expected[(p.capture_id, p.slot)]
            stored = stack.data_dir / "blobs" / "objects" / p.blob_sha256[:2] / p.blob_sha256[2:4] / p.blob_sha256
            assert p.blob_sha256 == p.declared_sha256 == _sha(path) == hashlib.sha256(stored.read_bytes()).hexdigest()
            assert p.state == "ready"
            # the tablet's own time and position with its accuracy, recorded at each photo
            assert p.device_captured_at is not None
            assert abs(p.device_latitude - 30.2102) < 1e-6 and p.device_gps_accuracy_m == 8
        assert {p.mime_type for p in photos if p.slot == "seal"} == {"image/heic"}

        # the archivist rejects the first capture in the review pages
        office = _archivist(browser, base)
        office.goto(f"{base}/review/captures/{first}")
        office.select_option("#reject-reason", "blurry")
        office.fill("#reject-text", "表计示数看不清，请靠近重拍")
        office.click("#reject")
        office.wait_for_load_state()

        app.sync(page, until=app.state_is(first, "rejected"))
        row = page.locator(f"li.capture[data-capture-id='{first}']")
        assert "表计示数看不清" in row.inner_text()
        screenshot(page, "capture-retake-task", full_page=False)
        row.locator("button.amend").click()
        page.wait_for_selector("#capture-form")
        assert page.input_value("#f-meter_number") == "3300123456781"  # the amendment starts from what was sent
        app.photo(page, "meter", files["meter-retake"])
        app.submit(page)
        app.sync(page, until=app.state_is(first, "stamped"))
        with engine.connect() as conn:
            assert conn.execute(
                sa.text("SELECT current_revision, review_state FROM captures WHERE id = :id"), {"id": first}
            ).one() == (2, "pending")

        office.goto(f"{base}/review/captures/{first}")
        office.click("#approve")
        office.wait_for_load_state()
        app.sync(page, until=app.state_is(first, "approved"))
        text = page.locator(f"li.capture[data-capture-id='{first}']").inner_text()
        seq = re.search(r"卷内目录第 (\d+) 号", text)
        with engine.connect() as conn:
            filed = conn.execute(
                sa.text("SELECT seq FROM dossier_items WHERE capture_id = :id"), {"id": first}
            ).scalar()
        assert seq and int(seq.group(1)) == filed
        screenshot(page, "capture-approved", full_page=False)


def _fill_usage_inspection(page) -> None:
    page.fill("#f-inspected_at", "2026-03-02T09:30")
    page.fill("#f-meter_number", "3300123456781")
    page.fill("#f-meter_readings-total", "12345.6")
    app.choose(page, "seal_status", "完好")
    app.choose(page, "wiring_status", "正确")


def test_photo_upload_resumes_from_the_stored_offset_after_a_server_kill_and_a_closed_app(
    database_url, redis_url, tmp_path
):
    code = _world(database_url, redis_url, tmp_path)
    stack = LiveStack(database_url, redis_url, tmp_path)
    stack.start_web()
    big = tmp_path / "IMG_big.jpg"
    big.write_bytes(make_noisy_jpeg())
    engine = engine_for(database_url)

    def stored() -> int:
        """The offset the server has stored for the upload."""
        with engine.connect() as conn:
            return conn.execute(sa.text('SELECT max("offset") FROM uploads')).scalar() or 0

    try:
        with app.chromium() as browser:
            tablet = app.tablet_context(browser, stack.url)
            uploads = []  # (method, upload offset header) of every tus request the tablet sends
            tablet.on(
                "request",
                lambda r: (
                    uploads.append((r.method, r.headers.get("upload-offset"))) if "/api/v1/uploads" in r.url else None
                ),
            )
            page = app.open_app(tablet, stack.url)
            app.enrol(page, code)
            app.wait_for_service_worker(page)
            cdp = tablet.new_cdp_session(page)  # a slow uplink, so the kill lands mid-upload
            cdp.send("Network.enable")
            cdp.send(
                "Network.emulateNetworkConditions",
                {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400_000},
            )
            capture_id = app.start_capture(page, HIGH, "usage_inspection", search=HIGH)
            app.photo(page, "meter", big)
            _fill_usage_inspection(page)
            app.submit(page)  # saving starts a sync: push, then the tus upload
            wait_until(lambda: stored() >= 1024 * 1024, 60, "the first MiB stored on the server")
            stack.kill_web()
            at_kill = stored()
            page.close()  # the inspector closes the app too
            stack.start_web()

            page = app.open_app(tablet, stack.url)  # opening the app syncs; the upload URL is in IndexedDB
            app.sync(page, until=app.state_is(capture_id, "received"))
    finally:
        stack.stop()
    methods = [m for m, _ in uploads]
    assert methods.count("POST") == 1, uploads  # one upload, created once
    assert 0 < at_kill < big.stat().st_size
    resumed = uploads[methods.index("HEAD") + 1 :]  # after the restart: ask the offset, go on from there
    patches = [int(offset) for method, offset in resumed if method == "PATCH"]
    assert patches and patches[0] == at_kill, (at_kill, uploads)  # nothing stored is sent again
    with engine.connect() as conn:
        photo = conn.execute(sa.text("SELECT blob_sha256, state FROM photos")).one()
        finished = conn.execute(sa.text("SELECT count(*) FROM uploads WHERE state = 'finished'")).scalar()
    assert photo.blob_sha256 == _sha(big) and photo.state != "awaiting_upload"
    assert finished == 1


def test_a_revoked_tablet_deletes_customer_data_keeps_unsent_captures_and_sends_them_after_enrolment(
    database_url, redis_url, tmp_path
):
    from models.database import db
    from server import create_app
    from services import devices, enrolment
    from services.ports_access import ports

    code = _world(database_url, redis_url, tmp_path)
    stack = LiveStack(database_url, redis_url, tmp_path)
    stack.start_web()
    photo_path = tmp_path / "IMG_meter.jpg"
    photo_path.write_bytes(make_jpeg(seed=9))
    engine = engine_for(database_url)
    office = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "live-stack",
        }
    )
    count = "import('/capture/assets/db.js').then(async m => (await m.open()).count({!r}))".format
    try:
        with app.chromium() as browser:
            tablet = app.tablet_context(browser, stack.url)
            page = app.open_app(tablet, stack.url)
            app.enrol(page, code)
            app.wait_for_service_worker(page)
            assert page.evaluate(count("dossiers")) == 2
            device_id = page.evaluate(
                "import('/capture/assets/db.js').then(async m => m.getMeta(await m.open(), 'device_id'))"
            )

            tablet.set_offline(True)
            unsent = app.start_capture(page, HIGH, "usage_inspection", search=HIGH)
            app.photo(page, "meter", photo_path)
            _fill_usage_inspection(page)
            app.submit(page)

            with office.app_context():  # the admin revokes the tablet while it is offline
                devices.revoke_device(db.session, CLI, device_id, ports().clock.now())
                _, second_code = enrolment.create_code(db.session, CLI, "inspector1", ports().clock.now())
                db.session.commit()
                db.session.remove()
                db.engine.dispose()

            tablet.set_offline(False)
            page.click("#sync")
            page.wait_for_selector("#enrol-code")
            assert page.is_visible("#revoked") and "1 条" in page.inner_text("#kept")
            assert page.evaluate(count("dossiers")) == 0
            assert page.evaluate(count("captures")) == 1 and page.evaluate(count("outbox")) == 1
            screenshot(page, "capture-revoked", full_page=False)

            page.fill("#enrol-code", code)  # the first code again: used up, said in Chinese
            page.click("#enrol-submit")
            page.wait_for_selector("#enrol-error[data-code='enrolment.code_used']")
            assert "已经用过" in page.inner_text("#enrol-error")
            app.enrol(page, second_code)
            app.sync(page, until=app.state_is(unsent, "received"))
    finally:
        stack.stop()
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT device_id, current_revision FROM captures WHERE id = :id"), {"id": unsent}
        ).one()
        photo = conn.execute(sa.text("SELECT blob_sha256 FROM photos")).one()
    assert row.device_id != device_id and row.current_revision == 1
    assert photo.blob_sha256 == _sha(photo_path)
