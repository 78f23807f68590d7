"""The reference device client: durable outbox, lost answers, crashes, poison items, resets."""

import json

import pytest
from sqlalchemy import func, select

from clients.device_client import DeviceClient, TransportError
from models import Capture, CaptureRevision, Photo
from models.database import db
from tests.helpers.device import DirectBlobUploader, photo_files, sample_data, tablet
from tests.helpers.factories import make_customer, make_device


@pytest.fixture
def setup(client):
    make_customer("3100012345")
    device, token = make_device("inspector1")
    return client, token


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_capture_survives_a_process_kill_before_it_was_sent(setup, tmp_path):
    client, token = setup
    first = tablet(client, token, tmp_path)
    capture_id, _ = first.capture(
        "usage_inspection", "3100012345", sample_data("usage_inspection", 2), photo_files(tmp_path, "usage_inspection")
    )
    first.db.close()  # the process dies; nothing was pushed
    reborn = tablet(client, token, tmp_path)
    assert len(reborn.pending()) == 1
    assert reborn.push() == {"applied": 1}
    assert db.session.get(Capture, capture_id) is not None


def test_lost_answers_and_retries_record_each_capture_once(setup, tmp_path):
    client, token = setup
    device = tablet(client, token, tmp_path)
    for _ in range(3):
        device.capture("site_survey", "3100012345", sample_data("site_survey", 1), photo_files(tmp_path, "site_survey"))
    device.transport.fail_next("lose_answer")
    with pytest.raises(TransportError):
        device.push()
    assert count(Capture) == 3  # the server applied them; the tablet never heard
    assert len(device.pending()) == 3
    assert device.push() == {"replayed": 3}
    assert count(Capture) == 3 and count(CaptureRevision) == 3 and device.pending() == []


def test_a_permanently_invalid_item_is_set_aside_and_does_not_wedge_the_queue(setup, tmp_path):
    client, token = setup
    device = tablet(client, token, tmp_path)
    bad = sample_data("metering_check", 1)
    bad["ct_ratio_found"] = "一百比五"
    device.capture("metering_check", "3100012345", bad, photo_files(tmp_path, "metering_check"))
    good_id, _ = device.capture(
        "metering_check", "3100012345", sample_data("metering_check", 1), photo_files(tmp_path, "metering_check")
    )
    assert device.push() == {"rejected": 1, "applied": 1}
    assert device.pending() == []
    rejected = device.rejected()
    assert rejected[0]["error"]["code"] == "sync.capture_invalid"
    assert "ct_ratio_found" in rejected[0]["error"]["details"]["fields"]["data"]
    assert db.session.get(Capture, good_id) is not None


def test_the_client_halves_its_batch_when_the_server_says_413(app, setup, tmp_path):
    client, token = setup
    app.config["SYNC_MAX_PUSH_BYTES"] = 3000
    device = tablet(client, token, tmp_path, max_batch_bytes=1_000_000)
    for _ in range(8):
        device.capture("site_survey", "3100012345", sample_data("site_survey", 1), photo_files(tmp_path, "site_survey"))
    assert device.push() == {"applied": 8}
    assert device.max_batch_bytes == 3000 and count(Capture) == 8


def test_photos_the_server_lacks_are_uploaded_and_the_capture_completes(app, setup, tmp_path):
    client, token = setup
    uploader = DirectBlobUploader(app)
    device = tablet(client, token, tmp_path, uploader=uploader)
    capture_id, _ = device.capture(
        "defect_notice", "3100012345", sample_data("defect_notice", 1), photo_files(tmp_path, "defect_notice")
    )
    result = device.sync(attempts=0)
    assert result["uploaded"] == 2 and len(uploader.uploaded) == 2
    capture = db.session.get(Capture, capture_id)
    db.session.refresh(capture)
    assert capture.complete and {p.state for p in capture.photos} == {"received"}
    assert device.photos_to_upload() == []


