"""Archivist decisions: approve files into the 卷内目录, reject sends a retake request, one wins a race."""

import json

from sqlalchemy import func, select

from models import AuditEntry, Capture, DossierItem, ReviewComment, ReviewDecision, SyncChange
from models.database import db
from models.evidence import LogLeaf
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, LOW, make_capture, review_world
from tests.helpers.factories import PASSWORD


def _archivist(client, name="archivist"):
    api = ApiClient(client)
    assert api.login(name, PASSWORD).status_code == 302
    return api


def _leaves(event_type, subject):
    return db.session.scalars(
        select(LogLeaf).where(LogLeaf.event_type == event_type, LogLeaf.subject_id == subject)
    ).all()


def test_approving_files_the_capture_into_the_dossier_index_with_the_next_sequence_number(client, clock):
    device, _ = review_world()
    first = make_capture(device, HIGH)
    second = make_capture(device, HIGH, kind="usage_inspection")
    api = _archivist(client)

    one = api.post(f"/api/v1/review/captures/{first.id}/approve", json={"doc_type": "site_photos"})
    two = api.post(
        f"/api/v1/review/captures/{second.id}/approve", json={"expected_version": 1, "title": "2026 年 3 月定期检查"}
    )

    assert one.status_code == 200, one.json
    assert two.status_code == 200, two.json
    assert one.json["dossier_item"]["seq"] == 1 and one.json["dossier_item"]["doc_type"] == "site_photos"
    assert two.json["dossier_item"]["seq"] == 2
    assert two.json["dossier_item"]["doc_type"] == "inspection_record"  # suggested for the form kind
    assert two.json["dossier_item"]["title"] == "2026 年 3 月定期检查"
    assert two.json["review_state"] == "approved" and two.json["review_version"] == 2
    items = db.session.scalars(select(DossierItem).order_by(DossierItem.seq)).all()
    assert [(i.seq, i.capture_id, i.source, i.pages) for i in items] == [
        (1, first.id, "capture", 2),
        (2, second.id, "capture", 2),
    ]
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.approved")).all()
    assert {a.object_id for a in audit} == {first.id, second.id}
    assert len(_leaves("approved", first.id)) == 1
    feed = db.session.scalars(select(SyncChange).where(SyncChange.entity == "review")).all()
    assert {(c.entity_id, c.payload["state"]) for c in feed} == {(first.id, "approved"), (second.id, "approved")}
    assert all(c.scope == f"inspector:{device.inspector_id}" for c in feed)


def test_rejecting_needs_a_listed_reason_and_publishes_a_retake_request_for_the_inspector(client):
    device, _ = review_world()
    capture = make_capture(device, LOW)
    api = _archivist(client)

    no_reason = api.post(f"/api/v1/review/captures/{capture.id}/reject", json={"reason_code": "nonsense"})
    other_without_text = api.post(f"/api/v1/review/captures/{capture.id}/reject", json={"reason_code": "other"})
    done = api.post(
        f"/api/v1/review/captures/{capture.id}/reject",
        json={"reason_code": "blurry", "reason_text": "表计示数看不清，请靠近重拍"},
    )

    assert no_reason.status_code == 400 and no_reason.json["code"] == "review.unknown_reason"
    assert "blurry" in no_reason.json["details"]["allowed"]
    assert other_without_text.status_code == 400
    assert other_without_text.json["code"] == "review.reason_text_required"
    assert done.status_code == 200 and done.json["review_state"] == "rejected"
    change = db.session.scalar(
        select(SyncChange).where(SyncChange.entity == "review", SyncChange.entity_id == capture.id)
    )
    assert change.scope == f"inspector:{device.inspector_id}"
    assert change.payload["state"] == "rejected" and change.payload["reason_code"] == "blurry"
    assert change.payload["reason_text"] == "表计示数看不清，请靠近重拍"
    assert change.payload["capture_id"] == capture.id and change.payload["decided_at"]
    assert db.session.scalar(select(func.count()).select_from(DossierItem)) == 0
    assert len(_leaves("rejected", capture.id)) == 1


def test_two_archivists_acting_at_once_one_wins_and_the_other_gets_a_409_naming_the_winner(client):
    device, _ = review_world()
    capture = make_capture(device, HIGH)
    first = _archivist(client, "archivist")
    seen_version = first.get(f"/api/v1/review/captures/{capture.id}").json["review_version"]
    second = _archivist(client, "archivist2")
    assert second.get(f"/api/v1/review/captures/{capture.id}").json["review_version"] == seen_version

    won = second.post(
        f"/api/v1/review/captures/{capture.id}/reject", json={"reason_code": "blurry", "expected_version": seen_version}
    )
    first = _archivist(client, "archivist")
    lost = first.post(f"/api/v1/review/captures/{capture.id}/approve", json={"expected_version": seen_version})

    assert won.status_code == 200
    assert lost.status_code == 409
    assert lost.json["code"] == "review.conflict"
    assert lost.json["details"]["state"] == "rejected"
    assert lost.json["details"]["decided_by"] == "周档案"
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision)) == 1
    assert db.session.scalar(select(func.count()).select_from(DossierItem)) == 0


