"""Exports beyond the limits wait for a manager; the requester sees the status; the CLI exports and verifies."""

from __future__ import annotations

import json
import zipfile

from sqlalchemy import select

from models import EvidenceExport, EvidenceUse, PhotoEvidence
from models.database import db
from tests.helpers.factories import PASSWORD, make_user
from tests.helpers.legal_world import ACCOUNT, UserApi, push_photos, run_jobs
from verifier import layout


def logged_in(client, username, role):
    make_user(username, role)
    api = UserApi(client)
    api.login(username, PASSWORD)
    return api


def test_a_large_export_waits_for_a_manager_and_then_builds(app, client, tmp_path):
    photos = push_photos(app, client, tmp_path, count=3)
    app.config["EXPORT_APPROVAL_MAX_ITEMS"] = 2
    lawyer = logged_in(client, "lawyer", "legal")
    asked = lawyer.post("/api/v1/legal/exports", json={"account_no": ACCOUNT, "purpose": "合同纠纷应诉"})
    assert asked.status_code == 201, asked.get_json()
    export = asked.get_json()
    assert export["state"] == "awaiting_approval" and export["needs_approval"] and export["item_count"] == 3
    assert lawyer.get(f"/api/v1/legal/exports/{export['id']}").get_json()["state_label"] == "待审批"
    refused = lawyer.post(f"/api/v1/legal/exports/{export['id']}/decision", json={"approve": True})
    assert refused.status_code == 403  # legal staff hold no approval permission
    assert lawyer.get(f"/api/v1/legal/exports/{export['id']}/bundle").get_json()["code"] == "export.not_finished"

    manager = logged_in(app.test_client(), "boss", "manager")
    page = manager.page("/legal/approvals").get_data(as_text=True)
    assert "合同纠纷应诉" in page
    approved = manager.post(f"/api/v1/legal/exports/{export['id']}/decision", json={"approve": True, "note": "同意"})
    assert approved.status_code == 200 and approved.get_json()["state"] == "queued"
    again = manager.post(f"/api/v1/legal/exports/{export['id']}/decision", json={"approve": False})
    assert again.status_code == 409 and again.get_json()["code"] == "export.invalid_transition"
    run_jobs(app, "exports")
    status = lawyer.get(f"/api/v1/legal/exports/{export['id']}").get_json()
    assert status["state"] == "done" and status["done_items"] == 3 and status["percent"] == 100
    bundle = lawyer.get(f"/api/v1/legal/exports/{export['id']}/bundle")
    assert bundle.status_code == 200
    path = tmp_path / "downloaded.zip"
    path.write_bytes(bundle.get_data())
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read(layout.MANIFEST))
    assert manifest["export"]["approved_by"].startswith("boss") and len(manifest["items"]) == len(photos)
    actions = db.session.scalars(
        select(EvidenceUse.action).where(EvidenceUse.export_id == export["id"]).order_by(EvidenceUse.id)
    ).all()
    assert actions == ["export_request", "export", "bundle_download"]


def test_a_manager_cannot_approve_an_export_they_asked_for_and_rejection_is_final(app, client, tmp_path):
    push_photos(app, client, tmp_path, count=2)
    app.config["EXPORT_APPROVAL_MAX_BYTES"] = 10
    boss = logged_in(client, "boss", "manager")
    export = boss.post("/api/v1/legal/exports", json={"account_no": ACCOUNT, "purpose": "内部审计"}).get_json()
    assert export["state"] == "awaiting_approval"
    own = boss.post(f"/api/v1/legal/exports/{export['id']}/decision", json={"approve": True})
    assert own.status_code == 403 and own.get_json()["code"] == "export.self_approval"
    other = logged_in(app.test_client(), "boss2", "manager")
    rejected = other.post(f"/api/v1/legal/exports/{export['id']}/decision", json={"approve": False, "note": "范围过大"})
    assert rejected.get_json()["state"] == "rejected" and rejected.get_json()["decision_note"] == "范围过大"