def test_sync_retries_with_backoff_over_a_flaky_link(setup, tmp_path):
    client, token = setup
    waits = []
    device = tablet(client, token, tmp_path, sleep=waits.append)
    device.capture("site_survey", "3100012345", sample_data("site_survey", 1), photo_files(tmp_path, "site_survey"))
    device.transport.fail_next("lose_request", "lose_answer", "lose_request")
    result = device.sync(attempts=5, base_delay=0.5)
    assert result["pushed"] == {"replayed": 1}
    assert len(waits) == 3 and all(w >= 0 for w in waits)
    assert count(Capture) == 1


def test_an_amendment_after_a_retake_request_goes_back_for_review(setup, tmp_path):
    from sync import feed

    client, token = setup
    device = tablet(client, token, tmp_path)
    capture_id, _ = device.capture(
        "usage_inspection", "3100012345", sample_data("usage_inspection", 2), photo_files(tmp_path, "usage_inspection")
    )
    device.sync(attempts=0)
    capture = db.session.get(Capture, capture_id)
    capture.review_state = "rejected"
    feed.publish(
        db.session,
        feed.inspector_scope(capture.inspector_id),
        "review",
        capture_id,
        "upsert",
        {
            "capture_id": capture_id,
            "state": "rejected",
            "reason_code": "photo_blurred",
            "reason_text": "请重拍电能表",
            "decided_at": "2026-03-02T03:00:00+00:00",
        },
    )
    db.session.commit()
    device.pull()
    retake = device.local("review")[capture_id]
    assert retake["state"] == "rejected" and retake["reason_text"] == "请重拍电能表"
    device.amend(capture_id, sample_data("usage_inspection", 2), photo_files(tmp_path, "usage_inspection"))
    device.sync(attempts=0)
    db.session.refresh(capture)
    assert capture.current_revision == 2 and capture.review_state == "pending" and not capture.has_conflict
    assert db.session.scalar(select(func.count()).select_from(Photo).where(Photo.capture_id == capture_id)) == 2


def test_schema_version_change_on_a_device_with_pending_items(setup, tmp_path):
    """Items saved under version 1 stay version 1 after the tablet learns version 2, and are accepted."""
    client, token = setup
    device = tablet(client, token, tmp_path)
    old_id, _ = device.capture(
        "usage_inspection",
        "3100012345",
        sample_data("usage_inspection", 1),
        photo_files(tmp_path, "usage_inspection"),
        schema_version=1,
    )
    device.pull()  # the tablet learns that version 2 is current
    assert device.local("schema")["usage_inspection.v2"]["latest"] is True
    new_id, _ = device.capture(
        "usage_inspection", "3100012345", sample_data("usage_inspection", 2), photo_files(tmp_path, "usage_inspection")
    )
    assert [json.loads(b)["schema_version"] for _, b in device.pending()] == [1, 2]
    assert device.push() == {"applied": 2}
    assert db.session.get(Capture, old_id).schema_version == 1
    assert db.session.get(Capture, new_id).schema_version == 2


def test_reset_required_drops_the_local_copy_but_keeps_the_outbox(runner, setup, tmp_path):
    from core.actor import CLI
    from services import sync_assignments
    from services.ports_access import ports

    client, token = setup
    sync_assignments.assign(db.session, CLI, "inspector1", ["3100012345"], ports().clock.now())
    db.session.commit()
    device = tablet(client, token, tmp_path)
    device.pull()
    device.capture("site_survey", "3100012345", sample_data("site_survey", 1), photo_files(tmp_path, "site_survey"))
    runner.invoke(args=["sync", "reset-all", "--reason", "测试"])
    old_cursor = device.cursor()
    device.pull()
    assert device.cursor() != old_cursor
    assert set(device.local("dossier")) == {"3100012345"}
    assert len(device.pending()) == 1


def test_the_client_file_is_all_the_state_a_tablet_needs(setup, tmp_path):
    client, token = setup
    device = tablet(client, token, tmp_path)
    device.pull()
    cursor, schemas = device.cursor(), device.local("schema")
    device.close()
    again = DeviceClient(str(tmp_path / "tablet.sqlite3"), device.transport)
    assert again.cursor() == cursor and again.local("schema") == schemas
    assert again.pull() == 0
