"""tus uploads through the Flask app: protocol, integrity, locking, expiry, termination, sweeps."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, Blob, OutboxEvent, Photo, Upload
from models.database import db
from services.ports_access import ports
from services.upload_sweep import sweep_uploads
from sync import uploads as tus
from tests.helpers.factories import make_device
from tests.helpers.uploads import declare_photo

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class TusClient:
    """Speaks tus to the test app with a device token."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def headers(self, extra: dict | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **TUS, **(extra or {})}

    def create(
        self,
        data: bytes | None = None,
        *,
        length: int | None = None,
        photo_id: str | None = None,
        sha256: str | None = None,
        filename: str = "meter.jpg",
        body: bytes | None = None,
        headers: dict | None = None,
    ):
        photo_id = photo_id or str(uuid.uuid4())
        sha256 = sha256 or hashlib.sha256(data or b"").hexdigest()
        meta = f"photo_id {b64(photo_id)},sha256 {b64(sha256)},filename {b64(filename)},filetype {b64('image/jpeg')}"
        extra = {"Upload-Metadata": meta, **(headers or {})}
        if "Upload-Defer-Length" not in extra:
            extra.setdefault("Upload-Length", str(len(data) if length is None else length))
        if body is not None:
            extra["Content-Type"] = OCTETS
        return self.client.post("/api/v1/uploads", data=body, headers=self.headers(extra))

    def patch(self, location: str, offset: int, chunk: bytes, headers: dict | None = None):
        extra = {"Upload-Offset": str(offset), "Content-Type": OCTETS, **(headers or {})}
        return self.client.open(location, method="PATCH", data=chunk, headers=self.headers(extra))

    def head(self, location: str):
        return self.client.head(location, headers=self.headers())

    def delete(self, location: str):
        return self.client.delete(location, headers=self.headers())

    def upload(self, data: bytes, chunk: int, **create) -> str:
        created = self.create(data, **create)
        assert created.status_code == 201, created.get_json()
        location = created.headers["Location"]
        offset = 0
        while offset < len(data):
            response = self.patch(location, offset, data[offset : offset + chunk])
            assert response.status_code == 204, response.get_json()
            offset = int(response.headers["Upload-Offset"])
        return location


@pytest.fixture
def device(app):
    return make_device()


@pytest.fixture
def tus_client(client, device):
    return TusClient(client, device[1])


def photo_bytes(size: int = 300_000) -> bytes:
    return os.urandom(size)


def upload_row(location: str) -> Upload:
    return db.session.get(Upload, location.rsplit("/", 1)[1], populate_existing=True)


def audit_actions(upload_id: str) -> list[str]:
    return [
        e.action
        for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == upload_id).order_by(AuditEntry.id))
    ]


# --- discovery, CORS ---------------------------------------------------------------------------------


def test_options_advertises_version_extensions_max_size_and_checksum_algorithms(client):
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "checksum",
        "termination",
    }
    assert int(response.headers["Tus-Max-Size"]) == tus.UploadSettings().max_size
    assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5", "sha256"}


