"""Destruction ends every stored copy of the destroyed bytes, or refuses with the reason; bundles expire."""

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.actor import Actor
from models import AuditEntry, Capture, EvidenceExport, EvidenceUse, Photo, PhotoEvidence, Upload, User
from models.database import db
from services import evidence_export, export_approval
from services import pipeline_runs as runner
from services.ports_access import ports
from services.stamping_env import env_for
from sync.uploads import staging_path
from tests.helpers.api_client import ApiClient
from tests.helpers.destroyed import closed_customer_with_photo, done_export, files_holding, record_of, stored_bundle
from tests.helpers.device import photo_files, sample_data, tablet
from tests.helpers.factories import PASSWORD, make_device
from tests.helpers.legal_world import ACCOUNT, FlaskTusUploader, export_bundle
from tests.helpers.lifecycle_data import capture_with_photo, close, customer, destroy, login
from tests.helpers.uploads import tus_metadata, tus_patch


def _evidence_bytes(photo_ids: list[str]) -> dict[str, bytes]:
    """SHA-256 → bytes of the originals and every derivative of these photos, read from the blob store."""
    out = {}
    for photo_id in photo_ids:
        evidence = db.session.get(PhotoEvidence, photo_id)
        for key in (evidence.sha256, evidence.thumbnail_key, evidence.preview_key, evidence.stamped_key):
            if key and ports().blobs.exists(key):
                out[key] = ports().blobs.open(key).read()
    return out


def test_a_destroyed_customer_leaves_no_byte_of_its_evidence_and_its_old_bundle_is_gone(
    app, client, clock, tmp_path_factory
):
    export, photos = export_bundle(app, client, clock, tmp_path_factory.mktemp("tablet"))
    assert export.expires_at == export.finished_at + timedelta(days=30)
    contents = _evidence_bytes(photos)
    originals = {db.session.get(PhotoEvidence, p).sha256 for p in photos}
    data_dir = app.config["DANGAN_DATA_DIR"]
    assert files_holding(data_dir, contents), "the test must see the copies before destruction"
    bundle_bytes = open(export.bundle_path, "rb").read()

    close(client, ACCOUNT, "2021-03-02")
    report = destroy(client, [ACCOUNT])
    assert report["bundles_removed"] == 1

    assert files_holding(data_dir, contents) == []  # no byte of any original or derivative, anywhere
    assert not any(ports().blobs.exists(key) for key in contents)

    legal = ApiClient(client)
    legal.login("lawyer", PASSWORD)
    gone = legal.get(f"/api/v1/legal/exports/{export.id}/bundle")
    assert gone.status_code == 410 and gone.get_json()["code"] == "export.destroyed"
    page = legal.client.get(f"/legal/exports/{export.id}/bundle")
    assert page.status_code == 410 and "export.destroyed" in page.get_data(as_text=True)
    shown_page = legal.client.get(f"/legal/exports/{export.id}").get_data(as_text=True)
    assert f"已销毁（销毁记录第 {report['records'][0]} 号" in shown_page and "下载证据包" not in shown_page
    status = legal.get(f"/api/v1/legal/exports/{export.id}").get_json()
    assert status["state"] == "destroyed" and status["destruction_record_id"] == report["records"][0]

    archivist = login(client.application.test_client(), "archivist", "archivist")
    shown = archivist.get(f"/api/v1/lifecycle/destruction-records/{report['records'][0]}").get_json()
    removed = shown["content"]["exports_removed"]
    assert [(e["export_id"], e["bundle_sha256"]) for e in removed] == [
        (export.id, hashlib.sha256(bundle_bytes).hexdigest())
    ]
    assert sorted(removed[0]["photo_ids"]) == sorted(photos)
    assert originals <= {d["sha256"] for d in shown["content"]["destroyed"]}
    check = shown["verification"]
    assert check["ok"] is True and check["bundles_still_stored"] == [] and check["still_stored"] == []
    page = archivist.client.get(f"/lifecycle/destruction/{report['records'][0]}").get_data(as_text=True)
    assert "核验通过" in page and f"导出 {export.id}" in page

    # the check searches the export store by hash: a copy of the old bundle put back is found
    (ports().exports.path_for(99)).write_bytes(bundle_bytes)
    again = archivist.get(f"/api/v1/lifecycle/destruction-records/{report['records'][0]}").get_json()
    assert again["verification"]["ok"] is False and again["verification"]["bundles_still_stored"] == [99]
    page = archivist.client.get(f"/lifecycle/destruction/{report['records'][0]}").get_data(as_text=True)
    assert "核验未通过" in page and "导出编号 99" in page


