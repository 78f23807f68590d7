"""Supervised destruction: approved lists only, legal holds block, bytes go, a verifiable record stays."""

import hashlib
import json
from datetime import date

from sqlalchemy import select

from models import (
    AuditEntry,
    Blob,
    Capture,
    DestructionRecord,
    DossierItem,
    LegalHold,
    LogLeaf,
    Photo,
    PhotoEvidence,
    RetentionState,
)
from models.database import db
from services.ports_access import ports
from tests.helpers.lifecycle_data import at, capture_with_photo, close, customer, destroy, file_item, login

PHOTO = b"\xff\xd8 meter photo of a closed account \xff\xd9"
THUMB = b"\xff\xd8 thumbnail \xff\xd9"
SHARED = b"\xff\xd8 the same picture filed for two customers \xff\xd9"


def _closed_customer_with_evidence(client):
    customer("3100000005", "高压")
    file_item("3100000005", "supply_contract", at(date(2020, 5, 6)))
    _capture, photo = capture_with_photo("3100000005", PHOTO)
    thumb_key = hashlib.sha256(THUMB).hexdigest()
    ports().blobs.put_bytes(thumb_key, THUMB)
    db.session.add(PhotoEvidence(photo_id=photo.id, evidence_no="EV-TEST-1", thumbnail_key=thumb_key))
    db.session.commit()
    close(client, "3100000005", "2021-03-02")
    return photo, thumb_key


def test_a_destruction_removes_the_bytes_and_leaves_a_verifiable_record(client):
    photo, thumb_key = _closed_customer_with_evidence(client)
    capture_with_photo("3100000005", SHARED)
    customer("3100000099", "高压")
    capture_with_photo("3100000099", SHARED)  # another, active customer holds the same bytes
    photo_key, shared_key = hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(SHARED).hexdigest()
    assert ports().blobs.exists(photo_key) and ports().blobs.exists(thumb_key)

    report = destroy(client, ["3100000005"], reason="销户满五年，经鉴定无保存价值")
    assert report["bytes_removed"] == 2 and len(report["records"]) == 1

    blobs = ports().blobs
    assert not blobs.exists(photo_key) and not blobs.exists(thumb_key)
    assert blobs.exists(shared_key)  # still evidence of the other customer
    assert db.session.get(Blob, photo_key).destroyed_at is not None
    assert db.session.get(Blob, shared_key).destroyed_at is None

    record = db.session.get(DestructionRecord, report["records"][0])
    content = record.content
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == record.record_sha256
    destroyed = {d["sha256"]: d for d in content["destroyed"]}
    assert set(destroyed) == {photo_key, thumb_key}
    assert destroyed[photo_key]["sm3"] == hashlib.new("sm3", PHOTO).hexdigest()
    assert destroyed[thumb_key]["size"] == len(THUMB) and destroyed[thumb_key]["role"].startswith("derivative")
    assert [r["sha256"] for r in content["retained_shared"]] == [shared_key]
    assert content["why"]["reason"] == "销户满五年，经鉴定无保存价值"
    assert content["disposal_list"]["approved_by"]["username"] == "manager"
    assert content["disposal_list"]["proposed_by"]["username"] == "archivist"
    assert content["customer"]["account_no"] == "3100000005" and content["closed_on"] == "2021-03-02"
    assert [i["doc_type"] for i in content["dossier_items"]] == ["supply_contract"]

    leaf = db.session.scalar(select(LogLeaf).where(LogLeaf.event_type == "destroyed"))
    assert leaf.subject_id == content["archive_no"]
    assert json.loads(leaf.entry)["payload"]["record_sha256"] == record.record_sha256

    archivist = login(client, "archivist", "archivist")
    shown = archivist.get(f"/api/v1/lifecycle/destruction-records/{record.id}").get_json()
    assert shown["verification"]["ok"] is True and shown["verification"]["log_leaf_index"] == leaf.index

    # nothing but bytes is deleted: the rows stay and say what happened
    assert db.session.get(Photo, photo.id) is not None and db.session.query(Capture).count() == 3
    assert db.session.query(DossierItem).count() == 1
    assert db.session.scalar(select(RetentionState.destroyed_at)) is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dossier.destroy")) is not None

    # executing again changes nothing and keeps one record
    again = archivist.post(f"/api/v1/lifecycle/disposal-lists/{content['disposal_list']['id']}/execute").get_json()
    assert again["bytes_removed"] == 0 and again["records"] == report["records"]
    page = client.get(f"/lifecycle/destruction/{record.id}").get_data(as_text=True)
    assert "核验通过" in page and record.record_sha256 in page