def test_browser_preflight_and_answers_expose_the_tus_headers(client, tus_client):
    preflight = client.options(
        "/api/v1/uploads/" + "a" * 32,
        headers={
            "Origin": "https://tablet.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "upload-offset, tus-resumable, authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"upload-offset", "tus-resumable", "authorization", "upload-metadata", "upload-checksum"} <= allowed
    data = photo_bytes(10)
    created = tus_client.create(data, headers={"Origin": "https://tablet.example"})
    exposed = {h.strip() for h in created.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "Upload-Offset", "Upload-Length", "Upload-Expires", "Tus-Resumable"} <= exposed


# --- the happy paths ---------------------------------------------------------------------------------


def test_chunked_upload_of_a_declared_photo_stores_verified_bytes_and_marks_the_photo_received(tus_client, device, app):
    data = photo_bytes()
    photo = declare_photo(device[0], data)
    location = tus_client.upload(data, chunk=64 * 1024, photo_id=photo.id)
    sha = hashlib.sha256(data).hexdigest()
    with ports().blobs.open(sha) as fh:
        assert fh.read() == data
    blob = db.session.get(Blob, sha)
    assert blob.size == len(data) and blob.sm3 is None  # SM3 is computed at stamping, from the stored bytes
    photo = db.session.get(Photo, photo.id, populate_existing=True)
    assert photo.state == "received" and photo.blob_sha256 == sha
    assert db.session.scalar(select(OutboxEvent).where(OutboxEvent.subject_id == photo.id)).event == "photo.received"
    upload = upload_row(location)
    assert upload.state == "finished" and upload.offset == len(data) and upload.sm3 is None
    assert audit_actions(upload.id) == ["upload.created", "upload.finished"]
    head = tus_client.head(location)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store" and head.headers["Tus-Resumable"] == "1.0.0"
    assert not list((ports().blobs.staging_dir() / "uploads").iterdir())


def test_creation_with_upload_stores_a_whole_photo_in_one_request(tus_client):
    data = photo_bytes(50_000)
    created = tus_client.create(data, body=data)
    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == str(len(data))
    assert upload_row(created.headers["Location"]).state == "finished"
    assert ports().blobs.exists(hashlib.sha256(data).hexdigest())


def test_deferred_length_is_set_by_a_later_patch(tus_client):
    data = photo_bytes(30_000)
    created = tus_client.create(data, headers={"Upload-Defer-Length": "1"})
    location = created.headers["Location"]
    assert tus_client.head(location).headers["Upload-Defer-Length"] == "1"
    first = tus_client.patch(location, 0, data[:10_000])
    assert first.status_code == 204
    last = tus_client.patch(location, 10_000, data[10_000:], {"Upload-Length": str(len(data))})
    assert last.status_code == 204 and last.headers["Upload-Length"] == str(len(data))
    assert upload_row(location).state == "finished"


def test_upload_first_then_the_push_claims_the_stored_blob(tus_client, device):
    data = photo_bytes(20_000)
    location = tus_client.upload(data, chunk=len(data))
    sha = hashlib.sha256(data).hexdigest()
    assert db.session.get(Blob, sha) is not None
    assert db.session.scalars(select(Photo).where(Photo.declared_sha256 == sha)).all() == []
    assert upload_row(location).state == "finished"


def test_digests_are_rebuilt_from_the_staged_file_when_no_running_state_is_cached(tus_client):
    data = photo_bytes(200_000)
    created = tus_client.create(data)
    location = created.headers["Location"]
    assert tus_client.patch(location, 0, data[:100_000]).status_code == 204
    tus.DIGESTS.forget(location.rsplit("/", 1)[1])  # as if another process or a restart took over
    assert tus_client.patch(location, 100_000, data[100_000:]).status_code == 204
    upload = upload_row(location)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()


def test_the_last_patch_does_not_rehash_the_file_when_another_process_wrote_the_middle(tus_client, monkeypatch):
    data = photo_bytes(300_000)
    location = tus_client.create(data).headers["Location"]
    assert tus_client.patch(location, 0, data[:100_000]).status_code == 204
    kept = tus.DIGESTS.take(location.rsplit("/", 1)[1], 100_000)  # the next PATCH lands on another process
    assert tus_client.patch(location, 100_000, data[100_000:200_000]).status_code == 204
    tus.DIGESTS.keep(location.rsplit("/", 1)[1], kept)  # and the last one back on this one

    def rehash(*args, **kwargs):
        raise AssertionError("the whole staged file was hashed again")

    monkeypatch.setattr(tus, "hash_file", rehash)
    assert tus_client.patch(location, 200_000, data[200_000:]).status_code == 204
    upload = upload_row(location)
    assert upload.state == "finished" and upload.sha256 == hashlib.sha256(data).hexdigest()


def test_an_upload_survives_a_new_app_on_the_same_database_and_data_dir(
    tus_client, app, database_url, redis_url, tmp_path, clock, device
):
    from ports import Ports
    from ports.blobstore import LocalBlobStore
    from server import create_app

    data = photo_bytes(120_000)
    location = tus_client.create(data).headers["Location"]
    assert tus_client.patch(location, 0, data[:70_000]).status_code == 204
    tus.DIGESTS.forget(location.rsplit("/", 1)[1])
    second = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "PORTS": Ports(clock=clock, blobs=LocalBlobStore(tmp_path / "blobs")),
        }
    )
    with second.app_context():
        other = TusClient(second.test_client(), device[1])
        assert other.head(location).headers["Upload-Offset"] == "70000"
        assert other.patch(location, 70_000, data[70_000:]).status_code == 204
        db.session.remove()
    assert upload_row(location).state == "finished"