def test_a_pending_capture_of_a_destroyed_dossier_is_closed_and_its_tablet_learns_it(client):
    closed_customer_with_photo(client, "3100000055", b"\xff\xd8 filed photo \xff\xd9")
    pending, _photo = capture_with_photo(
        "3100000055", b"\xff\xd8 still waiting \xff\xd9", inspector="inspector7", review_state="pending"
    )
    _device, token = make_device("inspector7")
    tablet = ApiClient(client.application.test_client(), token)
    cursor = tablet.get("/api/v1/sync/pull", query_string={"limit": 500}).get_json()["cursor"]

    record_id = destroy(client, ["3100000055"])["records"][0]
    db.session.expire_all()
    capture = db.session.get(Capture, pending.id)
    assert capture.review_state == "closed" and capture.record_state == "destroyed"
    assert f"销毁记录第 {record_id} 号" in capture.closed_reason

    archivist = login(client.application.test_client(), "archivist2", "archivist")
    approve = archivist.post(f"/api/v1/review/captures/{pending.id}/approve", json={})
    assert approve.status_code == 409 and approve.get_json()["code"] == "dossier.destroyed"
    assert db.session.get(Capture, pending.id).review_state == "closed"

    changes = tablet.get("/api/v1/sync/pull", query_string={"cursor": cursor, "limit": 500}).get_json()["changes"]
    reviews = [c for c in changes if c["entity"] == "review"]
    assert [(c["id"], c["data"]["state"], c["data"]["reason_code"]) for c in reviews] == [
        (pending.id, "closed", "dossier_destroyed")
    ]
    assert "已于" in reviews[0]["data"]["reason_text"] and str(record_id) in reviews[0]["data"]["reason_text"]


def test_a_bundle_that_also_holds_a_held_customers_photos_blocks_the_destruction(client):
    _c, photo = closed_customer_with_photo(client, "3100000056", b"\xff\xd8 destroy me \xff\xd9")
    customer("3100000057", "高压")
    _c2, held_photo = capture_with_photo("3100000057", b"\xff\xd8 under a hold \xff\xd9")
    bundle = stored_bundle(
        1,
        {photo.blob_sha256: b"\xff\xd8 destroy me \xff\xd9", held_photo.blob_sha256: b"\xff\xd8 under a hold \xff\xd9"},
    )
    export = done_export([photo.id, held_photo.id], None, ports().clock.now(), bundle)
    legal = login(client.application.test_client(), "legal", "legal")
    hold = legal.post("/api/v1/lifecycle/holds", json={"account_no": "3100000057", "reason": "窃电诉讼"})
    assert hold.status_code == 201

    archivist = login(client.application.test_client(), "archivist", "archivist")
    manager = login(client.application.test_client(), "manager", "manager")
    list_id = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "清册", "reason": "期满", "accounts": ["3100000056"]}
    ).get_json()["id"]
    manager.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/approve", json={})
    blocked = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert blocked.status_code == 409 and blocked.get_json()["code"] == "disposal.export_on_hold"
    assert blocked.get_json()["details"]["exports"] == [
        {"export_id": export.id, "held_accounts": ["3100000057"], "hold_ids": [hold.get_json()["id"]]}
    ]
    assert bundle.exists() and ports().blobs.exists(photo.blob_sha256) and record_of("3100000056") is None

    legal.post(f"/api/v1/lifecycle/holds/{hold.get_json()['id']}/lift", json={"reason": "结案"})
    done = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert done.status_code == 200 and done.get_json()["bundles_removed"] == 1
    assert not bundle.exists()


