"""Device tokens (issued once, stored hashed, revocable) and role checks in one policy place."""

import json

import pytest

from core.policy import PERMISSIONS, can, permissions_of
from models import Device
from models.database import db
from tests.helpers.api_client import ApiClient
from tests.helpers.factories import PASSWORD, make_device, make_user


def test_registered_device_prints_its_token_once_and_stores_only_a_hash(runner, api):
    make_user("inspector1", "inspector")
    result = runner.invoke(args=["devices", "register", "--inspector", "inspector1"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout.strip().splitlines()[-1])
    device = db.session.get(Device, issued["device_id"])
    assert issued["token"] not in (device.token_hash, device.name)
    assert len(device.token_hash) == 64
    api.token = issued["token"]
    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json == {"kind": "device", "role": "device", "device_id": device.id, "inspector": "inspector1"}


def test_revoked_device_gets_401_with_a_stable_code(runner, api):
    device, token = make_device()
    result = runner.invoke(args=["devices", "revoke", device.id])
    assert result.exit_code == 0, result.output
    api.token = token
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["code"] == "auth.token_revoked"


@pytest.mark.parametrize("token", ["dgn_unknown", "x" * 500, ""])
def test_unknown_or_malformed_tokens_get_401(api, token):
    response = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["code"] == "auth.token_invalid"
    assert set(response.json) == {"code", "message", "details"}


def test_devices_can_only_be_registered_for_inspectors(runner):
    make_user("archivist", "archivist")
    result = runner.invoke(args=["devices", "register", "--inspector", "archivist"])
    assert result.exit_code == 1
    assert "device.not_inspector" in result.output
    assert db.session.query(Device).count() == 0


def test_admin_revokes_over_the_api_but_an_archivist_is_denied(client):
    device, _ = make_device()
    make_user("archivist", "archivist")
    make_user("admin", "admin")
    archivist = ApiClient(client)
    archivist.login("archivist", PASSWORD)
    denied = archivist.post(f"/api/v1/devices/{device.id}/revoke")
    assert denied.status_code == 403
    assert denied.json["code"] == "auth.forbidden"
    admin = ApiClient(client)
    admin.login("admin", PASSWORD)
    allowed = admin.post(f"/api/v1/devices/{device.id}/revoke")
    assert allowed.status_code == 200
    assert allowed.json["revoked_at"]


def test_session_api_calls_that_change_state_need_the_csrf_header(client):
    device, _ = make_device()
    make_user("admin", "admin")
    admin = ApiClient(client)
    admin.login("admin", PASSWORD)
    admin.csrf = None
    response = admin.post(f"/api/v1/devices/{device.id}/revoke")
    assert response.status_code == 400
    assert response.json["code"] == "auth.csrf_failed"


def test_anonymous_api_calls_get_401(api):
    device_revoke = api.post("/api/v1/devices/whatever/revoke")
    assert device_revoke.status_code == 401
    assert device_revoke.json["code"] == "auth.required"


def test_policy_knows_every_permission_and_rejects_typos():
    assert can("manager", "lifecycle.approve") and not can("archivist", "lifecycle.approve")
    assert can("device", "sync") and not can("admin", "sync")
    assert "queue.review" in permissions_of("archivist")
    with pytest.raises(KeyError):
        can("admin", "evidence.delete")
    assert not any("delete" in p or "edit_evidence" in p for p in PERMISSIONS)