def test_an_empty_photo_finishes_at_creation(tus_client):
    created = tus_client.create(b"")
    assert created.status_code == 201 and created.headers["Upload-Offset"] == "0"
    assert upload_row(created.headers["Location"]).state == "finished"


# --- integrity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
def test_checksummed_chunks_are_verified_and_a_mismatch_is_460_with_the_chunk_discarded(tus_client, algorithm):
    data = photo_bytes(40_000)
    location = tus_client.create(data).headers["Location"]
    good = f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data[:20_000]).digest()).decode()}"
    assert tus_client.patch(location, 0, data[:20_000], {"Upload-Checksum": good}).status_code == 204
    wrong = f"{algorithm} {base64.b64encode(hashlib.new(algorithm, b'other').digest()).decode()}"
    refused = tus_client.patch(location, 20_000, data[20_000:], {"Upload-Checksum": wrong})
    assert refused.status_code == 460 and refused.get_json()["code"] == "upload.checksum_mismatch"
    assert tus_client.head(location).headers["Upload-Offset"] == "20000"
    assert os.path.getsize(tus.staging_path(ports().blobs, location.rsplit("/", 1)[1])) == 20_000
    assert tus_client.patch(location, 20_000, data[20_000:]).status_code == 204
    assert upload_row(location).sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_that_does_not_match_its_declared_sha256_is_rejected_and_never_stored(tus_client, device):
    data = photo_bytes(30_000)
    declared = hashlib.sha256(b"what the tablet hashed").hexdigest()
    photo = declare_photo(device[0], b"what the tablet hashed")
    location = tus_client.create(data, sha256=declared, photo_id=photo.id).headers["Location"]
    refused = tus_client.patch(location, 0, data)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "upload.sha256_mismatch"
    assert body["details"] == {"declared": declared, "received": hashlib.sha256(data).hexdigest()}
    assert not ports().blobs.exists(hashlib.sha256(data).hexdigest())
    assert db.session.get(Photo, photo.id, populate_existing=True).state == "awaiting_upload"
    assert tus_client.head(location).status_code == 410
    again = tus_client.patch(location, 0, data)
    assert again.status_code == 410 and again.get_json()["code"] == "upload.rejected"
    assert audit_actions(upload_row(location).id) == ["upload.created", "upload.rejected"]


def test_a_retried_last_patch_is_answered_again_and_the_finish_fires_once(tus_client, device):
    data = photo_bytes(50_000)
    photo = declare_photo(device[0], data)
    location = tus_client.create(data, photo_id=photo.id).headers["Location"]
    assert tus_client.patch(location, 0, data[:25_000]).status_code == 204
    for _ in range(2):
        last = tus_client.patch(location, 25_000, data[25_000:])
        assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(data))
    assert audit_actions(upload_row(location).id).count("upload.finished") == 1
    events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.subject_id == photo.id)).all()
    assert len(events) == 1


def test_the_same_bytes_uploaded_twice_share_one_write_once_blob(tus_client):
    data = photo_bytes(10_000)
    first = tus_client.upload(data, chunk=len(data))
    second = tus_client.upload(data, chunk=4_000)
    assert upload_row(first).state == upload_row(second).state == "finished"
    assert db.session.scalars(select(Blob).where(Blob.sha256 == hashlib.sha256(data).hexdigest())).all()


