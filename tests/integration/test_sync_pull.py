"""Pull: opaque monotonic cursors, pages in constant memory, scope changes, resets, reviews."""

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

import capture_schema
from core.actor import CLI
from models import SyncChange, SyncSession
from models.database import db
from services import sync_assignments
from services.ports_access import ports
from sync import feed
from tests.helpers.api_client import ApiClient
from tests.helpers.factories import make_customer, make_device

N_SCHEMAS = len(capture_schema.REGISTRY)


def assign(username, *account_nos):
    sync_assignments.assign(db.session, CLI, username, list(account_nos), ports().clock.now())
    db.session.commit()


def unassign(username, *account_nos):
    sync_assignments.unassign(db.session, CLI, username, list(account_nos), ports().clock.now())
    db.session.commit()


def pull_all(api, cursor=None, limit=500):
    """Pull until has_more is false; return (changes, last cursor, pages)."""
    changes, pages = [], 0
    while True:
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = api.get("/api/v1/sync/pull", query_string=params)
        assert response.status_code == 200, response.json
        pages += 1
        changes += response.json["changes"]
        cursor = response.json["cursor"]
        if not response.json["has_more"]:
            return changes, cursor, pages


def by_entity(changes, entity):
    return [c for c in changes if c["entity"] == entity]


@pytest.fixture
def tablet(client):
    make_customer("3100012345", "江南精密机械有限公司", meter_number="3300123456781", ct_ratio="100/5")
    make_customer("5200098761", "张建国", voltage_class="低压", usage_category="居民生活用电")
    device, token = make_device("inspector1")
    return ApiClient(client, token), device


def test_initial_pull_brings_the_schemas_and_the_assigned_dossiers(tablet):
    api, _ = tablet
    assign("inspector1", "3100012345")
    changes, _, _ = pull_all(api)
    dossiers = by_entity(changes, "dossier")
    assert [d["id"] for d in dossiers] == ["3100012345"]
    summary = dossiers[0]["data"]
    assert summary["name"] == "江南精密机械有限公司" and summary["ct_ratio"] == "100/5"
    assert summary["archive_no"].startswith("KH-") and "id_number" not in summary
    schemas = {c["id"]: c["data"] for c in by_entity(changes, "schema")}
    assert len(schemas) == N_SCHEMAS
    assert schemas["usage_inspection.v2"]["latest"] is True and schemas["usage_inspection.v1"]["latest"] is False
    slots = schemas["defect_notice.v1"]["photo_slots"]
    assert {"name": "customer_signature", "label": "客户签收", "category": "document", "required": True} in slots


def test_a_pull_from_the_returned_cursor_brings_only_what_changed_since(tablet):
    api, _ = tablet
    assign("inspector1", "3100012345")
    _, cursor, _ = pull_all(api)
    again, cursor, _ = pull_all(api, cursor)
    assert again == []
    assign("inspector1", "5200098761")
    news, _, _ = pull_all(api, cursor)
    assert [(c["entity"], c["id"], c["op"]) for c in news] == [("dossier", "5200098761", "upsert")]


def test_permission_change_is_reflected_in_the_next_pull_as_upsert_or_tombstone(tablet):
    api, _ = tablet
    assign("inspector1", "3100012345")
    _, cursor, _ = pull_all(api)
    unassign("inspector1", "3100012345")
    assign("inspector1", "5200098761")
    news, _, _ = pull_all(api, cursor)
    assert [(c["id"], c["op"]) for c in news] == [("3100012345", "delete"), ("5200098761", "upsert")]
    assert "data" not in news[0]


def test_other_inspectors_assignments_are_not_in_this_tablets_scope(client, tablet):
    api, _ = tablet
    make_device("inspector2")
    assign("inspector2", "3100012345")
    changes, _, _ = pull_all(api)
    assert by_entity(changes, "dossier") == []


