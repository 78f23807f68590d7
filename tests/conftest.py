"""Shared fixtures: a fresh migrated database per test, a real Redis, an app with fake clock."""

from __future__ import annotations

import os
import shutil

import pytest
import redis as redis_lib

from ports import Ports
from ports.blobstore import LocalBlobStore
from ports.clock import FakeClock
from server import create_app
from server.app import stores_from_config
from tests.helpers.api_client import ApiClient, FreshRequestClient
from tests.helpers.databases import databases
from tests.helpers.redis_server import redis_for_tests
from tests.helpers.seaweedfs import seaweedfs_for_tests


@pytest.fixture(scope="session")
def _session_root(tmp_path_factory):
    return tmp_path_factory.mktemp("dangan-session")


@pytest.fixture(scope="session")
def database_factory(_session_root):
    """Creates a fresh migrated database per test (SQLite or TEST_DATABASE_URL's PostgreSQL)."""
    factory = databases(_session_root)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def redis_url(_session_root):
    """URL of the Redis used by the whole session (embedded, or TEST_REDIS_URL)."""
    # unix socket paths are limited to ~100 bytes: keep the embedded server's dir short
    root = os.path.join("/tmp", f"dgr-{os.getpid()}")
    os.makedirs(root, exist_ok=True)
    with redis_for_tests(root) as url:
        yield url
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweedfs(_session_root):
    """A real SeaweedFS with an S3 gateway for the session, started by the first test that needs it."""
    with seaweedfs_for_tests(_session_root / "seaweedfs") as server:
        yield server


@pytest.fixture
def database_url(database_factory):
    """A fresh database for this test, dropped afterwards."""
    url = database_factory.create()
    yield url
    database_factory.drop(url)


@pytest.fixture
def clock():
    """The fake clock the app reads time from."""
    return FakeClock()


@pytest.fixture
def app(request, database_url, redis_url, tmp_path, clock):
    """A Dangan app on a fresh database, a flushed Redis and a temporary data dir.

    With ``TEST_BLOB_STORE=s3`` its blobs and bundles live in the session's SeaweedFS bucket
    (under a prefix of this test's own), built by the factory from the S3 settings.
    """
    redis_lib.Redis.from_url(redis_url).flushdb()
    ports = Ports(clock=clock, blobs=LocalBlobStore(tmp_path / "blobs"))
    if os.environ.get("TEST_BLOB_STORE") == "s3":
        settings = {**request.getfixturevalue("seaweedfs").config(), "DANGAN_DATA_DIR": str(tmp_path)}
        ports.blobs, ports.exports = stores_from_config(settings)
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "PORTS": ports,
        }
    )
    application.test_client_class = FreshRequestClient
    with application.app_context():
        yield application
        from models.database import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """Flask test client."""
    return app.test_client()


@pytest.fixture
def api(client):
    """API helper without credentials (set ``.token`` or call ``.login``)."""
    return ApiClient(client)


@pytest.fixture
def runner(app):
    """Flask CLI runner."""
    return app.test_cli_runner()