def test_an_interrupted_finish_is_completed_by_the_next_head(tus_client, device, clock):
    data = photo_bytes(10_000)
    photo = declare_photo(device[0], data)
    location = tus_client.create(data, photo_id=photo.id).headers["Location"]
    upload = upload_row(location)
    # as if the server died after recording the digests, before moving the bytes
    path = tus.staging_path(ports().blobs, upload.id)
    path.write_bytes(data)
    upload.offset, upload.state = len(data), "finishing"
    upload.sha256 = hashlib.sha256(data).hexdigest()
    upload.lock_token, upload.lock_owner, upload.lock_expires_at = "f" * 32, "elsewhere:1", clock.now()
    db.session.commit()
    clock.advance(seconds=1)
    head = tus_client.head(location)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    assert upload_row(location).state == "finished"
    assert db.session.get(Photo, photo.id, populate_existing=True).state == "received"


# --- bad input ---------------------------------------------------------------------------------------


def test_wrong_offsets_are_409_and_name_the_stored_offset(tus_client):
    data = photo_bytes(10_000)
    location = tus_client.create(data).headers["Location"]
    assert tus_client.patch(location, 0, data[:4_000]).status_code == 204
    for offset in (0, 5_000):
        response = tus_client.patch(location, offset, data[offset : offset + 10])
        assert response.status_code == 409
        assert response.get_json()["code"] == "upload.offset_mismatch"
        assert response.get_json()["details"]["offset"] == 4_000


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({"Upload-Offset": "-1"}, 400, "upload.offset_invalid"),
        ({"Upload-Offset": "ten"}, 400, "upload.offset_invalid"),
        ({"Content-Type": "application/octet-stream"}, 415, "upload.content_type"),
        ({"Tus-Resumable": "0.2.2"}, 412, "upload.tus_version"),
        ({"Upload-Checksum": "crc32 AAAAAA=="}, 400, "upload.checksum_unsupported"),
    ],
)
def test_malformed_patches_get_their_status_and_code(tus_client, headers, status, code):
    location = tus_client.create(b"x" * 100).headers["Location"]
    response = tus_client.patch(location, 0, b"x" * 10, headers)
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert response.headers["Tus-Resumable"] == "1.0.0"
    if status == 412:
        assert response.headers["Tus-Version"] == "1.0.0"


def test_a_missing_tus_resumable_header_is_412(client, device):
    response = client.post("/api/v1/uploads", headers={"Authorization": f"Bearer {device[1]}", "Upload-Length": "1"})
    assert response.status_code == 412 and response.get_json()["code"] == "upload.tus_version"


@pytest.mark.parametrize(
    "extra, status, code",
    [
        ({"Upload-Length": "-5"}, 400, "upload.length_invalid"),
        ({"Upload-Length": str((1 << 30) + 1)}, 413, "upload.too_large"),
        ({"Upload-Length": "10", "Upload-Defer-Length": "1"}, 400, "upload.length_invalid"),
        ({"Upload-Metadata": "photo_id %%%"}, 400, "upload.metadata_invalid"),
        ({"Upload-Metadata": "filename " + b64("a.jpg")}, 400, "upload.metadata_invalid"),
    ],
)
def test_bad_creations_get_their_status_and_code(tus_client, extra, status, code):
    headers = tus_client.headers(
        {"Upload-Length": "10", "Upload-Metadata": f"photo_id {b64(str(uuid.uuid4()))},sha256 {b64('0' * 64)}", **extra}
    )
    response = tus_client.client.post("/api/v1/uploads", headers=headers)
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert db.session.query(Upload).count() == 0


def test_filenames_that_look_like_paths_are_refused(tus_client):
    response = tus_client.create(b"x", filename="../../blobs/objects/evil.jpg")
    assert response.status_code == 400 and response.get_json()["code"] == "upload.filename_invalid"


def test_a_body_longer_than_declared_is_413_and_nothing_is_kept(tus_client):
    location = tus_client.create(b"x" * 100).headers["Location"]
    response = tus_client.patch(location, 0, b"x" * 150)
    assert response.status_code == 413 and response.get_json()["code"] == "upload.exceeds_length"
    assert tus_client.head(location).headers["Upload-Offset"] == "0"


def test_an_upload_for_a_photo_declared_with_another_hash_is_409(tus_client, device):
    photo = declare_photo(device[0], b"the real photo")
    response = tus_client.create(b"something else", photo_id=photo.id)
    assert response.status_code == 409 and response.get_json()["code"] == "upload.photo_conflict"