def test_a_partial_upload_of_a_destroyed_photo_is_removed_from_staging(client):
    _c, photo = closed_customer_with_photo(client, "3100000058", b"\xff\xd8 photo \xff\xd9")
    device, token = make_device("inspector1")
    photo.device_id = device.id  # the tablet whose token the test holds
    upload = Upload(
        id="a" * 32,
        device_id=device.id,
        state="receiving",
        length=100,
        offset=10,
        photo_id=photo.id,
        declared_sha256=photo.blob_sha256,
        upload_metadata={},
        expires_at=ports().clock.now() + timedelta(days=1),
    )
    db.session.add(upload)
    db.session.commit()
    partial = staging_path(ports().blobs, upload.id)
    partial.write_bytes(b"\xff\xd8 photo")

    record_id = destroy(client, ["3100000058"])["records"][0]
    assert not partial.exists()
    assert db.session.get(Upload, upload.id).state == "terminated"
    content = record_of("3100000058").content
    assert content["uploads_removed"] == [{"upload_id": upload.id, "photo_id": photo.id, "offset": 10}]
    assert record_id == record_of("3100000058").id

    # the tablet cannot bring the bytes back: the upload in progress is over, a new one is refused
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    resumed = tus_patch(client, token, f"/api/v1/uploads/{upload.id}", 10, b" rest")
    assert resumed.status_code == 410 and resumed.get_json()["code"] == "upload.terminated"
    again = client.post(
        "/api/v1/uploads",
        headers={**headers, "Upload-Length": "16", "Upload-Metadata": tus_metadata(photo.id, photo.blob_sha256)},
    )
    assert again.status_code == 410 and again.get_json()["code"] == "photo.destroyed"
    assert not ports().blobs.exists(photo.blob_sha256)


def test_bundles_kept_past_their_period_are_removed_and_answer_410(client):
    customer("3100000059", "高压")
    _c, photo = capture_with_photo("3100000059", b"\xff\xd8 exported once \xff\xd9")
    legal_user = login(client.application.test_client(), "legal", "legal")
    user_id = db.session.scalar(select(User.id).where(User.username == "legal"))
    now = ports().clock.now()
    bundle = stored_bundle(5, {photo.blob_sha256: b"\xff\xd8 exported once \xff\xd9"})
    fresh_bundle = stored_bundle(6, {photo.blob_sha256: b"\xff\xd8 exported once \xff\xd9"})
    old, fresh = done_export([photo.id], user_id, now, bundle), done_export([photo.id], user_id, now, fresh_bundle)
    old.expires_at, fresh.expires_at = now - timedelta(seconds=1), now + timedelta(days=1)
    db.session.commit()

    result = client.application.test_cli_runner().invoke(args=["lifecycle", "expire-bundles"])
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"expired": [old.id]}
    assert not bundle.exists() and fresh_bundle.exists()
    expired = legal_user.get(f"/api/v1/legal/exports/{old.id}/bundle")
    assert expired.status_code == 410 and expired.get_json()["code"] == "export.expired"
    assert legal_user.get(f"/api/v1/legal/exports/{fresh.id}/bundle").status_code == 200
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.export_expired")) is not None
    assert evidence_export.expire_bundles(db.session, ports().exports, now) == []