def test_a_legal_hold_on_an_item_blocks_destruction_until_lifted(client):
    photo, _thumb = _closed_customer_with_evidence(client)
    archivist = login(client.application.test_client(), "archivist", "archivist")
    manager = login(client.application.test_client(), "manager", "manager")
    legal = login(client.application.test_client(), "legal", "legal")
    list_id = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000005"]}
    ).get_json()["id"]
    manager.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/approve", json={})

    hold = legal.post(
        "/api/v1/lifecycle/holds", json={"account_no": "3100000005", "item_seq": 1, "reason": "欠费诉讼，合同需保留"}
    )
    assert hold.status_code == 201
    blocked = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert blocked.status_code == 409 and blocked.get_json()["code"] == "disposal.legal_hold"
    assert blocked.get_json()["details"]["holds"][0]["account_no"] == "3100000005"
    assert ports().blobs.exists(photo.blob_sha256)
    assert db.session.query(DestructionRecord).count() == 0

    again = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "再列", "reason": "期满", "accounts": ["3100000005"]}
    )
    assert again.status_code == 409 and again.get_json()["code"] == "disposal.already_listed"

    lifted = legal.post(f"/api/v1/lifecycle/holds/{hold.get_json()['id']}/lift", json={"reason": "案件已结"})
    assert lifted.status_code == 200 and lifted.get_json()["lifted_at"]
    twice = legal.post(f"/api/v1/lifecycle/holds/{hold.get_json()['id']}/lift", json={"reason": "again"})
    assert twice.status_code == 409 and twice.get_json()["code"] == "hold.already_lifted"
    done = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert done.status_code == 200 and not ports().blobs.exists(photo.blob_sha256)


def test_a_hold_on_the_customer_keeps_it_off_new_lists(client):
    _closed_customer_with_evidence(client)
    legal = login(client.application.test_client(), "legal", "legal")
    legal.post("/api/v1/lifecycle/holds", json={"account_no": "3100000005", "reason": "窃电案件"})
    archivist = login(client.application.test_client(), "archivist", "archivist")
    response = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000005"]}
    )
    assert response.status_code == 409 and response.get_json()["code"] == "disposal.legal_hold"


def test_nothing_is_destroyed_without_an_approved_list(client):
    photo, _thumb = _closed_customer_with_evidence(client)
    customer("3100000006", "高压")
    close(client, "3100000006", "2021-03-03")  # one day short of five years
    archivist = login(client.application.test_client(), "archivist", "archivist")
    manager = login(client.application.test_client(), "manager", "manager")

    early = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000006"]}
    )
    assert early.status_code == 409 and early.get_json()["code"] == "retention.not_eligible"
    blank = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["  "]}
    )
    assert blank.status_code == 400 and blank.get_json()["code"] == "disposal.empty"

    list_id = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000005"]}
    ).get_json()["id"]
    unapproved = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert unapproved.status_code == 409 and unapproved.get_json()["code"] == "disposal.invalid_transition"
    by_archivist = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/approve", json={})
    assert by_archivist.status_code == 403 and by_archivist.get_json()["code"] == "auth.forbidden"
    manager.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/reject", json={"note": "再鉴定"})
    rejected = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert rejected.status_code == 409 and rejected.get_json()["details"]["state"] == "rejected"
    assert ports().blobs.exists(photo.blob_sha256)

    own = manager.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000005"]}
    ).get_json()["id"]
    self_approval = manager.post(f"/api/v1/lifecycle/disposal-lists/{own}/approve", json={})
    assert self_approval.status_code == 403 and self_approval.get_json()["code"] == "disposal.self_approval"
    missing = manager.get("/api/v1/lifecycle/disposal-lists/999")
    assert missing.status_code == 404 and missing.get_json()["code"] == "disposal.unknown"
    assert ports().blobs.exists(photo.blob_sha256)