def test_the_same_inspectors_other_tablet_may_upload_a_declared_photo_another_inspectors_may_not(client, device):
    """A tablet registered again (or the inspector's second tablet) replays its outbox and brings the bytes."""
    data = b"photo declared by the first tablet"
    photo = declare_photo(device[0], data)
    _again, token = make_device("inspector1")
    again = TusClient(client, token)
    created = again.create(data, photo_id=photo.id)
    assert created.status_code == 201, created.get_json()
    assert again.patch(created.headers["Location"], 0, data).status_code == 204
    assert db.session.get(Photo, photo.id).state == "received"
    _stranger, other_token = make_device("inspector2")
    refused = TusClient(client, other_token).create(data, photo_id=photo.id)
    assert refused.status_code == 409 and refused.get_json()["code"] == "upload.photo_conflict"


def test_unknown_and_malformed_upload_ids_are_404(tus_client):
    for upload_id in (uuid.uuid4().hex, "..%2f..%2fetc", "ABC"):
        response = tus_client.head(f"/api/v1/uploads/{upload_id}")
        assert response.status_code == 404
    response = tus_client.patch(f"/api/v1/uploads/{uuid.uuid4().hex}", 0, b"x")
    assert response.get_json()["code"] == "upload.unknown"


def test_another_devices_upload_is_403_and_untouched(client, tus_client):
    location = tus_client.create(b"x" * 10).headers["Location"]
    _, other_token = make_device("inspector2")
    other = TusClient(client, other_token)
    assert other.head(location).status_code == 403
    for response in (other.patch(location, 0, b"x" * 10), other.delete(location)):
        assert response.status_code == 403 and response.get_json()["code"] == "upload.not_owner"
    assert upload_row(location).state == "receiving" and upload_row(location).offset == 0


def test_a_revoked_token_cannot_continue_its_upload(runner, client, device):
    tus_client = TusClient(client, device[1])
    location = tus_client.create(b"x" * 10).headers["Location"]
    assert runner.invoke(args=["devices", "revoke", device[0].id]).exit_code == 0
    response = tus_client.patch(location, 0, b"x" * 10)
    assert response.status_code == 401 and response.get_json()["code"] == "auth.token_revoked"


def test_office_users_may_not_upload(client):
    from tests.helpers.api_client import ApiClient
    from tests.helpers.factories import PASSWORD, make_user

    make_user("archivist", "archivist")
    archivist = ApiClient(client)
    archivist.login("archivist", PASSWORD)
    response = archivist.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status_code == 403 and response.get_json()["code"] == "auth.forbidden"


# --- locking -----------------------------------------------------------------------------------------


def test_a_patch_while_another_holds_the_lock_is_423_and_changes_nothing(tus_client, clock):
    data = photo_bytes(1_000)
    location = tus_client.create(data).headers["Location"]
    upload = upload_row(location)
    assert tus.claim_lock(db.session, upload, clock.now(), timedelta(seconds=30))
    db.session.commit()
    response = tus_client.patch(location, 0, data)
    assert response.status_code == 423 and response.get_json()["code"] == "upload.locked"
    assert response.headers["Retry-After"]
    assert tus_client.head(location).headers["Upload-Offset"] == "0"
    clock.advance(seconds=31)  # the holder died without releasing: its lease runs out
    assert tus_client.patch(location, 0, data).status_code == 204


def _dead_local_owner() -> str:
    import socket
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{int(finished.stdout)}"


@pytest.mark.parametrize("where", ["another host", "this host, process gone"])
def test_a_lock_left_by_a_killed_request_is_taken_over_after_its_lease_and_not_before(tus_client, clock, where):
    data = photo_bytes(1_000)
    location = tus_client.create(data).headers["Location"]
    upload = upload_row(location)
    upload.lock_token = "d" * 32
    upload.lock_owner = "web-node-2.example:4242" if where == "another host" else _dead_local_owner()
    upload.lock_expires_at = clock.now() + timedelta(seconds=30)
    db.session.commit()
    clock.advance(seconds=29)
    refused = tus_client.patch(location, 0, data)
    assert refused.status_code == 423 and refused.get_json()["code"] == "upload.locked"
    assert tus_client.head(location).headers["Upload-Offset"] == "0"
    clock.advance(seconds=2)  # nobody renewed it: the lease has run out
    assert tus_client.patch(location, 0, data).status_code == 204
    assert upload_row(location).state == "finished"


