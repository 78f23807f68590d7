"""With ``BLOB_STORE=s3://…`` the whole evidence path runs on the object store (a real SeaweedFS).

A tablet uploads over tus, the pipeline stamps, legal exports a bundle, the dossier is destroyed:
every photo lands byte for byte in the bucket, nothing of it stays on the web node's disk, the
bundle streams from the bucket, and destruction leaves no object (and no older version) behind.
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import redis as redis_lib

from models import Photo, PhotoEvidence
from models.database import db
from ports.blobstore import LocalBlobStore
from ports.exportstore import LocalExportStore, bundle_name
from ports.s3_blobstore import S3BlobStore
from ports.s3_exportstore import S3ExportStore
from server import create_app
from services.ports_access import ports
from tests.helpers.api_client import ApiClient, FreshRequestClient
from tests.helpers.destroyed import files_holding
from tests.helpers.factories import PASSWORD
from tests.helpers.images import make_jpeg
from tests.helpers.legal_world import ACCOUNT, export_bundle, pins_of, run_jobs
from tests.helpers.lifecycle_data import close, destroy, login
from tests.helpers.received_photos import make_capture, received_photo
from tests.helpers.seaweedfs import BUCKET, VERSIONED_BUCKET, bucket_objects
from verifier.check import verify_bundle


@pytest.fixture(params=[BUCKET, VERSIONED_BUCKET])
def app(request, database_url, redis_url, tmp_path, clock, seaweedfs):
    """The app built by the factory from the S3 settings (plain and versioned bucket); only the clock is a fake."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            **seaweedfs.config(request.param),
        }
    )
    application.extensions["dangan.ports"].clock = clock
    application.test_client_class = FreshRequestClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def _photo_bytes(photo_ids: list[str]) -> dict[str, bytes]:
    """SHA-256 → bytes of the originals and every derivative of these photos, read through the port."""
    out = {}
    for photo_id in photo_ids:
        evidence = db.session.get(PhotoEvidence, photo_id)
        for key in (evidence.sha256, evidence.thumbnail_key, evidence.preview_key, evidence.stamped_key):
            if key:
                with ports().blobs.open(key) as stream:
                    out[key] = stream.read()
    return out


def _tablet_files(directory) -> dict[str, bytes]:
    out = {}
    for name in os.listdir(directory):
        if name.endswith(".jpg"):
            with open(os.path.join(directory, name), "rb") as fh:
                data = fh.read()
            out[hashlib.sha256(data).hexdigest()] = data
    return out