def test_a_customer_master_data_change_reaches_the_assigned_tablets(tablet):
    from services.customers import clean_row, upsert_customer

    api, _ = tablet
    assign("inspector1", "3100012345")
    _, cursor, _ = pull_all(api)
    upsert_customer(
        db.session,
        CLI,
        clean_row(
            {
                "account_no": "3100012345",
                "name": "江南精密机械股份有限公司",
                "voltage_class": "高压",
                "usage_category": "大工业用电",
                "ct_ratio": "150/5",
            }
        ),
        ports().clock.now(),
    )
    db.session.commit()
    news, _, _ = pull_all(api, cursor)
    assert [(c["id"], c["data"]["name"], c["data"]["ct_ratio"]) for c in news] == [
        ("3100012345", "江南精密机械股份有限公司", "150/5")
    ]


def test_review_outcomes_of_own_captures_are_delivered(tablet):
    api, device = tablet
    _, cursor, _ = pull_all(api)
    outcome = {
        "capture_id": "c-1",
        "state": "rejected",
        "reason_code": "photo_blurred",
        "reason_text": "电能表照片模糊，请重拍",
        "decided_at": "2026-03-02T02:00:00+00:00",
    }
    feed.publish(db.session, feed.inspector_scope(device.inspector_id), "review", "c-1", "upsert", outcome)
    feed.publish(db.session, feed.inspector_scope(device.inspector_id + 1000), "review", "c-2", "upsert", outcome)
    db.session.commit()
    news, _, _ = pull_all(api, cursor)
    assert news == [{"entity": "review", "id": "c-1", "op": "upsert", "data": outcome}]