def test_a_lock_of_another_host_counts_as_writing_until_its_lease_runs_out(app, tus_client, clock):
    app.config["UPLOAD_MAX_PARALLEL_PER_DEVICE"] = 1
    data = photo_bytes(1_000)
    held, waiting = (tus_client.create(data).headers["Location"] for _ in range(2))
    upload = upload_row(held)
    upload.lock_token, upload.lock_owner = "e" * 32, "web-node-2.example:4242"
    upload.lock_expires_at = clock.now() + timedelta(seconds=30)
    db.session.commit()
    assert tus_client.patch(waiting, 0, data).status_code == 429
    clock.advance(seconds=31)
    assert tus_client.patch(waiting, 0, data).status_code == 204


def test_only_one_of_two_lock_claims_wins(tus_client, clock):
    location = tus_client.create(b"x" * 10).headers["Location"]
    upload = upload_row(location)
    first = tus.claim_lock(db.session, upload, clock.now(), timedelta(seconds=30))
    db.session.commit()
    second = tus.claim_lock(db.session, upload_row(location), clock.now(), timedelta(seconds=30))
    db.session.commit()
    assert first and second is None


# --- expiry, termination, sweeps ---------------------------------------------------------------------


def test_an_expired_upload_answers_410_and_the_sweep_removes_its_bytes(tus_client, clock):
    data = photo_bytes(10_000)
    created = tus_client.create(data)
    location = created.headers["Location"]
    assert "GMT" in created.headers["Upload-Expires"]
    patched = tus_client.patch(location, 0, data[:5_000])
    expires = patched.headers["Upload-Expires"]
    assert expires.endswith("GMT")
    clock.advance(hours=25)
    response = tus_client.patch(location, 5_000, data[5_000:])
    assert response.status_code == 410 and response.get_json()["code"] == "upload.expired"
    path = tus.staging_path(ports().blobs, upload_row(location).id)
    assert path.exists()
    assert sweep_uploads(db.session, ports().blobs, clock.now())["expired"] == 1
    assert not path.exists() and upload_row(location).state == "expired"
    assert tus_client.head(location).status_code == 410
    assert sweep_uploads(db.session, ports().blobs, clock.now())["expired"] == 0


def test_activity_pushes_the_expiry_forward(tus_client, clock):
    data = photo_bytes(10_000)
    location = tus_client.create(data).headers["Location"]
    clock.advance(hours=20)
    assert tus_client.patch(location, 0, data[:5_000]).status_code == 204
    clock.advance(hours=20)
    assert tus_client.patch(location, 5_000, data[5_000:]).status_code == 204


def test_termination_drops_the_bytes_and_later_requests_get_410(tus_client):
    data = photo_bytes(10_000)
    location = tus_client.create(data).headers["Location"]
    tus_client.patch(location, 0, data[:5_000])
    path = tus.staging_path(ports().blobs, upload_row(location).id)
    assert tus_client.delete(location).status_code == 204
    assert not path.exists()
    assert tus_client.head(location).status_code == 410
    for response in (tus_client.patch(location, 5_000, data[5_000:]), tus_client.delete(location)):
        assert response.status_code == 410 and response.get_json()["code"] == "upload.terminated"
    assert audit_actions(upload_row(location).id) == ["upload.created", "upload.terminated"]


def test_a_finished_upload_cannot_be_terminated(tus_client):
    location = tus_client.upload(b"kept", chunk=4)
    response = tus_client.delete(location)
    assert response.status_code == 409 and response.get_json()["code"] == "upload.finished"


