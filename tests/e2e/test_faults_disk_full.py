"""The disk fills up while a photo's bytes are written: a clean 507, nothing counted as received,
and the upload resumes from the stored offset once there is room again.

As root the blob store lives on a tiny tmpfs that really runs full; elsewhere ``os.write`` of the
staging code raises ENOSPC once a byte budget is spent (the same error a full disk gives).
"""

from __future__ import annotations

import hashlib
import os

import pytest
import redis as redis_lib
from sqlalchemy import select

from models import Blob, Photo, Upload
from models.database import db
from ports import Ports
from ports.blobstore import LocalBlobStore
from server import create_app
from sync import uploads as tus
from tests.helpers.factories import make_device
from tests.helpers.faults import WriteBudget, can_mount, small_disk
from tests.helpers.uploads import tus_create, tus_head, tus_patch

pytestmark = pytest.mark.e2e
DISK_KB = 512


@pytest.fixture
def full_disk(database_url, redis_url, tmp_path, clock, monkeypatch):
    """An app whose blob store sits on a 512 KiB disk; yields (app, make_room)."""
    blob_root = tmp_path / "small-disk"
    if can_mount():
        mounted = small_disk(blob_root, DISK_KB)
        grow = mounted.__enter__()
    else:
        mounted, budget = None, WriteBudget(DISK_KB * 1024)
        monkeypatch.setattr(tus.os, "write", budget.write)

        def grow(_kb):
            budget.budget = 1 << 40

    redis_lib.Redis.from_url(redis_url).flushdb()
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "PORTS": Ports(clock=clock, blobs=LocalBlobStore(blob_root)),
        }
    )
    try:
        with application.app_context():
            yield application, grow
            db.session.remove()
            db.engine.dispose()
    finally:
        if mounted is not None:
            mounted.__exit__(None, None, None)


def test_a_full_disk_gives_507_keeps_no_partial_blob_and_the_upload_resumes_later(full_disk):
    app, make_room = full_disk
    client = app.test_client()
    _, token = make_device()
    data = os.urandom(1536 * 1024)  # three times what the disk holds
    sha = hashlib.sha256(data).hexdigest()
    location = tus_create(client, token, data)
    upload_id = location.rsplit("/", 1)[1]
    assert tus_patch(client, token, location, 0, data[: 128 * 1024]).status_code == 204

    full = tus_patch(client, token, location, 128 * 1024, data[128 * 1024 :])
    assert full.status_code == 507
    body = full.get_json()
    assert body["code"] == "upload.storage_full" and body["details"] == {"offset": 128 * 1024}
    assert full.headers["Retry-After"] and full.headers["Upload-Offset"] == str(128 * 1024)
    # nothing of the failed chunk counts: offset unchanged, staged file cut back, no blob, lock free
    assert tus_head(client, token, location).headers["Upload-Offset"] == str(128 * 1024)
    upload = db.session.get(Upload, upload_id, populate_existing=True)
    assert (upload.state, upload.offset, upload.lock_token) == ("receiving", 128 * 1024, None)
    blobs = app.extensions["dangan.ports"].blobs
    assert tus.staging_path(blobs, upload_id).stat().st_size == 128 * 1024
    assert db.session.scalar(select(Blob).where(Blob.sha256 == sha)) is None
    assert not blobs.exists(sha)

    make_room(8 * 1024)
    resumed = tus_patch(client, token, location, 128 * 1024, data[128 * 1024 :])
    assert resumed.status_code == 204 and resumed.headers["Upload-Offset"] == str(len(data))
    with blobs.open(sha) as stored:
        assert stored.read() == data
    assert db.session.get(Blob, sha).size == len(data)
    assert db.session.scalar(select(Photo).where(Photo.blob_sha256 == sha)) is None  # no push declared it yet