def test_export_requests_without_purpose_or_photos_are_refused(app, client, tmp_path):
    push_photos(app, client, tmp_path, count=1)
    lawyer = logged_in(client, "lawyer", "legal")
    no_purpose = lawyer.post("/api/v1/legal/exports", json={"account_no": ACCOUNT, "purpose": ""})
    assert no_purpose.status_code == 400 and no_purpose.get_json()["code"] == "legal.purpose_required"
    unknown = lawyer.post("/api/v1/legal/exports", json={"photo_ids": ["nope"], "purpose": "诉讼"})
    assert unknown.status_code == 400 and unknown.get_json()["code"] == "export.unknown_photo"
    nobody = lawyer.post("/api/v1/legal/exports", json={"account_no": "3199999999", "purpose": "诉讼"})
    assert nobody.status_code == 404 and nobody.get_json()["code"] == "customer.unknown"


def test_the_cli_exports_with_progress_and_verifies_offline(app, client, runner, tmp_path):
    push_photos(app, client, tmp_path, count=2)
    out = tmp_path / "case.zip"
    done = runner.invoke(
        args=[
            "evidence",
            "export",
            "--customer",
            ACCOUNT,
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-02",
            "--purpose",
            "窃电案取证",
            "--out",
            str(out),
        ]
    )
    assert done.exit_code == 0, done.output
    summary = json.loads([line for line in done.output.splitlines() if line.startswith("{")][-1])
    assert summary["state"] == "done" and summary["item_count"] == 2 and out.exists()
    unpinned = runner.invoke(args=["evidence", "verify", str(out)])
    assert unpinned.exit_code == 2 and "ALL CHECKS PASSED" not in unpinned.output, unpinned.output
    anchors = runner.invoke(args=["evidence", "anchors"])
    assert anchors.exit_code == 0, anchors.output
    published = json.loads(anchors.output.strip().splitlines()[-1])
    (tmp_path / "root.pem").write_text(published["tsa_roots"][0]["pem"])
    (tmp_path / "log-key.pem").write_text(published["log_key"]["public_key_pem"])
    assert published["log_key"]["sha256"] in unpinned.output  # the fingerprint to compare is printed
    assert published["tsa_roots"][0]["sha256"] in unpinned.output
    checked = runner.invoke(
        args=[
            "evidence",
            "verify",
            str(out),
            "--tsa-ca",
            str(tmp_path / "root.pem"),
            "--log-key",
            str(tmp_path / "log-key.pem"),
        ]
    )
    assert checked.exit_code == 0 and "ALL CHECKS PASSED AGAINST PINNED ANCHORS" in checked.output, checked.output
    members = {}
    with zipfile.ZipFile(out) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    original = next(name for name in members if name.startswith("originals/"))
    members[original] = members[original][:-1] + bytes([members[original][-1] ^ 1])
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    failed = runner.invoke(args=["evidence", "verify", str(tampered)])
    assert failed.exit_code == 1 and f"FAILED {original}" in failed.output
    missing = runner.invoke(args=["evidence", "export", "--customer", ACCOUNT, "--out", str(tmp_path / "x.zip")])
    assert missing.exit_code == 1 and "legal.purpose_required" in missing.output


def test_an_export_whose_bundle_fails_its_own_verifier_fails_loudly_and_ships_nothing(app, client, runner, tmp_path):
    first, second = push_photos(app, client, tmp_path, count=2)
    one, two = db.session.get(PhotoEvidence, first), db.session.get(PhotoEvidence, second)
    one.tsa_token, two.tsa_token = two.tsa_token, one.tsa_token  # each token now covers the other photo
    db.session.commit()
    out = tmp_path / "case.zip"
    done = runner.invoke(
        args=["evidence", "export", "--customer", ACCOUNT, "--purpose", "窃电案取证", "--out", str(out)]
    )
    assert done.exit_code == 1, done.output
    assert "export.self_check_failed" in done.output and "tokens/" in done.output
    assert not out.exists() and not list(tmp_path.glob(".case.zip.*"))
    export = db.session.scalars(select(EvidenceExport).order_by(EvidenceExport.id.desc())).first()
    assert (
        export.state == "failed" and export.error.startswith("export.self_check_failed") and "tokens/" in export.error
    )


def test_the_cli_stops_at_an_export_that_needs_approval(app, client, runner, tmp_path):
    push_photos(app, client, tmp_path, count=2)
    app.config["EXPORT_APPROVAL_MAX_ITEMS"] = 1
    out = tmp_path / "case.zip"
    done = runner.invoke(
        args=["evidence", "export", "--customer", ACCOUNT, "--purpose", "窃电案取证", "--out", str(out)]
    )
    assert done.exit_code == 3 and "needs a manager's approval" in done.output and not out.exists()


