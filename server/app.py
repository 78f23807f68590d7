"""The application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_smorest import Api
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from ports import Ports, s3_objects, shared_keys
from ports import tsa as tsa_port
from ports.blobstore import BlobStore, LocalBlobStore
from ports.clock import SystemClock
from ports.exportstore import ExportStore, LocalExportStore
from ports.redis_connection import RedisConnection
from ports.s3_blobstore import S3BlobStore
from ports.s3_exportstore import S3ExportStore
from server import api as api_package
from server import cli, http_errors, logging_setup, masking, security, web
from server import config as config_module
from server.api.schemas import ErrorSchema
from server.auth import load_principal
from server.extensions import csrf, db, login_manager, migrate
from services import dispatch
from services.stamping_env import keys_dir

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


class BoundedInt(IntegerConverter):
    """``<int:…>`` in URLs, limited to the range of the database's integer keys.

    A larger number can name no row; unbounded, it reaches the database driver and fails there
    (integer overflow) instead of answering 404.
    """

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class DanganApi(Api):
    """flask-smorest whose default error responses in the OpenAPI document show the one error shape."""

    ERROR_SCHEMA = ErrorSchema


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL, enforced foreign keys and a busy timeout for every SQLite connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _load_config(app: Flask, config) -> None:
    base = config_module.TestConfig() if isinstance(config, dict) and config.get("TESTING") else config_module.Config()
    app.config.from_object(base)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    Path(app.config["DANGAN_DATA_DIR"]).mkdir(parents=True, exist_ok=True)


def stores_from_config(config) -> tuple[BlobStore, ExportStore]:
    """The blob and export stores ``BLOB_STORE`` names: unset, the local disk under the data dir; ``s3://…``, a bucket."""
    data_dir = config["DANGAN_DATA_DIR"]
    url = config.get("BLOB_STORE")
    if not url:
        return LocalBlobStore(os.path.join(data_dir, "blobs")), LocalExportStore(os.path.join(data_dir, "exports"))
    bucket, prefix = s3_objects.parse_url(url)
    client = s3_objects.make_client(
        config.get("AWS_ENDPOINT_URL"),
        config.get("AWS_REGION"),
        config.get("AWS_ACCESS_KEY_ID"),
        config.get("AWS_SECRET_ACCESS_KEY"),
    )
    # partial files only: uploads in progress and bundles being written, gone once stored; a cluster
    # puts the uploads' on a filesystem every web node mounts, so any node continues any upload
    staging = config.get("UPLOAD_STAGING_DIR") or os.path.join(data_dir, "blobs", "staging")
    blobs = S3BlobStore(client, bucket, prefix, staging)
    return blobs, S3ExportStore(client, bucket, prefix, os.path.join(data_dir, "exports-staging"))


def _ports(app: Flask, given: Ports | None) -> Ports:
    if given is not None:
        if given.exports is None:
            given.exports = stores_from_config(app.config)[1]
        return given
    blobs, exports = stores_from_config(app.config)
    tsa = tsa_port.from_config(
        keys_dir(app.config),
        app.config.get("TSA_URL"),
        app.config.get("TSA_CA_FILE"),
        create=not app.config.get("DANGAN_CLUSTER"),
    )
    return Ports(clock=SystemClock(), blobs=blobs, tsa=tsa, exports=exports)


def _check_shared_keys(app: Flask) -> None:
    """A cluster node starts only with the shared log key and (without ``TSA_URL``) the shared local TSA."""
    if not app.config.get("DANGAN_CLUSTER"):
        return
    directory = keys_dir(app.config)
    shared_keys.ensure_log_key(shared_keys.log_key_path(directory), create=False)
    if not app.config.get("TSA_URL") and not (shared_keys.tsa_dir(directory) / "openssl.cnf").exists():
        raise shared_keys.SharedKeyMissing("local TSA", shared_keys.tsa_dir(directory))


def build_app(config=None) -> Flask:
    """Build the app: config, logging, extensions, ports, blueprints, error handlers, CLI."""
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.url_map.converters["int"] = BoundedInt
    config = dict(config) if isinstance(config, dict) else config
    ports = config.pop("PORTS", None) if isinstance(config, dict) else None
    _load_config(app, config)
    _check_shared_keys(app)
    logging_setup.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    api = DanganApi(app)
    RedisConnection(app)
    security.init_app(app)
    masking.init_app(app)
    app.extensions["dangan.ports"] = _ports(app, ports)
    # new photo.received outbox rows are enqueued right after their commit (best effort)
    dispatch.init_app(app)

    app.before_request(load_principal)
    api_package.register(app, api)
    web.register(app)
    cli.register(app)
    http_errors.register(app)
    return app
