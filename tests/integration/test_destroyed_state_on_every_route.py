"""After destruction every page and route knows the photo is destroyed: 410 or 已销毁, never 500 or "unknown"."""

import pytest

from models import Capture, DossierItem, Photo
from models.database import db
from tests.helpers.destroyed import destroyed_customer_with_photo, evidence_for
from tests.helpers.lifecycle_data import capture_with_photo, close, customer, login

ACCOUNT = "3100000077"
PHOTO = b"\xff\xd8 meter photo of a customer whose dossier is destroyed \xff\xd9"


@pytest.fixture
def destroyed(client):
    capture, photo, record = destroyed_customer_with_photo(client, ACCOUNT, PHOTO)
    return capture.id, photo.id, record


def _says_destroyed(text: str, record) -> bool:
    day = record.content["executed_at"][:10]
    return "已销毁" in text and f"销毁记录第 {record.id} 号" in text and day in text


def test_rows_of_a_destroyed_dossier_carry_the_destroyed_state_and_the_record(destroyed):
    capture_id, photo_id, record = destroyed
    photo, capture = db.session.get(Photo, photo_id), db.session.get(Capture, capture_id)
    assert photo.state == "destroyed" and photo.destruction_record_id == record.id
    assert capture.record_state == "destroyed" and capture.destruction_record_id == record.id
    assert capture.review_state == "approved"  # decided captures keep their decision
    items = db.session.query(DossierItem).all()
    assert [(i.record_state, i.destruction_record_id) for i in items] == [("destroyed", record.id)]


def test_legal_search_and_result_say_destroyed_instead_of_intact(client, destroyed):
    _capture_id, photo_id, record = destroyed
    legal = login(client.application.test_client(), "legal", "legal")
    hits = legal.get("/api/v1/legal/photos", query_string={"account_no": ACCOUNT}).get_json()["items"]
    assert [h["photo_id"] for h in hits] == [photo_id]
    hit = hits[0]
    assert hit["state"] == "destroyed" and hit["hash_ok"] is None and hit["has_thumbnail"] is False
    assert hit["destroyed"]["record_id"] == record.id and _says_destroyed(hit["destroyed"]["text"], record)

    result = legal.get(f"/api/v1/legal/photos/{photo_id}")
    assert result.status_code == 200 and result.get_json()["destroyed"]["record_id"] == record.id

    page = legal.client.get(f"/legal/?q={ACCOUNT}").get_data(as_text=True)
    assert _says_destroyed(page, record) and "哈希一致" not in page
    detail = legal.client.get(f"/legal/photos/{photo_id}").get_data(as_text=True)
    assert _says_destroyed(detail, record) and "下载原件" not in detail


def test_legal_byte_routes_answer_410_photo_destroyed(client, destroyed):
    _capture_id, photo_id, record = destroyed
    legal = login(client.application.test_client(), "legal", "legal")
    original = legal.post(f"/api/v1/legal/photos/{photo_id}/original", json={"purpose": "诉讼取证"})
    assert original.status_code == 410
    body = original.get_json()
    assert body["code"] == "photo.destroyed" and body["details"]["record_id"] == record.id
    assert body["details"]["destroyed_on"] == record.content["executed_at"][:10]

    thumbnail = legal.client.get(f"/legal/photos/{photo_id}/thumbnail")
    assert thumbnail.status_code == 410 and "photo.destroyed" in thumbnail.get_data(as_text=True)
    form = legal.client.post(
        f"/legal/photos/{photo_id}/original", data={"purpose": "诉讼取证", "csrf_token": legal.csrf}
    )
    assert form.status_code == 410
    assert "photo.destroyed" in form.get_data(as_text=True) and _says_destroyed(form.get_data(as_text=True), record)


@pytest.mark.parametrize("variant", ["thumbnail", "preview", "original"])
def test_review_image_routes_answer_410_photo_destroyed(client, destroyed, variant):
    _capture_id, photo_id, record = destroyed
    archivist = login(client.application.test_client(), "archivist2", "archivist")
    response = archivist.client.get(f"/review/photos/{photo_id}/{variant}")
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "photo.destroyed" in page and _says_destroyed(page, record)
    as_json = archivist.client.get(f"/review/photos/{photo_id}/{variant}", headers={"Accept": "application/json"})
    assert as_json.status_code == 410 and as_json.get_json()["code"] == "photo.destroyed"
    assert as_json.get_json()["details"]["record_id"] == record.id


def test_review_and_dossier_pages_and_apis_say_destroyed(client, destroyed):
    capture_id, photo_id, record = destroyed
    archivist = login(client.application.test_client(), "archivist2", "archivist")
    detail = archivist.get(f"/api/v1/captures/{capture_id}").get_json()
    assert detail["record_state"] == "destroyed" and detail["destroyed"]["record_id"] == record.id
    assert [p["destroyed"] for p in detail["photos"]] == [True]
    page = archivist.client.get(f"/review/captures/{capture_id}").get_data(as_text=True)
    assert _says_destroyed(page, record)
    assert f"/review/photos/{photo_id}/preview" not in page  # no broken image of destroyed bytes

    dossier = archivist.get(f"/api/v1/dossiers/{ACCOUNT}").get_json()
    assert dossier["destroyed"]["record_id"] == record.id
    assert {i["record_state"] for i in dossier["items"]} == {"destroyed"}
    shown = archivist.client.get(f"/dossiers/{ACCOUNT}").get_data(as_text=True)
    assert _says_destroyed(shown, record)


