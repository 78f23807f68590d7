"""Tablets with clocks off by days, and a tablet restored from an old backup replaying its outbox.

Captures are recorded exactly once either way; the server keeps the device's times as declared,
measures the clock offset and flags it, never "fixes" what the tablet said; old mutations are
answered as replays and never overwrite what arrived since.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from clients.device_client import PhotoFile
from models import Capture, CaptureRevision, Photo, PhotoEvidence
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from services import dispatch
from tests.helpers.device import DirectBlobUploader, photo_files, sample_data, tablet
from tests.helpers.factories import make_customer, make_device
from workers import context

pytestmark = pytest.mark.e2e
ACCOUNT = "3100012345"
SKEW = timedelta(days=3, hours=7)


class StoringUploader:
    """Stands in for tus in-process: stores the file's bytes with their real digests, as a finished upload does."""

    def upload(self, _client, photo: dict, stop_at=None) -> bool:
        """Store the bytes, record the blob and complete the photos waiting for it."""
        from services.ports_access import ports
        from sync.photos import blob_arrived
        from tests.helpers.captures import store_photo_bytes

        with open(photo["path"], "rb") as fh:
            blob = store_photo_bytes(fh.read())
        db.session.flush()
        blob_arrived(db.session, blob, ports().clock.now())
        db.session.commit()
        return True


def stamp_everything(app) -> None:
    """Dispatch the outbox and run every stamping job in this process."""
    context.set_app(app)
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    dispatch.tick(app)


@pytest.mark.parametrize("direction", [1, -1], ids=["clock_ahead", "clock_behind"])
def test_a_tablet_clock_off_by_days_still_syncs_once_and_its_skew_is_measured_and_flagged(
    app, client, clock, tmp_path, direction
):
    make_customer(ACCOUNT)
    _, token = make_device()
    server_now = clock.now()
    device_now = server_now + direction * SKEW
    tab = tablet(client, token, tmp_path, uploader=StoringUploader(), now=lambda: device_now)
    photos = [
        PhotoFile(p.path, p.slot, p.category, captured_at=device_now - timedelta(minutes=2))
        for p in photo_files(tmp_path, "usage_inspection")
    ]
    capture_id, revision_id = tab.capture("usage_inspection", ACCOUNT, sample_data("usage_inspection", 2), photos)

    first = tab.sync(attempts=0)
    again = tab.sync(attempts=0)
    assert first["pushed"] == {"applied": 1} and first["uploaded"] == 1
    assert again["pushed"] == {} and tab.pending() == []
    assert db.session.scalar(select(func.count()).select_from(Capture)) == 1

    capture = db.session.get(Capture, capture_id)
    revision = db.session.get(CaptureRevision, revision_id)
    skew_ms = round(direction * SKEW.total_seconds() * 1000)
    assert capture.received_at == server_now  # the server's clock, not the tablet's
    assert revision.device_time == device_now  # the tablet's statement is kept as made
    assert revision.device_clock_offset_ms == skew_ms
    assert tab.local("schema")  # pulling works whatever the tablet's clock says

    stamp_everything(app)
    photo = db.session.scalar(select(Photo).where(Photo.capture_id == capture_id))
    evidence = db.session.get(PhotoEvidence, photo.id)
    assert photo.state == "ready"
    assert photo.device_captured_at == device_now - timedelta(minutes=2)
    assert "device_clock_skew" in evidence.flags
    # the estimate corrects the declared time by the measured offset, and says so
    assert evidence.estimated_capture_at == server_now - timedelta(minutes=2)
    assert "clock offset" in evidence.estimate_basis


def _backup(db_path: str, target: str) -> None:
    """Copy a live tablet database the way a device backup does (consistent snapshot)."""
    source, dest = sqlite3.connect(db_path), sqlite3.connect(target)
    with dest:
        source.backup(dest)
    source.close()
    dest.close()


def test_a_tablet_restored_from_a_backup_replays_old_mutations_without_duplicates_or_overwrites(app, client, tmp_path):
    make_customer(ACCOUNT)
    _, token = make_device()
    db_path = str(tmp_path / "tablet.sqlite3")
    tab = tablet(client, token, tmp_path, uploader=DirectBlobUploader(app))
    first, first_rev = tab.capture(
        "usage_inspection", ACCOUNT, sample_data("usage_inspection", 2), photo_files(tmp_path, "usage_inspection")
    )
    second, _ = tab.capture("site_survey", ACCOUNT, sample_data("site_survey", 1), photo_files(tmp_path, "site_survey"))
    _backup(db_path, str(tmp_path / "backup.sqlite3"))  # taken before anything was sent

    assert tab.sync(attempts=0)["pushed"] == {"applied": 2}
    amended = dict(sample_data("usage_inspection", 2), findings="复查：表箱已更换")
    amendment = tab.amend(first, amended)
    assert tab.sync(attempts=0)["pushed"] == {"applied": 1}
    tab.close()

    shutil.copyfile(tmp_path / "backup.sqlite3", db_path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.unlink(db_path + suffix)
    restored = tablet(client, token, tmp_path, uploader=DirectBlobUploader(app))
    assert len(restored.pending()) == 2  # the old outbox, as it was before the first sync
    replay = restored.sync(attempts=0)
    assert replay["pushed"] == {"replayed": 2}
    assert restored.pending() == [] and restored.rejected() == []

    assert db.session.scalar(select(func.count()).select_from(Capture)) == 2
    db.session.expire_all()
    capture = db.session.get(Capture, first)
    assert capture.current_revision == 2 and not capture.has_conflict
    revisions = db.session.scalars(
        select(CaptureRevision).where(CaptureRevision.capture_id == first).order_by(CaptureRevision.number)
    ).all()
    assert [r.id for r in revisions] == [first_rev, amendment]
    assert revisions[-1].payload["findings"] == "复查：表箱已更换"

    # the restored tablet does not know the amendment: its next edit is kept as a flagged conflict
    late = restored.amend(first, dict(sample_data("usage_inspection", 2), findings="恢复后的修改"))
    assert restored.sync(attempts=0)["pushed"] == {"applied": 1}
    db.session.expire_all()
    capture = db.session.get(Capture, first)
    numbers = db.session.execute(
        select(CaptureRevision.id, CaptureRevision.conflict)
        .where(CaptureRevision.capture_id == first)
        .order_by(CaptureRevision.number)
    ).all()
    assert numbers == [(first_rev, False), (amendment, False), (late, True)]
    assert capture.has_conflict is True
    assert db.session.get(Capture, second).current_revision == 1