def test_a_withdrawn_dossier_is_not_destroyed(client):
    photo, _thumb = _closed_customer_with_evidence(client)
    customer("5200000003", "低压")
    _c, other = capture_with_photo("5200000003", b"low voltage photo")
    close(client, "5200000003", "2023-03-02")
    archivist = login(client.application.test_client(), "archivist", "archivist")
    manager = login(client.application.test_client(), "manager", "manager")
    list_id = archivist.post(
        "/api/v1/lifecycle/disposal-lists",
        json={"title": "清册", "reason": "期满", "accounts": ["3100000005", "5200000003"]},
    ).get_json()["id"]
    manager.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/approve", json={})
    archivist.post(
        f"/api/v1/lifecycle/disposal-lists/{list_id}/withdraw", json={"account_no": "5200000003", "reason": "复核"}
    )
    archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert not ports().blobs.exists(photo.blob_sha256)
    assert ports().blobs.exists(other.blob_sha256)
    assert db.session.query(DestructionRecord).count() == 1


def test_the_disposal_page_walks_through_approval_and_execution(client):
    from tests.helpers.api_client import csrf_token_of

    photo, _thumb = _closed_customer_with_evidence(client)
    archivist = login(client.application.test_client(), "archivist", "archivist")
    page = archivist.client.get("/lifecycle/retention?eligible=1").get_data(as_text=True)
    assert 'value="3100000005"' in page
    proposed = archivist.client.post(
        "/lifecycle/disposal",
        data={"csrf_token": csrf_token_of(page), "title": "2026 年到期", "reason": "期满", "accounts": ["3100000005"]},
    )
    assert proposed.status_code == 302
    list_url = proposed.headers["Location"]
    login(client, "manager", "manager")
    detail = client.get(list_url).get_data(as_text=True)
    assert "批准销毁" in detail
    list_id = int(list_url.rstrip("/").rsplit("/", 1)[1])
    client.post(
        f"/lifecycle/disposal/{list_id}/decide", data={"csrf_token": csrf_token_of(detail), "decision": "approve"}
    )
    after = client.get(list_url).get_data(as_text=True)
    assert "执行销毁" in after
    client.post(f"/lifecycle/disposal/{list_id}/execute", data={"csrf_token": csrf_token_of(after)})
    assert not ports().blobs.exists(photo.blob_sha256)
    assert "已销毁" in client.get(list_url).get_data(as_text=True)


def test_legal_staff_place_and_lift_holds_on_their_page(client):
    from tests.helpers.api_client import csrf_token_of

    customer("3100000005", "高压")
    login(client, "legal", "legal")
    page = client.get("/lifecycle/holds").get_data(as_text=True)
    assert "没有未解除的法律保全" in page
    client.post(
        "/lifecycle/holds",
        data={"csrf_token": csrf_token_of(page), "account_no": "3100000005", "reason": "窃电案件取证"},
    )
    page = client.get("/lifecycle/holds").get_data(as_text=True)
    assert "窃电案件取证" in page and "整个客户档案" in page
    hold_id = db.session.scalar(select(LegalHold.id))
    client.post(f"/lifecycle/holds/{hold_id}/lift", data={"csrf_token": csrf_token_of(page), "reason": "结案"})
    assert db.session.get(LegalHold, hold_id).lifted_at is not None
    assert client.get("/lifecycle/retention").status_code == 403  # legal staff do not run destruction
