"""The database goes away for a moment: clients get 503 with Retry-After, nothing is half-written,
and the retry records everything exactly once."""

from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import func, select

from clients.device_client import ServerBusy
from models import AuditEntry, Blob, Capture, CaptureRevision, Photo, Upload
from models.database import db
from tests.helpers.device import photo_files, sample_data, tablet
from tests.helpers.factories import make_customer, make_device
from tests.helpers.faults import DatabaseOutage
from tests.helpers.uploads import tus_create, tus_head, tus_patch

pytestmark = pytest.mark.e2e
ACCOUNT = "3100012345"


@pytest.fixture
def outage(app):
    """Fault injection on the app's engine, removed afterwards."""
    injected = DatabaseOutage(db.engine)
    yield injected
    injected.remove()


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_outage_in_the_middle_of_a_push_answers_503_and_keeps_no_half_capture(client, outage, tmp_path):
    make_customer(ACCOUNT)
    _, token = make_device()
    tab = tablet(client, token, tmp_path)
    ids = [
        tab.capture(
            "usage_inspection", ACCOUNT, sample_data("usage_inspection", 2), photo_files(tmp_path, "usage_inspection")
        )[0]
        for _ in range(5)
    ]
    _, envelope = tab._batch(tab.pending())
    # a batch is written as one transaction: the photo rows fail after the captures and their
    # revisions were flushed
    outage.fail_at(r"^\s*INSERT INTO photos")
    answer = client.post(
        "/api/v1/sync/push",
        data=envelope,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.get_json()["code"] == "server.unavailable"
    assert outage.failures >= 1
    outage.up()

    assert set(db.session.scalars(select(Capture.id))) == set()  # rolled back whole: no half capture
    for capture_id in ids:
        assert _count(CaptureRevision, CaptureRevision.capture_id == capture_id) == 0
        assert _count(Photo, Photo.capture_id == capture_id) == 0
        assert _count(AuditEntry, AuditEntry.object_id == capture_id) == 0

    # the tablet never heard an answer: it sends the whole batch again
    counts = tab.push()
    assert counts == {"applied": 5}
    assert sorted(db.session.scalars(select(Capture.id))) == sorted(ids)
    assert _count(CaptureRevision) == 5 and _count(Photo) == 5
    assert tab.pending() == []


def test_the_reference_client_backs_off_on_503_and_succeeds_when_the_database_returns(client, outage, tmp_path):
    make_customer(ACCOUNT)
    _, token = make_device()
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        outage.up()  # the database is back after the first pause

    tab = tablet(client, token, tmp_path, sleep=sleep)
    capture_id, _ = tab.capture(
        "site_survey", ACCOUNT, sample_data("site_survey", 1), photo_files(tmp_path, "site_survey")
    )
    outage.down()
    with pytest.raises(ServerBusy):
        tab.push()
    outage.down()
    result = tab.sync(attempts=3, base_delay=0.01)
    assert len(waits) == 1 and result["pushed"] == {"applied": 1}
    assert _count(Capture, Capture.id == capture_id) == 1


def test_an_outage_while_a_chunk_is_recorded_keeps_the_old_offset_and_the_upload_resumes(app, client, outage):
    _, token = make_device()
    data = os.urandom(300_000)
    location = tus_create(client, token, data)
    assert tus_patch(client, token, location, 0, data[:100_000]).status_code == 204
    # the bytes of the second chunk reach the staging file, then recording the new offset fails
    outage.fail_at(r"^\s*UPDATE uploads SET .*offset", nth=1, times=1)
    failed = tus_patch(client, token, location, 100_000, data[100_000:200_000])
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
    assert outage.failures == 1
    assert tus_head(client, token, location).headers["Upload-Offset"] == "100000"
    assert tus_patch(client, token, location, 100_000, data[100_000:]).status_code == 204
    upload = db.session.get(Upload, location.rsplit("/", 1)[1], populate_existing=True)
    assert (upload.state, upload.offset) == ("finished", len(data))
    sha = hashlib.sha256(data).hexdigest()
    with app.extensions["dangan.ports"].blobs.open(sha) as stored:
        assert stored.read() == data
    assert db.session.get(Blob, sha).size == len(data)


def test_an_outage_while_the_last_chunk_is_filed_is_completed_by_the_next_request(app, client, outage):
    _, token = make_device()
    data = os.urandom(150_000)
    location = tus_create(client, token, data)
    outage.fail_at(r"^\s*INSERT INTO blobs", nth=1, times=1)
    failed = tus_patch(client, token, location, 0, data)
    assert failed.status_code == 503
    sha = hashlib.sha256(data).hexdigest()
    assert db.session.get(Blob, sha, populate_existing=True) is None  # not counted as received yet
    head = tus_head(client, token, location)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    upload = db.session.get(Upload, location.rsplit("/", 1)[1], populate_existing=True)
    assert upload.state == "finished"
    with app.extensions["dangan.ports"].blobs.open(sha) as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == sha
    assert db.session.get(Blob, sha).size == len(data)
