"""One-time enrolment codes: created by admins and managers, exchanged once within 24 h for a
normal, revocable device token."""

import json

import pytest

from models import AuditEntry, Device, EnrolmentCode
from models.database import db
from tests.helpers.api_client import ApiClient, csrf_token_of
from tests.helpers.factories import PASSWORD, make_user


@pytest.fixture
def admin(client):
    make_user("inspector1", "inspector")
    make_user("admin", "admin")
    session = ApiClient(client)
    session.login("admin", PASSWORD)
    return session


def _create(admin, inspector="inspector1", **extra):
    return admin.post("/api/v1/devices/enrolments", json={"inspector": inspector, **extra})


def test_a_code_is_exchanged_once_for_a_device_token_that_works_and_can_be_revoked(admin, app, runner):
    created = _create(admin, device_name="平板 07")
    assert created.status_code == 201, created.json
    code = created.json["code"]
    assert len(code) == 8 and code.isalnum() and code.upper() == code
    assert created.json["enrol_url"].endswith(f"/capture/#enrol={code}")
    assert db.session.query(EnrolmentCode).one().code_hash != code  # stored as a hash only

    tablet = ApiClient(app.test_client())  # the tablet has no office session
    exchanged = tablet.post("/api/v1/devices/enrol", json={"code": f"{code[:4].lower()} {code[4:]}"})
    assert exchanged.status_code == 201, exchanged.json
    tablet.token = exchanged.json["token"]
    me = tablet.get("/api/v1/me").json
    assert me == {
        "kind": "device",
        "role": "device",
        "device_id": exchanged.json["device_id"],
        "inspector": "inspector1",
    }
    assert db.session.get(Device, me["device_id"]).name == "平板 07"

    again = ApiClient(app.test_client()).post("/api/v1/devices/enrol", json={"code": code})
    assert again.status_code == 409
    assert again.json["code"] == "enrolment.code_used"
    assert db.session.query(Device).count() == 1

    assert runner.invoke(args=["devices", "revoke", me["device_id"]]).exit_code == 0
    refused = tablet.get("/api/v1/sync/pull")
    assert refused.status_code == 401 and refused.json["code"] == "auth.token_revoked"
    actions = {a for (a,) in db.session.query(AuditEntry.action)}
    assert {"device.enrolment_code", "device.enrolled", "device.register", "device.revoke"} <= actions


def test_a_code_expires_after_24_hours(admin, app, clock):
    code = _create(admin).json["code"]
    clock.advance(hours=24)
    expired = ApiClient(app.test_client()).post("/api/v1/devices/enrol", json={"code": code})
    assert expired.status_code == 410
    assert expired.json["code"] == "enrolment.code_expired"
    assert set(expired.json) == {"code", "message", "details"}
    assert db.session.query(Device).count() == 0


def test_a_code_just_before_expiry_still_works(admin, app, clock):
    code = _create(admin).json["code"]
    clock.advance(hours=23, minutes=59)
    assert ApiClient(app.test_client()).post("/api/v1/devices/enrol", json={"code": code}).status_code == 201


@pytest.mark.parametrize("code", ["ABCDEFGH", "short", "0O1I0O1I", "K7QD3MWXK"])
def test_unknown_or_malformed_codes_get_a_stable_404(admin, app, code):
    _create(admin)
    answer = ApiClient(app.test_client()).post("/api/v1/devices/enrol", json={"code": code})
    assert answer.status_code == 404
    assert answer.json["code"] == "enrolment.code_unknown"


def test_only_admins_and_managers_create_codes_and_only_for_inspectors(client, admin, app):
    make_user("archivist", "archivist")
    archivist = ApiClient(app.test_client())
    archivist.login("archivist", PASSWORD)
    assert archivist.post("/api/v1/devices/enrolments", json={"inspector": "inspector1"}).status_code == 403
    anonymous = ApiClient(app.test_client()).post("/api/v1/devices/enrolments", json={"inspector": "inspector1"})
    assert anonymous.status_code == 401
    not_inspector = _create(admin, inspector="admin")
    assert not_inspector.status_code == 400 and not_inspector.json["code"] == "device.not_inspector"
    unknown = _create(admin, inspector="nobody")
    assert unknown.status_code == 404 and unknown.json["code"] == "user.unknown"
    make_user("boss", "manager")
    manager = ApiClient(app.test_client())
    manager.login("boss", PASSWORD)
    assert manager.post("/api/v1/devices/enrolments", json={"inspector": "inspector1"}).status_code == 201


def test_repeated_wrong_codes_are_rate_limited(admin, app):
    tablet = ApiClient(app.test_client())  # the tablet has no office session
    answers = [tablet.post("/api/v1/devices/enrol", json={"code": "ZZZZZZZZ"}).status_code for _ in range(11)]
    assert answers[:10] == [404] * 10
    assert answers[10] == 429


def test_cli_prints_a_code_the_app_can_exchange(runner, app):
    make_user("inspector1", "inspector")
    result = runner.invoke(args=["devices", "enrol", "--inspector", "inspector1", "--url", "https://dangan.example.cn"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["enrol_url"] == f"https://dangan.example.cn/capture/#enrol={printed['code']}"
    assert "█" in result.stderr or "▀" in result.stderr  # the QR code drawn on the terminal
    assert ApiClient(app.test_client()).post("/api/v1/devices/enrol", json={"code": printed["code"]}).status_code == 201
    refused = runner.invoke(args=["devices", "enrol", "--inspector", "nobody"])
    assert refused.exit_code == 1 and "user.unknown" in refused.output


def test_admin_page_shows_the_code_and_its_qr_code_once(admin, client, app):
    page = client.get("/admin/devices")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "平板与登记码" in html and "inspector1" in html
    shown = client.post(
        "/admin/devices/enrol", data={"inspector": "inspector1", "device_name": "", "csrf_token": csrf_token_of(html)}
    )
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert 'src="data:image/svg+xml' in body
    grouped = body.split('id="enrol-code">')[1].split("<")[0]
    code = grouped.replace(" ", "")
    assert len(code) == 8
    assert ApiClient(app.test_client()).post("/api/v1/devices/enrol", json={"code": code}).status_code == 201
    assert code not in client.get("/admin/devices").get_data(as_text=True)