def test_photos_and_bundles_live_in_the_bucket_and_destruction_leaves_nothing(app, client, clock, tmp_path_factory):
    blobs, exports = ports().blobs, ports().exports
    assert isinstance(blobs, S3BlobStore) and isinstance(exports, S3ExportStore)
    tablet_dir = tmp_path_factory.mktemp("tablet")
    export, photos = export_bundle(app, client, clock, tablet_dir)
    s3, bucket = blobs.client, blobs.bucket

    # every original is in the bucket byte for byte, as the tablet took it
    taken = _tablet_files(tablet_dir)
    stored = bucket_objects(s3, bucket, blobs.prefix + "/")
    for photo_id in photos:
        key = db.session.get(Photo, photo_id).blob_sha256
        assert stored[blobs.object_key(key)] == taken[key]
    contents = _photo_bytes(photos)
    assert set(taken) <= set(contents) and len(contents) == 4 * len(photos)

    # ... and no byte of any photo, original or derivative, is on the web node's disk
    data_dir = app.config["DANGAN_DATA_DIR"]
    assert files_holding(data_dir, contents) == []
    assert not os.path.exists(os.path.join(data_dir, "blobs", "objects"))
    assert not any(files for _d, _s, files in os.walk(os.path.join(data_dir, "blobs", "staging")))

    # the bundle is an object too, and downloads (streamed) intact and verifiable
    assert export.bundle_path == f"s3://{bucket}/{exports.object_key(export.id)}"
    bundle_bytes = stored[exports.object_key(export.id)]
    assert hashlib.sha256(bundle_bytes).hexdigest() == export.bundle_sha256
    legal = ApiClient(client)
    legal.login("lawyer", PASSWORD)
    download = legal.get(f"/api/v1/legal/exports/{export.id}/bundle")
    assert download.status_code == 200 and download.get_data() == bundle_bytes
    downloaded = tmp_path_factory.mktemp("download") / bundle_name(export.id)
    downloaded.write_bytes(bundle_bytes)
    assert verify_bundle(str(downloaded), pins_of(app, tmp_path_factory.mktemp("pins"))).ok

    close(client, ACCOUNT, "2021-03-02")
    report = destroy(client, [ACCOUNT])
    assert report["bundles_removed"] == 1
    archivist = login(client.application.test_client(), "archivist", "archivist")
    shown = archivist.get(f"/api/v1/lifecycle/destruction-records/{report['records'][0]}").get_json()
    assert shown["verification"]["ok"] is True and shown["verification"]["still_stored"] == []

    left = bucket_objects(s3, bucket, blobs.prefix + "/")
    assert not any(hashlib.sha256(data).hexdigest() in contents or bundle_bytes == data for data in left.values())
    gone = {blobs.object_key(key) for key in contents} | {exports.object_key(export.id)}
    versions = s3.list_object_versions(Bucket=bucket, Prefix=blobs.prefix + "/")
    assert [
        v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []) if v["Key"] in gone
    ] == []
    assert files_holding(data_dir, contents) == []

    # the check searches the bucket's bundles by hash: a copy of the old bundle put back is found
    s3.put_object(Bucket=bucket, Key=exports.object_key(99), Body=io.BytesIO(bundle_bytes))
    again = archivist.get(f"/api/v1/lifecycle/destruction-records/{report['records'][0]}").get_json()
    assert again["verification"]["ok"] is False and again["verification"]["bundles_still_stored"] == [99]


def test_bytes_changed_in_the_bucket_behind_the_products_back_halt_the_pipeline(app):
    photo = received_photo(make_jpeg(), make_capture())
    blobs = ports().blobs
    # an unconditional overwrite around the adapter (a bucket tool, a compromised key)
    blobs.client.put_object(Bucket=blobs.bucket, Key=blobs.object_key(photo.blob_sha256), Body=b"tampered")
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(PhotoEvidence, photo.id).hash_ok is False
    assert db.session.get(Photo, photo.id).state == "integrity_failed"


def test_the_factory_reads_blob_store_from_the_environment(monkeypatch, tmp_path, database_url, redis_url, seaweedfs):
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("DANGAN_DATA_DIR", str(tmp_path))
    for name, value in seaweedfs.config(BUCKET, "from-env/nested").items():
        monkeypatch.setenv(name, value)
    settings = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url}
    on_s3 = create_app(settings).extensions["dangan.ports"]
    assert isinstance(on_s3.blobs, S3BlobStore) and isinstance(on_s3.exports, S3ExportStore)
    assert (on_s3.blobs.bucket, on_s3.blobs.prefix) == (BUCKET, "from-env/nested")
    assert on_s3.exports.object_key(3) == "from-env/nested/exports/evidence-export-3.zip"
    data = b"read back through the bucket"
    key = hashlib.sha256(data).hexdigest()
    assert on_s3.blobs.put_bytes(key, data) is True
    assert seaweedfs.client().get_object(Bucket=BUCKET, Key=f"from-env/nested/blobs/{key}")["Body"].read() == data

    monkeypatch.delenv("BLOB_STORE")
    local = create_app(settings).extensions["dangan.ports"]
    assert isinstance(local.blobs, LocalBlobStore) and isinstance(local.exports, LocalExportStore)
    assert local.blobs.root == tmp_path / "blobs"