def test_huge_initial_sync_comes_in_pages_read_in_constant_memory(tablet):
    from services.customers import clean_row, upsert_customer

    api, _ = tablet
    now = ports().clock.now()
    numbers = [f"61000{i:05d}" for i in range(300)]
    for number in numbers:
        upsert_customer(
            db.session,
            CLI,
            clean_row(
                {
                    "account_no": number,
                    "name": f"客户{number}",
                    "voltage_class": "低压",
                    "usage_category": "居民生活用电",
                }
            ),
            now,
        )
    sync_assignments.assign(db.session, CLI, "inspector1", numbers, now)
    db.session.commit()
    loaded = []
    counter = lambda target, context: loaded.append(1)  # noqa: E731
    event.listen(SyncChange, "load", counter)
    try:
        cursor, seen, sizes = None, [], []
        while True:
            before = len(loaded)
            params = {"limit": 40, **({"cursor": cursor} if cursor else {})}
            body = api.get("/api/v1/sync/pull", query_string=params).json
            sizes.append(len(loaded) - before)
            seen += [c["id"] for c in body["changes"] if c["entity"] == "dossier"]
            cursor = body["cursor"]
            if not body["has_more"]:
                break
    finally:
        event.remove(SyncChange, "load", counter)
    assert sorted(seen) == numbers
    assert max(sizes) <= 41  # never more rows than one page (+1 to know has_more)
    assert len(sizes) == -(-(300 + N_SCHEMAS) // 40)


def test_cursor_is_opaque_signed_and_bound_to_the_device(client, tablet):
    api, _ = tablet
    _, cursor, _ = pull_all(api)
    _, other_token = make_device("inspector1")
    other = ApiClient(client, other_token)
    stolen = other.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert stolen.status_code == 400 and stolen.json["code"] == "sync.cursor_invalid"
    text, mac = cursor.split(".")
    forged = api.get("/api/v1/sync/pull", query_string={"cursor": text[:-2] + "AA." + mac})
    assert forged.status_code == 400 and forged.json["code"] == "sync.cursor_invalid"
    for junk in ("garbage", "a.b", "x" * 150 + ".y"):
        answer = api.get("/api/v1/sync/pull", query_string={"cursor": junk})
        assert answer.status_code == 400 and answer.json["code"] == "sync.cursor_invalid"


def test_a_cursor_of_any_length_that_does_not_decode_is_cursor_invalid(tablet):
    api, _ = tablet
    _, cursor, _ = pull_all(api)
    for junk in (cursor + "A" * 200, "x" * 201, "a" * 5_000 + "." + "b" * 5_000):
        answer = api.get("/api/v1/sync/pull", query_string={"cursor": junk})
        assert answer.status_code == 400, len(junk)
        assert answer.json["code"] == "sync.cursor_invalid" and set(answer.json) == {"code", "message", "details"}


def test_compaction_keeps_current_state_and_answers_reset_required_to_cursors_below_the_floor(clock, runner, tablet):
    api, _ = tablet
    _, early_cursor, _ = pull_all(api)
    assign("inspector1", "3100012345", "5200098761")
    unassign("inspector1", "5200098761")
    assign("inspector1", "5200098761")
    unassign("inspector1", "5200098761")
    _, recent_cursor, _ = pull_all(api, early_cursor)
    clock.advance(days=40)
    result = runner.invoke(args=["sync", "compact", "--tombstone-days", "30"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(SyncChange).where(SyncChange.entity == "dossier")) == 1
    stale = api.get("/api/v1/sync/pull", query_string={"cursor": early_cursor})
    assert stale.status_code == 410
    assert stale.json["code"] == "sync.reset_required" and stale.json["details"]["reason"] == "compacted"
    fine = api.get("/api/v1/sync/pull", query_string={"cursor": recent_cursor})
    assert fine.status_code == 200 and fine.json["changes"] == []
    fresh, _, _ = pull_all(api)
    assert [c["id"] for c in by_entity(fresh, "dossier")] == ["3100012345"]


def test_a_new_sync_epoch_makes_every_cursor_reset(runner, tablet):
    api, _ = tablet
    _, cursor, _ = pull_all(api)
    assert runner.invoke(args=["sync", "reset-all", "--reason", "表单结构不兼容变更"]).exit_code == 0
    answer = api.get("/api/v1/sync/pull", query_string={"cursor": cursor})
    assert answer.status_code == 410 and answer.json["details"]["reason"] == "epoch"
    assert api.get("/api/v1/sync/pull").status_code == 200


def test_clock_skew_neither_echoes_nor_hides_changes(clock, tablet):
    api, _ = tablet
    assign("inspector1", "3100012345")
    ahead = (clock.now() + timedelta(days=3)).isoformat()
    first = api.get("/api/v1/sync/pull", query_string={"device_time": ahead}).json
    assert first["clock_offset_ms"] == 3 * 86400 * 1000
    assign("inspector1", "5200098761")  # happens "before" the tablet's clock
    behind = (clock.now() - timedelta(days=400)).isoformat()
    second = api.get("/api/v1/sync/pull", query_string={"cursor": first["cursor"], "device_time": behind}).json
    assert [c["id"] for c in second["changes"]] == ["5200098761"]
    third = api.get("/api/v1/sync/pull", query_string={"cursor": second["cursor"], "device_time": ahead}).json
    assert third["changes"] == []
    offsets = db.session.scalars(
        select(SyncSession.clock_offset_ms).where(SyncSession.kind == "pull").order_by(SyncSession.id)
    ).all()
    assert offsets == [3 * 86400 * 1000, -400 * 86400 * 1000, 3 * 86400 * 1000]


def test_a_revoked_device_gets_401_on_pull(runner, tablet):
    api, device = tablet
    runner.invoke(args=["devices", "revoke", device.id])
    answer = api.get("/api/v1/sync/pull")
    assert answer.status_code == 401 and answer.json["code"] == "auth.token_revoked"


def test_pull_rejects_bad_query_values(tablet):
    api, _ = tablet
    for params in ({"limit": 0}, {"limit": 5000}, {"device_time": "yesterday"}):
        answer = api.get("/api/v1/sync/pull", query_string=params)
        assert answer.status_code == 422 and answer.json["code"] == "request.validation_failed"
