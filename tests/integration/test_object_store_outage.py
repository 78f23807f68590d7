"""The object store goes away while a photo upload completes: the tablet is told to retry, nothing
is lost, and the upload finishes once the store is back (a real SeaweedFS, stopped and restarted)."""

from __future__ import annotations

import hashlib
import os

import pytest
import redis as redis_lib

from models import Photo
from models.database import db
from server import create_app
from services.ports_access import ports
from tests.helpers.api_client import FreshRequestClient
from tests.helpers.factories import make_device
from tests.helpers.seaweedfs import SeaweedServer
from tests.helpers.uploads import declare_photo, tus_create, tus_head, tus_patch


@pytest.fixture
def object_store(tmp_path):
    """A SeaweedFS of this test's own (the session's shared one must not be stopped)."""
    server = SeaweedServer(tmp_path / "s3")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(database_url, redis_url, tmp_path, object_store):
    redis_lib.Redis.from_url(redis_url).flushdb()
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            **object_store.config(),
        }
    )
    application.test_client_class = FreshRequestClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def test_an_upload_completing_during_an_object_store_outage_is_503_and_finishes_after_it(app, client, object_store):
    device, token = make_device()
    data = os.urandom(400_000)
    photo = declare_photo(device, data)
    location = tus_create(client, token, data, photo.id)
    assert tus_patch(client, token, location, 0, data[:200_000]).status_code == 204

    object_store.stop()
    last = tus_patch(client, token, location, 200_000, data[200_000:])
    assert last.status_code == 503
    assert last.get_json()["code"] == "server.unavailable" and last.headers["Retry-After"] == "5"
    during = tus_head(client, token, location)
    assert during.status_code == 503  # the server is up and says why; no 500

    object_store.start()
    after = tus_head(client, token, location)
    assert after.status_code == 200 and after.headers["Upload-Offset"] == str(len(data))
    sha = hashlib.sha256(data).hexdigest()
    with ports().blobs.open(sha) as stored:
        assert stored.read() == data
    assert db.session.get(Photo, photo.id, populate_existing=True).state == "received"