def test_the_export_pages_ask_for_a_purpose_and_show_progress_until_the_download(app, client, tmp_path):
    from tests.helpers.api_client import csrf_token_of

    photos = push_photos(app, client, tmp_path, count=1)
    lawyer = logged_in(client, "lawyer", "legal")
    page = lawyer.page("/legal/exports")
    token = csrf_token_of(page.get_data(as_text=True))
    refused = client.post("/legal/exports", data={"csrf_token": token, "account_no": ACCOUNT, "purpose": ""})
    assert refused.status_code == 303 and refused.headers["Location"].endswith("/legal/exports")
    asked = client.post("/legal/exports", data={"csrf_token": token, "photo_id": photos[0], "purpose": "仲裁取证"})
    assert asked.status_code == 303 and "/legal/exports/" in asked.headers["Location"]
    status = lawyer.page(asked.headers["Location"]).get_data(as_text=True)
    assert "排队中" in status and 'http-equiv="refresh"' in status
    run_jobs(app, "exports")
    status = lawyer.page(asked.headers["Location"]).get_data(as_text=True)
    assert "已完成" in status and 'id="download-bundle"' in status and 'http-equiv="refresh"' not in status
    progress = lawyer.page(asked.headers["Location"] + "/progress.json").get_json()
    assert progress["state"] == "done" and progress["done_items"] == 1 and progress["percent"] == 100


def test_an_export_the_queue_missed_at_commit_is_handed_over_by_the_outbox(app, client, tmp_path):
    """Export requests travel through the outbox: when the after-commit enqueue did not happen (Redis
    away at that moment), the dispatcher hands the export to the queue later and it is built."""
    from rq import Queue

    from models import OutboxEvent
    from ports.redis_connection import get_redis
    from services import export_queue

    push_photos(app, client, tmp_path, count=2)
    app.config["DISPATCH_ON_COMMIT"] = False  # as if Redis had been unreachable at commit time
    lawyer = logged_in(client, "lawyer", "legal")
    asked = lawyer.post("/api/v1/legal/exports", json={"account_no": ACCOUNT, "purpose": "窃电案件取证"})
    assert asked.status_code == 201, asked.get_json()
    export_id = asked.get_json()["id"]
    row = db.session.scalar(
        select(OutboxEvent).where(OutboxEvent.event == export_queue.EVENT, OutboxEvent.subject_id == str(export_id))
    )
    assert row is not None and row.dispatched_at is None
    assert export_queue.job_id(export_id) not in Queue("exports", connection=get_redis()).job_ids

    run_jobs(app, "exports")  # one dispatcher tick, then the export worker
    assert lawyer.get(f"/api/v1/legal/exports/{export_id}").get_json()["state"] == "done"
    assert db.session.get(OutboxEvent, row.id).dispatched_at is not None


def test_the_anchors_page_shows_the_fingerprints_the_unpinned_verifier_asks_to_compare(app, client, runner, tmp_path):
    (photo_id,) = push_photos(app, client, tmp_path, count=1)
    out = tmp_path / "case.zip"
    assert (
        runner.invoke(
            args=["evidence", "export", "--customer", ACCOUNT, "--purpose", "窃电案取证", "--out", str(out)]
        ).exit_code
        == 0
    )
    unpinned = runner.invoke(args=["evidence", "verify", str(out)])
    printed = {line.rsplit("SHA256 ", 1)[1] for line in unpinned.output.splitlines() if "SHA256 " in line}
    assert len(printed) == 2  # the TSA root and the log key found in the bundle
    page = logged_in(client, "lawyer", "legal").page("/legal/anchors")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert all(fingerprint in text for fingerprint in printed)
    assert "信任锚" in text and "--tsa-ca" in text
    # the photo's page names the root its token was verified against
    api = UserApi(client)
    api.login("lawyer", PASSWORD)
    photo_page = api.page(f"/legal/photos/{photo_id}").get_data(as_text=True)
    assert sum(fingerprint in photo_page for fingerprint in printed) == 1
