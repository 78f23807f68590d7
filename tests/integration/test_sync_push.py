"""Push: exactly-once, per-item results, unlinked captures, photos, amendments, byte caps, clocks."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Capture, CaptureRevision, Photo, SyncMutation, SyncSession
from models.database import db
from tests.helpers.api_client import ApiClient
from tests.helpers.device import photo_files, sample_data, store_blob
from tests.helpers.factories import make_customer, make_device


def photo_meta(directory, kind="usage_inspection"):
    """Photo declarations (as the client makes them) for the required slots of a kind."""
    from clients.device_client import file_sha256

    out = []
    for photo in photo_files(directory, kind):
        sha, size = file_sha256(photo.path)
        out.append(
            {
                "id": photo.photo_id,
                "slot": photo.slot,
                "category": photo.category,
                "captured_at": "2026-03-02T09:25:00+08:00",
                "sha256": sha,
                "size": size,
                "mime_type": "image/jpeg",
                "gps": {"latitude": 30.2, "longitude": 120.2},
                "_bytes": open(photo.path, "rb").read(),
            }
        )
    return out


def item(directory, kind="usage_inspection", version=2, account_no="3100012345", **over):
    photos = photo_meta(directory, kind)
    body = {
        "capture_id": str(uuid.uuid4()),
        "revision_id": str(uuid.uuid4()),
        "base_revision_id": None,
        "kind": kind,
        "schema_version": version,
        "account_no": account_no,
        "device_time": "2026-03-02T09:31:00+08:00",
        "data": sample_data(kind, version),
        "photos": [{k: v for k, v in p.items() if k != "_bytes"} for p in photos],
    }
    body.update(over)
    return body, [p["_bytes"] for p in photos]


def push(api, items, device_time="2026-03-02T09:40:00+08:00", **kw):
    return api.post("/api/v1/sync/push", json={"device_time": device_time, "items": items}, **kw)


@pytest.fixture
def tablet_api(client):
    make_customer("3100012345")
    device, token = make_device("inspector1")
    return ApiClient(client, token), device


def test_a_pushed_capture_is_stored_once_and_the_answer_lists_the_photos_to_upload(tablet_api, tmp_path):
    api, device = tablet_api
    body, _ = item(tmp_path)
    response = push(api, [body])
    assert response.status_code == 200, response.json
    result = response.json["results"][0]
    assert result["status"] == "applied" and result["revision"] == 1 and result["link_state"] == "linked"
    assert result["complete"] is False
    assert {p["id"] for p in result["photos"] if p["needs_upload"]} == {p["id"] for p in body["photos"]}
    assert {u["photo_id"] for u in response.json["uploads"]} == {p["id"] for p in body["photos"]}
    capture = db.session.get(Capture, body["capture_id"])
    assert capture.device_id == device.id and capture.kind == "usage_inspection"
    assert capture.revisions[0].payload == body["data"]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "capture.create", AuditEntry.object_id == capture.id)
        )
        == 1
    )


def test_duplicate_create_after_a_lost_response_is_recorded_once_with_the_same_answer(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    first = push(api, [body]).json["results"][0]
    again = push(api, [body]).json
    assert again["results"][0] == first
    assert again["counts"]["replayed"] == 1 and again["counts"]["applied"] == 0
    assert db.session.scalar(select(func.count()).select_from(Capture)) == 1
    assert db.session.scalar(select(func.count()).select_from(CaptureRevision)) == 1
    assert db.session.scalar(select(func.count()).select_from(SyncMutation)) == 1


def test_same_revision_id_with_different_content_is_a_conflict_with_a_stable_code(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    push(api, [body])
    changed = json.loads(json.dumps(body))
    changed["data"]["findings"] = "改过的内容"
    result = push(api, [changed]).json["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "sync.id_reused"
    assert result["error"]["details"]["entity"] == "revision"
    assert db.session.get(CaptureRevision, body["revision_id"]).payload["findings"] == "正常"


def test_a_second_create_with_an_existing_capture_id_is_a_conflict(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    push(api, [body])
    other, _ = item(tmp_path, capture_id=body["capture_id"])
    result = push(api, [other]).json["results"][0]
    assert result["error"]["code"] == "sync.id_reused" and result["error"]["details"]["entity"] == "capture"


def test_one_invalid_item_is_reported_with_field_errors_and_never_blocks_the_others(tablet_api, tmp_path):
    api, _ = tablet_api
    good1, _ = item(tmp_path)
    bad, _ = item(tmp_path)
    bad["data"]["seal_status"] = "不知道"
    del bad["data"]["meter_number"]
    good2, _ = item(tmp_path, kind="theft_evidence", version=1)
    response = push(api, [good1, bad, good2, "not an object"])
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json["results"]]
    assert statuses == ["applied", "rejected", "applied", "rejected"]
    fields = response.json["results"][1]["error"]["details"]["fields"]["data"]
    assert set(fields) == {"seal_status", "meter_number"}
    assert db.session.get(Capture, bad["capture_id"]) is None
    assert db.session.scalar(select(func.count()).select_from(Capture)) == 2


def test_a_null_item_is_rejected_on_its_own_and_never_blocks_the_others(tablet_api, tmp_path):
    api, _ = tablet_api
    good, _ = item(tmp_path)
    response = push(api, [None, good])
    assert response.status_code == 200, response.json
    first, second = response.json["results"]
    assert first["status"] == "rejected" and first["error"]["code"] == "sync.capture_invalid"
    assert first["revision_id"] is None and first["error"]["details"]["fields"] == {"_item": ["Not an object."]}
    assert second["status"] == "applied"


def test_a_photo_filename_with_a_path_is_refused_in_a_push_as_in_tus_metadata(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    body["photos"][0]["filename"] = "../../../../tmp/x.jpg"
    result = push(api, [body]).json["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "sync.capture_invalid"
    assert "filename" in result["error"]["details"]["fields"]["photos"]["0"]
    assert db.session.get(Capture, body["capture_id"]) is None


def test_the_same_items_resent_by_another_tablet_of_the_inspector_are_a_replay(client, tablet_api, tmp_path):
    api, first = tablet_api
    body, _ = item(tmp_path)
    stored = push(api, [body]).json["results"][0]
    _, other_token = make_device("inspector1")
    again = push(ApiClient(client, other_token), [body]).json
    assert again["results"] == [stored] and again["counts"]["replayed"] == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(CaptureRevision).where(CaptureRevision.capture_id == body["capture_id"])
        )
        == 1
    )


def test_the_same_items_resent_after_the_tablet_is_registered_again_are_a_replay(runner, client, tablet_api, tmp_path):
    api, first = tablet_api
    body, _ = item(tmp_path)
    stored = push(api, [body]).json["results"][0]
    assert runner.invoke(args=["devices", "revoke", first.id]).exit_code == 0
    _, new_token = make_device("inspector1")
    again = push(ApiClient(client, new_token), [body]).json
    assert again["results"] == [stored] and again["counts"]["replayed"] == 1


def test_another_inspectors_tablet_sending_a_used_id_gets_id_reused_even_with_the_same_content(
    client, tablet_api, tmp_path
):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    push(api, [body])
    _, stranger_token = make_device("inspector2")
    result = push(ApiClient(client, stranger_token), [body]).json["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "sync.id_reused"


def test_unknown_kind_and_unknown_version_get_clear_errors_naming_them(tablet_api, tmp_path):
    api, _ = tablet_api
    no_kind, _ = item(tmp_path, kind="usage_inspection", version=2)
    no_kind["kind"] = "meter_selfie"
    no_version, _ = item(tmp_path, version=2)
    no_version["schema_version"] = 9
    results = push(api, [no_kind, no_version]).json["results"]
    assert results[0]["error"]["code"] == "sync.unknown_kind"
    assert "meter_selfie" in results[0]["error"]["message"]
    assert "usage_inspection" in results[0]["error"]["details"]["known_kinds"]
    assert results[1]["error"]["code"] == "sync.unknown_version"
    assert results[1]["error"]["details"] == {"kind": "usage_inspection", "version": 9, "known_versions": [1, 2]}


def test_an_unknown_account_number_is_accepted_as_unlinked(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path, account_no="9999999999")
    result = push(api, [body]).json["results"][0]
    assert result["status"] == "applied" and result["link_state"] == "unlinked"
    capture = db.session.get(Capture, body["capture_id"])
    assert capture.customer_id is None and capture.account_no == "9999999999"


def test_a_form_pushed_before_its_photo_becomes_complete_when_the_bytes_arrive(tablet_api, tmp_path):
    api, _ = tablet_api
    body, blobs = item(tmp_path)
    push(api, [body])
    assert db.session.get(Capture, body["capture_id"]).complete is False
    for data in blobs:
        store_blob(data)
    capture = db.session.get(Capture, body["capture_id"])
    db.session.refresh(capture)
    assert capture.complete is True
    assert all(p.state == "received" for p in capture.photos)


def test_a_photo_uploaded_before_its_form_needs_no_upload(tablet_api, tmp_path):
    api, _ = tablet_api
    body, blobs = item(tmp_path)
    for data in blobs:
        store_blob(data)
    response = push(api, [body]).json
    result = response["results"][0]
    assert result["complete"] is True
    assert not any(p["needs_upload"] for p in result["photos"])
    assert response["uploads"] == []
    assert all(db.session.get(Photo, p["id"]).state == "received" for p in body["photos"])


def test_missing_required_photo_slot_and_unknown_slot_are_field_errors(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    body["photos"][0]["slot"] = "selfie"
    result = push(api, [body]).json["results"][0]
    photos = result["error"]["details"]["fields"]["photos"]
    assert "0" in photos and "_slots" in photos


def test_a_photo_id_reused_with_other_bytes_is_a_conflict(tablet_api, tmp_path):
    api, _ = tablet_api
    first, _ = item(tmp_path)
    push(api, [first])
    second, _ = item(tmp_path)
    second["photos"][0]["id"] = first["photos"][0]["id"]
    result = push(api, [second]).json["results"][0]
    assert result["error"]["code"] == "sync.id_reused" and result["error"]["details"]["entity"] == "photo"


def amendment(body, **changes):
    new = json.loads(json.dumps(body))
    new["revision_id"] = str(uuid.uuid4())
    new["base_revision_id"] = body["revision_id"]
    new["data"].update(changes)
    return new


def test_an_amendment_adds_a_revision_and_a_stale_base_keeps_both_and_flags_a_conflict(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    push(api, [body])
    second = amendment(body, findings="第二次")
    stale = amendment(body, findings="基于旧版本")
    results = push(api, [second, stale]).json["results"]
    assert [r["revision"] for r in results] == [2, 3]
    assert [r["conflict"] for r in results] == [False, True]
    capture = db.session.get(Capture, body["capture_id"])
    assert capture.has_conflict is True and capture.current_revision == 3
    assert [r.payload["findings"] for r in capture.revisions] == ["正常", "第二次", "基于旧版本"]
    assert capture.revisions[2].base_revision_id == body["revision_id"]


def test_an_amendment_whose_base_has_not_arrived_is_a_temporary_error(tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    later = amendment(body, findings="先到的修改")
    result = push(api, [later]).json["results"][0]
    assert result["status"] == "retry" and result["error"]["code"] == "sync.base_unknown"
    results = push(api, [body, later]).json["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]


def test_an_inspector_cannot_amend_another_inspectors_capture(client, tablet_api, tmp_path):
    api, _ = tablet_api
    body, _ = item(tmp_path)
    push(api, [body])
    _, other_token = make_device("inspector2")
    result = push(ApiClient(client, other_token), [amendment(body, findings="不是我的")]).json["results"][0]
    assert result["error"]["code"] == "sync.not_owner"


def test_a_batch_above_the_byte_limit_gets_413_with_the_limit(app, tablet_api, tmp_path):
    api, _ = tablet_api
    app.config["SYNC_MAX_PUSH_BYTES"] = 4096
    body, _ = item(tmp_path)
    body["data"]["findings"] = "很长" * 1500
    response = push(api, [body])
    assert response.status_code == 413
    assert response.json["code"] == "sync.batch_too_large"
    assert response.json["details"]["limit_bytes"] == 4096
    assert db.session.scalar(select(func.count()).select_from(Capture)) == 0


def test_a_batch_with_too_many_items_gets_413(app, tablet_api, tmp_path):
    api, _ = tablet_api
    app.config["SYNC_MAX_PUSH_ITEMS"] = 2
    response = push(api, [item(tmp_path)[0] for _ in range(3)])
    assert response.status_code == 413 and response.json["details"]["max_items"] == 2


@pytest.mark.parametrize(
    "body,code",
    [
        (b"{not json", "request.invalid_json"),
        (b'{"items": []}', "request.validation_failed"),
        (b'{"device_time": "2026-03-02T09:00:00", "items": []}', "request.validation_failed"),
        (b'{"device_time": "2026-03-02T09:00:00+08:00", "items": [], "protocol": 7}', "sync.protocol_unsupported"),
        (b'[1, 2]', "request.validation_failed"),
    ],
)
def test_bad_envelopes_get_a_4xx_with_a_stable_code(tablet_api, body, code):
    api, _ = tablet_api
    response = api.post("/api/v1/sync/push", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json["code"] == code


def test_the_device_clock_offset_is_recorded_per_sync(clock, tablet_api, tmp_path):
    api, device = tablet_api
    device_time = clock.now() + timedelta(hours=3, seconds=5)
    body, _ = item(tmp_path)
    response = push(api, [body], device_time=device_time.isoformat())
    assert response.json["clock_offset_ms"] == (3 * 3600 + 5) * 1000
    session = db.session.scalar(select(SyncSession).where(SyncSession.kind == "push"))
    assert session.clock_offset_ms == (3 * 3600 + 5) * 1000 and session.device_id == device.id
    assert db.session.get(CaptureRevision, body["revision_id"]).device_clock_offset_ms == 10805000
    assert db.session.get(Photo, body["photos"][0]["id"]).device_clock_offset_ms == 10805000


def test_a_revoked_device_gets_401_on_push(runner, tablet_api, tmp_path):
    api, device = tablet_api
    runner.invoke(args=["devices", "revoke", device.id])
    response = push(api, [item(tmp_path)[0]])
    assert response.status_code == 401 and response.json["code"] == "auth.token_revoked"


def test_an_old_schema_version_stays_accepted_and_upgrades_for_display(tablet_api, tmp_path):
    import capture_schema

    api, _ = tablet_api
    body, _ = item(tmp_path, version=1)
    result = push(api, [body]).json["results"][0]
    assert result["status"] == "applied"
    revision = db.session.get(CaptureRevision, body["revision_id"])
    assert revision.schema_version == 1
    version, shown = capture_schema.upgrade("usage_inspection", 1, revision.payload)
    assert version == 2 and shown["seal_status"] == "intact" and shown["wiring_status"] == "wrong"
    assert shown["meter_readings"]["total"] == body["data"]["meter_reading"]


def test_an_amendment_keeps_a_link_an_archivist_chose_by_hand(tablet_api, tmp_path, clock):
    from core.actor import Actor
    from models import Customer
    from services import linking
    from tests.helpers.factories import make_user

    api, _ = tablet_api
    body, _ = item(tmp_path, account_no="3100099999")  # a typo: no such customer
    push(api, [body])
    capture = db.session.get(Capture, body["capture_id"])
    assert capture.link_state == "unlinked"
    customer = db.session.scalar(select(Customer).where(Customer.account_no == "3100012345"))
    archivist = make_user("archivist", "archivist")
    linking.link_capture(
        db.session,
        Actor("user", str(archivist.id), role="archivist"),
        archivist.id,
        capture.id,
        customer.id,
        clock.now(),
    )
    db.session.commit()
    push(api, [amendment(body, findings="补充说明")])
    db.session.expire_all()
    capture = db.session.get(Capture, body["capture_id"])
    assert capture.link_state == "linked" and capture.customer_id == customer.id
    assert capture.current_revision == 2
