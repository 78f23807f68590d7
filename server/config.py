"""Configuration classes, read from the environment.

The documented variables are DATABASE_URL, REDIS_URL, DANGAN_DATA_DIR, SECRET_KEY, TSA_URL,
TSA_CA_FILE, DANGAN_KEYS_DIR, DANGAN_CLUSTER, UPLOAD_STAGING_DIR, BLOB_STORE and the standard AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION; everything else has a sane default and may be
overridden by a mapping passed to
``create_app(config=...)``.
"""

import os
from pathlib import Path

from ports import shared_keys


def data_dir_from_env() -> Path:
    """Return the data directory (``DANGAN_DATA_DIR``, default ``./var``) as an absolute path."""
    return Path(os.environ.get("DANGAN_DATA_DIR", "var")).resolve()


def sqlite_url(data_dir: Path) -> str:
    """Return the default SQLite database URL under the data dir."""
    return f"sqlite:///{data_dir / 'dangan.sqlite3'}"


class Config:
    """Settings for running the product (``make run``, gunicorn, the worker, the CLI)."""

    TESTING = False

    def __init__(self):
        data_dir = data_dir_from_env()
        self.DANGAN_DATA_DIR = str(data_dir)
        # one of several nodes: the shared secrets come from DANGAN_KEYS_DIR, none is made here
        self.DANGAN_CLUSTER = shared_keys.cluster_from_env()
        # None: the data dir (even one a caller's mapping sets) holds them
        self.DANGAN_KEYS_DIR = os.environ.get("DANGAN_KEYS_DIR", "").strip() or None
        self.SECRET_KEY = shared_keys.secret_key(
            shared_keys.keys_dir_from_env(data_dir), create=not self.DANGAN_CLUSTER
        )
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or sqlite_url(data_dir)
        # Unset means: start (or reuse) the embedded Redis under the data dir.
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.TSA_URL = os.environ.get("TSA_URL") or None
        # PEM root certificate(s) every token of the external TSA must chain to
        self.TSA_CA_FILE = os.environ.get("TSA_CA_FILE") or None
        self.SESSION_COOKIE_SECURE = os.environ.get("DANGAN_INSECURE_COOKIES") != "1"
        # Unset means: blobs and evidence bundles on the local disk under the data dir.
        self.BLOB_STORE = os.environ.get("BLOB_STORE") or None
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            setattr(self, name, os.environ.get(name) or None)
        # With BLOB_STORE: where partial uploads wait (a filesystem all web nodes mount, in a cluster).
        self.UPLOAD_STAGING_DIR = os.environ.get("UPLOAD_STAGING_DIR") or None

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Login backoff per (account name, address): the first LOGIN_FREE_FAILURES consecutive
    # failures cost nothing, then each failure doubles that pair's wait, starting at
    # LOGIN_BACKOFF_BASE_SECONDS, up to LOGIN_BACKOFF_MAX_SECONDS. No account is ever locked.
    LOGIN_FREE_FAILURES = 5
    LOGIN_BACKOFF_BASE_SECONDS = 1
    LOGIN_BACKOFF_MAX_SECONDS = 15 * 60
    LOGIN_FAILURE_MEMORY_SECONDS = 24 * 3600

    # Requests per tablet (valid device token) across the API, on top of the per-route limits.
    DEVICE_RATE_LIMIT = "1200 per minute"

    # Rate-limit storage (Redis) errors never fail a request: the limiter falls back to memory, and
    # a request racing that switch in another thread is let through instead of answered 500.
    RATELIMIT_SWALLOW_ERRORS = True

    # Import limits: a marketing-system export larger than this is refused before parsing.
    IMPORT_MAX_BYTES = 50 * 1024 * 1024

    # Scanned paper documents: the largest single file, and the largest intake request (several files).
    SCAN_MAX_BYTES = 200 * 1024 * 1024
    SCAN_MAX_REQUEST_BYTES = 4 * SCAN_MAX_BYTES

    # Request bodies are small JSON documents and forms; the routes in
    # server.security.BODY_LIMITS (tus uploads, sync push, file imports) set their own limits.
    MAX_JSON_BYTES = 2 * 1024 * 1024
    MAX_CONTENT_LENGTH = MAX_JSON_BYTES

    API_TITLE = "Dangan API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    LOG_FORMAT = os.environ.get("DANGAN_LOG_FORMAT", "json")
    LOG_LEVEL = os.environ.get("DANGAN_LOG_LEVEL", "INFO")


class TestConfig(Config):
    """Settings for the test suite: the fixtures pass the database and Redis URLs explicitly."""

    TESTING = True
    WTF_CSRF_ENABLED = True
    LOG_FORMAT = "text"
    LOG_LEVEL = "WARNING"

    def __init__(self):
        super().__init__()
        self.SESSION_COOKIE_SECURE = False