def test_a_stale_version_loses_even_when_the_winner_left_the_capture_open(client):
    device, _ = review_world()
    capture = make_capture(device, HIGH)
    api = _archivist(client)
    issues = api.post(
        f"/api/v1/review/captures/{capture.id}/issues",
        json={"reason_text": "封印编号与档案不一致", "expected_version": 1},
    )
    stale = api.post(f"/api/v1/review/captures/{capture.id}/approve", json={"expected_version": 1})
    fresh = api.post(f"/api/v1/review/captures/{capture.id}/approve", json={"expected_version": 2})
    again = api.post(f"/api/v1/review/captures/{capture.id}/approve", json={"expected_version": 3})

    assert issues.status_code == 200 and issues.json["review_state"] == "has_issues"
    assert stale.status_code == 409 and stale.json["code"] == "review.conflict"
    assert fresh.status_code == 200 and fresh.json["dossier_item"]["seq"] == 1
    assert again.status_code == 409 and again.json["code"] == "review.not_pending"


def test_unlinked_or_incomplete_captures_cannot_be_approved(client):
    device, _ = review_world()
    unlinked = make_capture(device, "999888777")
    waiting = make_capture(device, HIGH, uploaded=False)
    api = _archivist(client)

    refused_link = api.post(f"/api/v1/review/captures/{unlinked.id}/approve", json={})
    refused_photos = api.post(f"/api/v1/review/captures/{waiting.id}/approve", json={})
    unknown_type = api.post(f"/api/v1/review/captures/{waiting.id}/approve", json={"doc_type": "love_letter"})
    unknown = api.post("/api/v1/review/captures/no-such-capture/approve", json={})

    assert refused_link.status_code == 409 and refused_link.json["code"] == "review.unlinked"
    assert refused_photos.status_code == 409 and refused_photos.json["code"] == "review.incomplete"
    assert unknown_type.status_code == 400 and unknown_type.json["code"] == "review.unknown_doc_type"
    assert unknown.status_code == 404 and unknown.json["code"] == "capture.unknown"
    assert db.session.get(Capture, unlinked.id).review_version == 1  # nothing was claimed


def test_comments_are_kept_audited_and_logged_as_evidence_events(client):
    device, _ = review_world()
    capture = make_capture(device, HIGH)
    api = _archivist(client)
    empty = api.post(f"/api/v1/review/captures/{capture.id}/comments", json={"body": "   "})
    made = api.post(f"/api/v1/review/captures/{capture.id}/comments", json={"body": "请核对 CT 变比"})
    assert empty.status_code in (400, 422)
    assert made.status_code == 201 and made.json["body"] == "请核对 CT 变比"
    assert db.session.scalar(select(ReviewComment.body)) == "请核对 CT 变比"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "review.comment")) is not None
    leaf = _leaves("commented", capture.id)[0]
    assert json.loads(leaf.entry)["payload"]["body"] == "请核对 CT 变比"


def test_bulk_approval_files_each_item_and_reports_the_ones_it_could_not(client):
    device, _ = review_world()
    good = [make_capture(device, HIGH), make_capture(device, LOW), make_capture(device, HIGH)]
    unlinked = make_capture(device, "999888777")
    taken = make_capture(device, LOW)
    api = _archivist(client)
    api.post(f"/api/v1/review/captures/{taken.id}/reject", json={"reason_code": "blurry"})

    result = api.post(
        "/api/v1/review/bulk-approve",
        json={"items": [{"capture_id": c.id, "expected_version": 1} for c in [*good, unlinked, taken]]},
    )

    assert result.status_code == 200
    by_id = {r["capture_id"]: r for r in result.json["results"]}
    assert [by_id[c.id]["ok"] for c in good] == [True, True, True]
    assert [by_id[c.id]["seq"] for c in good] == [1, 1, 2]  # per dossier: high 1, low 1, high 2
    assert by_id[unlinked.id] == {**by_id[unlinked.id], "ok": False, "code": "review.unlinked"}
    assert by_id[taken.id]["code"] == "review.conflict"
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision).where(ReviewDecision.bulk.is_(True))) == 3
    too_many = api.post("/api/v1/review/bulk-approve", json={"items": [{"capture_id": f"x{i}"} for i in range(201)]})
    assert too_many.status_code == 422 and too_many.json["code"] == "request.validation_failed"


def test_the_web_page_tells_the_losing_archivist_who_acted_first(client):
    device, _ = review_world()
    capture = make_capture(device, HIGH)
    _archivist(client, "archivist")
    page = client.get(f"/review/captures/{capture.id}").get_data(as_text=True)
    assert 'name="version" value="1"' in page
    winner = _archivist(client, "archivist2")
    assert winner.post(f"/api/v1/review/captures/{capture.id}/approve", json={}).status_code == 200
    loser = _archivist(client, "archivist")

    response = client.post(
        f"/review/captures/{capture.id}/reject",
        data={"csrf_token": loser.csrf, "version": "1", "reason_code": "blurry"},
        follow_redirects=True,
    )

    text = response.get_data(as_text=True)
    assert "操作未生效" in text and "周档案" in text and "已通过" in text
    assert db.session.get(Capture, capture.id).review_state == "approved"