def test_a_failing_export_shows_no_server_path_and_is_not_registered_as_delivered(app, client, clock, tmp_path_factory):
    export, photos = export_bundle(app, client, clock, tmp_path_factory.mktemp("tablet"), count=1)
    lawyer = db.session.scalar(select(User).where(User.username == "lawyer"))

    again = evidence_export.request_export(
        db.session,
        Actor("user", str(lawyer.id), None, "legal"),
        lawyer,
        evidence_export.Criteria(photo_ids=tuple(photos)),
        "复核",
        clock.now(),
        export_approval.ApprovalLimits(),
    )
    key = db.session.get(Photo, photos[0]).blob_sha256
    ports().blobs.destroy(key)  # the disk lost the original behind the pipeline's back

    with pytest.raises(Exception):
        evidence_export.build_bundle(db.session, env_for(app), again.id)
    db.session.expire_all()
    failed = db.session.get(EvidenceExport, again.id)
    assert failed.state == "failed" and failed.error.startswith("server.internal")
    assert "/" not in failed.error and str(app.config["DANGAN_DATA_DIR"]) not in failed.error

    legal = ApiClient(client)
    legal.login("lawyer", PASSWORD)
    shown = legal.get(f"/api/v1/legal/exports/{again.id}").get_json()
    assert shown["state"] == "failed" and "/" not in shown["error"]
    bundle = legal.get(f"/api/v1/legal/exports/{again.id}/bundle")
    assert bundle.status_code == 409 and bundle.get_json()["code"] == "export.failed"
    delivered = db.session.scalars(select(EvidenceUse).where(EvidenceUse.action == "export")).all()
    assert [u.export_id for u in delivered] == [export.id]
    assert delivered[0].details["photo_ids"] == photos
    assert "left_out" not in json.loads(export.manifest)


def test_a_bundle_whose_export_is_destroyed_while_it_is_built_is_never_kept(app, client, clock, tmp_path_factory):
    _export, photos = export_bundle(app, client, clock, tmp_path_factory.mktemp("tablet"), count=1)
    lawyer = db.session.scalar(select(User).where(User.username == "lawyer"))

    building = evidence_export.request_export(
        db.session,
        Actor("user", str(lawyer.id), None, "legal"),
        lawyer,
        evidence_export.Criteria(photo_ids=tuple(photos)),
        "复核",
        clock.now(),
        export_approval.ApprovalLimits(),
    )

    def destroyed_meanwhile(export):  # a destruction commits while the originals are being written
        if export.phase == "originals":
            db.session.execute(
                update(EvidenceExport)
                .where(EvidenceExport.id == export.id)
                .values(state="destroyed", removed_at=clock.now())
            )
            db.session.commit()

    with pytest.raises(Exception):
        evidence_export.build_bundle(db.session, env_for(app), building.id, on_progress=destroyed_meanwhile)
    db.session.expire_all()
    assert db.session.get(EvidenceExport, building.id).state == "destroyed"
    assert not ports().exports.exists(building.id)
    assert [
        p.name for p in ports().exports.path_for(building.id).parent.iterdir() if f"-{building.id}." in p.name
    ] == []


def test_the_stamping_pipeline_makes_nothing_of_a_destroyed_photo(app, client):

    _c, photo = closed_customer_with_photo(client, "3100000060", b"\xff\xd8 not yet stamped \xff\xd9")
    evidence = db.session.get(PhotoEvidence, photo.id)
    db.session.delete(evidence)
    photo.state = "received"
    db.session.commit()
    destroy(client, ["3100000060"])
    db.session.expire_all()

    assert runner.process(db.session, env_for(app), "photo.received", photo.id, 1) == "halted"
    db.session.expire_all()
    assert db.session.get(Photo, photo.id).state == "destroyed"
    assert db.session.get(PhotoEvidence, photo.id) is None


def test_a_capture_pushed_late_for_a_destroyed_dossier_is_closed_and_the_tablet_told(client, tmp_path_factory):
    closed_customer_with_photo(client, "3100000061", b"\xff\xd8 filed long ago \xff\xd9")
    record_id = destroy(client, ["3100000061"])["records"][0]
    _device, token = make_device("inspector8")
    directory = tmp_path_factory.mktemp("tablet")
    http = client.application.test_client()
    device = tablet(http, token, directory, uploader=FlaskTusUploader(http, token))
    capture_id, _ = device.capture(
        "usage_inspection", "3100000061", sample_data("usage_inspection", 2), photo_files(directory, "usage_inspection")
    )
    assert device.sync(attempts=0)["pushed"] == {"applied": 1}

    capture = db.session.get(Capture, capture_id)
    assert capture.review_state == "closed" and f"销毁记录第 {record_id} 号" in capture.closed_reason
    assert device.local("review")[capture_id]["state"] == "closed"
    assert device.local("review")[capture_id]["reason_code"] == "dossier_destroyed"
    device.close()