def test_exports_naming_destroyed_photos_are_refused_up_front_or_leave_them_out(client, destroyed):
    _capture_id, photo_id, record = destroyed
    customer("3100000078", "高压")
    _c, kept = capture_with_photo("3100000078", b"\xff\xd8 kept photo \xff\xd9")
    evidence_for(kept, "EV-KEPT-1")
    legal = login(client.application.test_client(), "legal", "legal")
    refused = legal.post("/api/v1/legal/exports", json={"photo_ids": [photo_id, kept.id], "purpose": "诉讼取证"})
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "export.items_destroyed"
    assert refused.get_json()["details"]["photo_ids"] == [photo_id]
    assert refused.get_json()["details"]["destruction_records"] == [record.id]

    only_destroyed = legal.post(
        "/api/v1/legal/exports", json={"photo_ids": [photo_id], "purpose": "诉讼取证", "skip_destroyed": True}
    )
    assert only_destroyed.status_code == 400 and only_destroyed.get_json()["code"] == "export.empty"

    mixed = legal.post(
        "/api/v1/legal/exports", json={"photo_ids": [photo_id, kept.id], "purpose": "诉讼取证", "skip_destroyed": True}
    )
    assert mixed.status_code == 201, mixed.get_json()
    body = mixed.get_json()
    assert body["item_count"] == 1
    assert body["left_out"] == [{"photo_id": photo_id, "reason": "destroyed", "destruction_record_id": record.id}]


def test_approving_or_linking_into_a_destroyed_dossier_is_refused(client, destroyed):
    capture_id, _photo_id, record = destroyed
    archivist = login(client.application.test_client(), "archivist2", "archivist")
    approved_again = archivist.post(f"/api/v1/review/captures/{capture_id}/approve", json={})
    assert approved_again.status_code == 409 and approved_again.get_json()["code"] == "dossier.destroyed"
    page = archivist.client.post(
        f"/review/captures/{capture_id}/approve", data={"csrf_token": archivist.csrf}, follow_redirects=True
    ).get_data(as_text=True)
    assert f"该客户档案已销毁（销毁记录第 {record.id} 号，{record.content['executed_at'][:10]}）" in page

    stray, _photo = capture_with_photo("3100999999", b"\xff\xd8 unlinked \xff\xd9", review_state="pending")
    stray.link_state = "unlinked"
    db.session.commit()
    customer_id = db.session.get(Capture, capture_id).customer_id
    linked = archivist.post(f"/api/v1/review/captures/{stray.id}/link", json={"customer_id": customer_id})
    assert linked.status_code == 409 and linked.get_json()["code"] == "dossier.destroyed"
    assert linked.get_json()["details"]["record_id"] == record.id
    assert db.session.get(Capture, stray.id).link_state == "unlinked"


def test_holds_on_a_destroyed_customer_are_refused_with_hold_codes(client, destroyed):
    legal = login(client.application.test_client(), "legal", "legal")
    refused = legal.post("/api/v1/lifecycle/holds", json={"account_no": ACCOUNT, "reason": "诉讼"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "hold.customer_destroyed"

    customer("3100000079", "高压")
    bad_item = legal.post("/api/v1/lifecycle/holds", json={"account_no": "3100000079", "item_seq": 7, "reason": "诉讼"})
    assert bad_item.status_code == 400 and bad_item.get_json()["code"] == "hold.unknown_item"
    assert bad_item.get_json()["details"]["item_seq"] == 7

    page = legal.client.post(
        "/lifecycle/holds",
        data={"csrf_token": legal.csrf, "account_no": ACCOUNT, "reason": "诉讼"},
        follow_redirects=True,
    )
    text = page.get_data(as_text=True)
    assert "该客户档案已销毁，无可保全的内容。（hold.customer_destroyed）" in text


def test_a_refused_disposal_transition_speaks_one_language(client):
    customer("3100000080", "高压")
    close(client, "3100000080", "2021-03-02")
    archivist = login(client.application.test_client(), "archivist", "archivist")
    manager = login(client.application.test_client(), "manager", "manager")
    list_id = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000080"]}
    ).get_json()["id"]
    manager.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/reject", json={"note": "再鉴定"})
    refused = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute").get_json()
    assert refused["code"] == "disposal.invalid_transition" and refused["details"]["state"] == "rejected"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in refused["message"])


def test_the_export_command_refuses_destroyed_photos_unless_told_to_leave_them_out(client, destroyed, tmp_path):
    _capture_id, photo_id, _record = destroyed
    runner = client.application.test_cli_runner()
    out = tmp_path / "case.zip"
    refused = runner.invoke(args=["evidence", "export", "--ids", photo_id, "--purpose", "诉讼取证", "--out", str(out)])
    assert refused.exit_code == 1 and "export.items_destroyed" in refused.stderr and photo_id in refused.stderr
    empty = runner.invoke(
        args=["evidence", "export", "--ids", photo_id, "--purpose", "诉讼取证", "--out", str(out), "--skip-destroyed"]
    )
    assert empty.exit_code == 1 and "export.empty" in empty.stderr
    assert not out.exists()