def test_method_override_lets_post_carry_patch_and_delete(tus_client):
    data = b"y" * 100
    location = tus_client.create(data).headers["Location"]
    response = tus_client.client.post(
        location,
        data=data,
        headers=tus_client.headers({"X-HTTP-Method-Override": "PATCH", "Upload-Offset": "0", "Content-Type": OCTETS}),
    )
    assert response.status_code == 204 and response.headers["Upload-Offset"] == "100"


def test_unclaimed_blobs_are_swept_after_the_grace_period_but_claimed_ones_never(tus_client, device, clock):
    claimed_data, unclaimed_data, late_data = photo_bytes(5_000), photo_bytes(5_000), photo_bytes(5_000)
    photo = declare_photo(device[0], claimed_data)
    tus_client.upload(claimed_data, chunk=5_000, photo_id=photo.id)
    unclaimed = tus_client.upload(unclaimed_data, chunk=5_000)
    late = tus_client.upload(late_data, chunk=5_000)
    blobs = ports().blobs
    shas = [hashlib.sha256(d).hexdigest() for d in (claimed_data, unclaimed_data, late_data)]
    clock.advance(days=6)
    assert sweep_uploads(db.session, blobs, clock.now())["unclaimed"] == 0
    declare_photo(device[0], late_data)  # the push arrives late, within the grace period
    clock.advance(days=2)
    assert sweep_uploads(db.session, blobs, clock.now())["unclaimed"] == 1
    assert blobs.exists(shas[0]) and blobs.exists(shas[2])
    assert not blobs.exists(shas[1]) and db.session.get(Blob, shas[1]) is None
    assert upload_row(unclaimed).state == "swept" and upload_row(late).state == "finished"
    assert "upload.swept" in audit_actions(upload_row(unclaimed).id)
    assert sweep_uploads(db.session, blobs, clock.now()) == {"expired": 0, "finished": 0, "unclaimed": 0}


