"""kill -9 of the web server in the middle of a push and in the middle of a photo upload.

The reference tablet client retries after the restart: every capture is recorded exactly once,
every photo's stored bytes match its hash. (tuspy and tus-js-client against a server killed
mid-file are covered in ``test_uploads_live.py``.)
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

import pytest
import redis as redis_lib
import sqlalchemy as sa

from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TransportError, TusPhotoUploader
from tests.helpers.device import sample_data
from tests.helpers.stack import LiveStack, audit_photos, engine_for, seed, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(database_factory, redis_url, tmp_path):
    """A live web server (no workers needed) on a fresh database, with one tablet."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    tablets = seed(database_url, redis_url, data_dir, tablets=1)
    # the killed process's upload lock is a lease: a short one keeps the test short
    live = LiveStack(database_url, redis_url, data_dir, extra_env={"DANGAN_UPLOAD_LOCK_TTL_SECONDS": "3"})
    live.tablet = tablets[0]
    live.engine = engine_for(database_url)
    live.start_web()
    yield live
    live.stop()
    live.engine.dispose()
    database_factory.drop(database_url)


def _client(stack, tmp_path, chunk_size: int = 4 * 1024 * 1024, **kwargs) -> DeviceClient:
    token = stack.tablet["token"]
    return DeviceClient(
        str(tmp_path / "tablet.sqlite3"),
        HttpTransport(stack.url, token, timeout=30),
        uploader=TusPhotoUploader(stack.url, token, chunk_size=chunk_size, retries=0),
        **kwargs,
    )


def _photo(tmp_path, size: int) -> PhotoFile:
    path = tmp_path / f"p{os.urandom(4).hex()}.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(size))
    return PhotoFile(str(path), "meter", "meter")


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_the_web_server_killed_mid_push_loses_and_duplicates_nothing(stack, tmp_path):
    account = stack.tablet["account_nos"][0]
    tablet = _client(stack, tmp_path, max_batch_items=200)
    ids = [
        tablet.capture("usage_inspection", account, sample_data("usage_inspection", 2), [_photo(tmp_path, 64)])[0]
        for _ in range(200)
    ]
    outcome = {}

    def push():
        try:
            outcome["counts"] = tablet.push()
        except TransportError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=push)
    thread.start()
    time.sleep(0.05)  # the batch is on its way or being written (200 items take far longer to store)
    stack.kill_web()
    thread.join(timeout=60)
    assert "error" in outcome, "the push finished before the kill; nothing was tested"
    # a batch is one transaction: the kill leaves all of it or none of it, never part of a capture
    stored = _count(stack.engine, "SELECT count(*) FROM captures")
    assert stored in (0, len(ids))
    assert _count(stack.engine, "SELECT count(*) FROM capture_revisions") == stored

    stack.start_web()
    result = tablet.sync(attempts=2, base_delay=0.2)
    assert result["pushed"] == ({"replayed": len(ids)} if stored else {"applied": len(ids)})
    assert _count(stack.engine, "SELECT count(*) FROM captures") == len(ids)
    assert _count(stack.engine, "SELECT count(DISTINCT capture_id) FROM capture_revisions") == len(ids)
    assert _count(stack.engine, "SELECT count(*) FROM capture_revisions") == len(ids)
    assert _count(stack.engine, "SELECT count(*) FROM photos") == len(ids)
    assert tablet.pending() == []
    assert stack.server_errors() == []


def test_the_web_server_killed_mid_upload_resumes_and_stores_the_exact_bytes(stack, tmp_path):
    account = stack.tablet["account_nos"][0]
    tablet = _client(stack, tmp_path, chunk_size=64 * 1024)
    photo = _photo(tmp_path, 3 * 1024 * 1024)
    capture_id, _ = tablet.capture("usage_inspection", account, sample_data("usage_inspection", 2), [photo])
    assert tablet.push() == {"applied": 1}
    outcome = {}

    def upload():
        try:
            outcome["done"] = tablet.upload()
        except TransportError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=upload)
    thread.start()
    wait_until(
        lambda: _count(stack.engine, 'SELECT max("offset") FROM uploads') or None, 60, "the first chunks", interval=0.01
    )
    stack.kill_web()
    thread.join(timeout=60)
    assert "error" in outcome, "the upload finished before the kill; nothing was tested"
    stored = _count(stack.engine, 'SELECT max("offset") FROM uploads')
    assert 0 < stored < os.path.getsize(photo.path)

    # the killed PATCH's lock stays until its lease runs out (no look at processes: it may have
    # been another host); a resumed PATCH meanwhile would get 423
    with stack.engine.connect() as conn:
        held_until = conn.execute(sa.text("SELECT lock_expires_at FROM uploads")).scalar()
    stack.start_web()
    if held_until is not None:
        held_until = held_until if isinstance(held_until, datetime) else datetime.fromisoformat(str(held_until))
        if held_until.tzinfo is None:  # SQLite keeps UTC without an offset
            held_until = held_until.replace(tzinfo=timezone.utc)
        wait = (held_until - datetime.now(timezone.utc)).total_seconds()
        time.sleep(max(0.0, wait) + 0.5)
    result = tablet.sync(attempts=2, base_delay=0.2)
    assert result["uploaded"] == 1
    assert _count(stack.engine, "SELECT count(*) FROM uploads") == 1  # resumed, not started again
    state = _count(
        stack.engine, "SELECT count(*) FROM photos WHERE capture_id = :c AND state != 'awaiting_upload'", c=capture_id
    )
    assert state == 1
    audit = audit_photos(stack.engine, stack.data_dir / "blobs")
    assert audit["mismatched"] == [] and audit["photos"] == 1 and audit["bytes"] == os.path.getsize(photo.path)
    assert stack.server_errors() == []