def test_the_sweep_command_prints_what_it_did(runner, tus_client, clock):
    location = tus_client.create(b"z" * 100).headers["Location"]
    clock.advance(days=2)
    result = runner.invoke(args=["uploads", "sweep"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"expired": 1, "finished": 0, "unclaimed": 0}
    assert upload_row(location).state == "expired"


def test_a_creation_whose_first_chunk_fails_still_says_where_the_upload_is(tus_client):
    data = photo_bytes(1_000)
    wrong = "md5 " + base64.b64encode(hashlib.md5(b"not it").digest()).decode()
    response = tus_client.create(data, body=data, headers={"Upload-Checksum": wrong})
    assert response.status_code == 460
    location = response.headers["Location"]
    assert tus_client.head(location).headers["Upload-Offset"] == "0"
    assert tus_client.patch(location, 0, data).status_code == 204


# --- progress that survives a cut, the per-device cap, the size limit ------------------------------


class _KilledAfter:
    """A request body whose sender is killed after ``limit`` bytes (nothing in the app handles it)."""

    def __init__(self, data: bytes, limit: int, piece: int = 16_384):
        self.data, self.limit, self.piece, self.sent = data, limit, piece, 0

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.limit:
            raise SystemExit("the web worker was killed")
        n = min(self.piece, self.limit - self.sent, size if size and size > 0 else self.piece)
        out = self.data[self.sent : self.sent + n]
        self.sent += n
        return out

    def tell(self) -> int:
        return self.sent

    def seek(self, position: int, whence: int = 0) -> int:
        self.sent = len(self.data) if whence == 2 else position
        return self.sent


def test_a_patch_killed_midway_keeps_the_bytes_it_had_synced_and_resumes_from_them(app, tus_client, device):
    app.config["UPLOAD_PROGRESS_SECONDS"] = 0  # record after every read (the default is every 2 s)
    app.config["UPLOAD_READ_CHUNK_BYTES"] = 16_384
    data = photo_bytes(200_000)
    photo = declare_photo(device[0], data)
    location = tus_client.create(data, photo_id=photo.id).headers["Location"]
    body = _KilledAfter(data, 120_000)
    with pytest.raises(SystemExit):
        tus_client.client.open(
            location,
            method="PATCH",
            input_stream=body,
            headers=tus_client.headers(
                {"Upload-Offset": "0", "Content-Type": OCTETS, "Content-Length": str(len(data))}
            ),
        )
    offset = int(tus_client.head(location).headers["Upload-Offset"])
    assert 0 < offset <= 120_000
    assert tus_client.patch(location, offset, data[offset:]).status_code == 204
    assert ports().blobs.open(hashlib.sha256(data).hexdigest()).read() == data
    assert db.session.get(Photo, photo.id, populate_existing=True).blob_sha256 == hashlib.sha256(data).hexdigest()


def test_a_patch_with_a_checksum_records_no_progress_before_its_end(app, tus_client):
    app.config["UPLOAD_PROGRESS_SECONDS"] = 0
    app.config["UPLOAD_READ_CHUNK_BYTES"] = 16_384
    data = photo_bytes(100_000)
    location = tus_client.create(data).headers["Location"]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    with pytest.raises(SystemExit):
        tus_client.client.open(
            location,
            method="PATCH",
            input_stream=_KilledAfter(data, 50_000),
            headers=tus_client.headers(
                {
                    "Upload-Offset": "0",
                    "Content-Type": OCTETS,
                    "Content-Length": str(len(data)),
                    "Upload-Checksum": f"sha256 {digest}",
                }
            ),
        )
    assert tus_client.head(location).headers["Upload-Offset"] == "0"  # half a chunk cannot be verified


def test_a_device_writing_its_maximum_of_uploads_at_once_gets_429_for_one_more(app, tus_client, clock):
    app.config["UPLOAD_MAX_PARALLEL_PER_DEVICE"] = 2
    data = photo_bytes(1_000)
    locations = [tus_client.create(data).headers["Location"] for _ in range(3)]
    for location in locations[:2]:  # two PATCH requests of this device are streaming right now
        assert tus.claim_lock(db.session, upload_row(location), clock.now(), timedelta(seconds=30))
    db.session.commit()
    refused = tus_client.patch(locations[2], 0, data)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "upload.too_many_parallel"
    assert refused.get_json()["details"] == {"max": 2, "writing": 2}
    assert int(refused.headers["Retry-After"]) > 0
    assert tus_client.head(locations[2]).headers["Upload-Offset"] == "0"
    clock.advance(seconds=31)  # those requests ended (their locks ran out)
    assert tus_client.patch(locations[2], 0, data).status_code == 204


def test_a_single_streamed_patch_of_exactly_tus_max_size_is_accepted(app, tus_client):
    app.config["UPLOAD_MAX_BYTES"] = 50_000
    data = photo_bytes(50_000)
    location = tus_client.create(data).headers["Location"]
    # no Content-Length (chunked transfer): the server reads the body up to its limit
    response = tus_client.client.open(
        location,
        method="PATCH",
        input_stream=io.BytesIO(data),
        environ_overrides={"wsgi.input_terminated": True},
        headers=tus_client.headers({"Upload-Offset": "0", "Content-Type": OCTETS}),
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.headers["Upload-Offset"] == str(len(data))


class _Watched:
    """A request body that notes how many database connections are checked out while it is read."""

    def __init__(self, data: bytes, engine):
        self.data, self.engine, self.pos, self.seen = data, engine, 0, []

    def read(self, size: int = -1) -> bytes:
        self.seen.append(self.engine.pool.checkedout())
        out = self.data[self.pos : self.pos + min(size if size and size > 0 else 4096, 4096)]
        self.pos += len(out)
        return out

    def tell(self) -> int:
        return self.pos

    def seek(self, position: int, whence: int = 0) -> int:
        self.pos = len(self.data) if whence == 2 else position
        return self.pos


def test_a_patch_holds_no_database_connection_while_it_waits_for_body_bytes(app, tus_client):
    data = photo_bytes(50_000)
    location = tus_client.create(data).headers["Location"]
    db.session.remove()  # the test's own session gives its connection back
    body = _Watched(data, db.engine)
    response = tus_client.client.open(
        location,
        method="PATCH",
        input_stream=body,
        headers=tus_client.headers({"Upload-Offset": "0", "Content-Type": OCTETS, "Content-Length": str(len(data))}),
    )
    assert response.status_code == 204
    assert body.seen and set(body.seen) == {0}
