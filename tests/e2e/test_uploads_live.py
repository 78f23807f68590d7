"""Real tus clients (tuspy, tus-js-client under Node) against a live gunicorn server.

Whole and chunked uploads, resume after the client is killed, resume after the server is
killed with SIGKILL mid-file, checksum failures, expiry and termination.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from tests.helpers.live import ROOT, free_port, wait_for
from tests.helpers.tools import missing

pytestmark = pytest.mark.e2e
JS_DIR = ROOT / "tests" / "js"


def require_node() -> str:
    """The node binary with tus-js-client installed; skip locally when missing, fail in CI."""
    node = shutil.which("node")
    if node and (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        return node
    missing("needs node and `npm ci` in tests/js (tus-js-client)")


class LiveServer:
    """gunicorn serving the app on a test database; can be killed with SIGKILL and restarted."""

    def __init__(self, database_url: str, redis_url: str, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "live-test",
            "DANGAN_LOG_FORMAT": "text",
            # a killed request's upload lock is a lease: a short one keeps the kill tests short
            "DANGAN_UPLOAD_LOCK_TTL_SECONDS": "3",
        }
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--timeout",
                "120",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"{self.url}/api/v1/health", proc=self.proc)

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture(scope="module")
def live(database_factory, redis_url, tmp_path_factory):
    """A live server on its own migrated database, with one registered tablet."""
    import redis as redis_lib

    from models.database import db
    from server import create_app
    from tests.helpers.factories import make_device

    redis_lib.Redis.from_url(redis_url).flushdb()
    database_url = database_factory.create()
    data_dir = tmp_path_factory.mktemp("live-uploads")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "live-test",
        }
    )
    with app.app_context():
        _, token = make_device()
        db.session.remove()
        db.engine.dispose()
    server = LiveServer(database_url, redis_url, data_dir)
    server.token = token
    server.database_url = database_url
    server.start()
    yield server
    server.stop()
    database_factory.drop(database_url)


@pytest.fixture
def engine(live):
    engine = sa.create_engine(live.database_url, poolclass=sa.NullPool)
    yield engine
    engine.dispose()


def photo_file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / f"photo-{uuid.uuid4().hex[:8]}.jpg"
    path.write_bytes(data)
    return path, data


def metadata_for(data: bytes, sha256: str | None = None) -> dict:
    return {
        "photo_id": str(uuid.uuid4()),
        "sha256": sha256 or hashlib.sha256(data).hexdigest(),
        "filename": "现场照片.jpg",
        "filetype": "image/jpeg",
    }


def upload_state(engine, location: str) -> dict:
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text("SELECT state, \"offset\", sha256, sm3 FROM uploads WHERE id = :id"), {"id": upload_id}
            )
            .mappings()
            .one()
        )
    return dict(row)


def assert_stored(live, engine, location: str, data: bytes) -> None:
    sha = hashlib.sha256(data).hexdigest()
    state = upload_state(engine, location)
    assert state == {
        "state": "finished",
        "offset": len(data),
        "sha256": sha,
        "sm3": None,  # computed at stamping, not while uploading
    }
    stored = live.data_dir / "blobs" / "objects" / sha[:2] / sha[2:4] / sha
    assert stored.read_bytes() == data
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT size FROM blobs WHERE sha256 = :s"), {"s": sha}).scalar() == len(data)


def tuspy(live) -> tus_client.TusClient:
    return tus_client.TusClient(f"{live.url}/api/v1/uploads", headers={"Authorization": f"Bearer {live.token}"})


def head_offset(live, location: str) -> requests.Response:
    return requests.head(
        location if location.startswith("http") else live.url + location,
        headers={"Authorization": f"Bearer {live.token}", "Tus-Resumable": "1.0.0"},
        timeout=10,
    )


# --- tuspy ------------------------------------------------------------------------------------------


def test_tuspy_uploads_a_whole_photo_in_one_patch(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 3 * 1024 * 1024)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data))
    uploader.upload()
    assert_stored(live, engine, uploader.url, data)


def test_tuspy_uploads_in_checksummed_chunks(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 2 * 1024 * 1024 + 123)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data), chunk_size=256 * 1024, upload_checksum=True)
    uploader.upload()
    assert_stored(live, engine, uploader.url, data)


CLIENT_SCRIPT = """
import json, sys
from tusclient import client
from tusclient.storage.filestorage import FileStorage
url, token, path, store, meta = sys.argv[1:6]
uploader = client.TusClient(url, headers={"Authorization": "Bearer " + token}).uploader(
    path, metadata=json.loads(meta), chunk_size=128 * 1024, store_url=True, url_storage=FileStorage(store),
    retries=3, retry_delay=1)
print(json.dumps({"url": uploader.url, "start": uploader.offset}), flush=True)
while uploader.offset < uploader.get_file_size():
    uploader.upload_chunk()
    print(json.dumps({"url": uploader.url, "offset": uploader.offset}), flush=True)
"""


def settled_offset(live, url: str, quiet_reads: int = 5, timeout: float = 15.0) -> int:
    """The stored offset once it stops moving: a killed client's last PATCH may still be committing."""
    deadline = time.monotonic() + timeout
    last, same = None, 0
    while time.monotonic() < deadline:
        offset = int(head_offset(live, url).headers["Upload-Offset"])
        same = same + 1 if offset == last else 0
        if same >= quiet_reads:
            return offset
        last = offset
        time.sleep(0.2)
    raise AssertionError(f"the offset of {url} kept moving")


def test_tuspy_resumes_where_it_stopped_after_the_client_was_killed(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 3 * 1024 * 1024)
    store, meta = str(tmp_path / "tus-urls.json"), json.dumps(metadata_for(data))
    args = [sys.executable, "-c", CLIENT_SCRIPT, f"{live.url}/api/v1/uploads", live.token, str(path), store, meta]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert json.loads(first.stdout.readline()) == {"url": None, "start": 0}
    for line in first.stdout:
        progress = json.loads(line)
        if progress["offset"] >= len(data) // 3:
            break
    first.kill()
    first.wait()
    url = progress["url"]
    stored_offset = settled_offset(live, url)
    assert progress["offset"] <= stored_offset < len(data)
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    resumed = json.loads(second.stdout.splitlines()[0])
    assert resumed == {"url": url, "start": stored_offset}
    assert_stored(live, engine, url, data)


def _half_a_patch(live, location: str, offset: int, chunk: bytes) -> socket.socket:
    """Send the headers and half the body of a PATCH, and leave it hanging."""
    sock = socket.create_connection(("127.0.0.1", live.port))
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {live.token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(chunk)}\r\n\r\n"
    )
    sock.sendall(head.encode() + chunk[: len(chunk) // 2])
    return sock


def test_tuspy_resumes_after_the_server_is_killed_mid_file(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 2 * 1024 * 1024)
    chunk = 256 * 1024
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data), chunk_size=chunk)
    for _ in range(3):
        uploader.upload_chunk()
    location = uploader.url.replace(live.url, "")
    hanging = _half_a_patch(live, location, uploader.offset, data[uploader.offset : uploader.offset + chunk])
    time.sleep(0.5)  # the server is inside that PATCH, holding the upload's lock
    live.kill9()
    hanging.close()
    live.start()
    assert head_offset(live, location).headers["Upload-Offset"] == str(3 * chunk)
    # the killed PATCH's lock holds until its lease runs out: tuspy's retries wait for it (423)
    resumed = tuspy(live).uploader(str(path), url=uploader.url, chunk_size=chunk, retries=10, retry_delay=1)
    assert resumed.offset == 3 * chunk
    resumed.upload()
    assert_stored(live, engine, uploader.url, data)


def test_a_chunk_with_a_wrong_checksum_is_refused_and_tuspy_then_completes(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 600 * 1024)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data), chunk_size=200 * 1024, upload_checksum=True)
    uploader.upload_chunk()
    import base64

    refused = requests.patch(
        uploader.url,
        data=data[uploader.offset : uploader.offset + 1000],
        timeout=10,
        headers={
            "Authorization": f"Bearer {live.token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(uploader.offset),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(b"tampered").digest()).decode(),
        },
    )
    assert refused.status_code == 460 and refused.json()["code"] == "upload.checksum_mismatch"
    assert head_offset(live, uploader.url).headers["Upload-Offset"] == str(200 * 1024)
    uploader.upload()
    assert_stored(live, engine, uploader.url, data)


def test_tuspy_is_told_when_the_file_does_not_match_its_declared_sha256(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 100 * 1024)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data, sha256="0" * 64))
    with pytest.raises(TusCommunicationError) as excinfo:
        uploader.upload()
    assert excinfo.value.status_code == 422
    assert json.loads(excinfo.value.response_content)["code"] == "upload.sha256_mismatch"
    assert upload_state(engine, uploader.url)["state"] == "rejected"


def test_an_expired_upload_is_410_for_tuspy_and_the_sweep_removes_its_bytes(live, engine, tmp_path):
    from models.database import db
    from ports.blobstore import LocalBlobStore
    from ports.clock import SystemClock
    from server import create_app
    from services.upload_sweep import sweep_uploads

    path, data = photo_file(tmp_path, 400 * 1024)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data), chunk_size=100 * 1024)
    uploader.upload_chunk()
    upload_id = uploader.url.rsplit("/", 1)[1]
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE uploads SET expires_at = :t WHERE id = :id"),
            {"t": SystemClock().now().replace(year=2020), "id": upload_id},
        )
    with pytest.raises(TusCommunicationError) as excinfo:
        tuspy(live).uploader(str(path), url=uploader.url, chunk_size=100 * 1024)
    assert excinfo.value.status_code == 410
    blobs = LocalBlobStore(live.data_dir / "blobs")
    staged = blobs.staging_dir() / "uploads" / f"{upload_id}.part"
    assert staged.exists()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": live.database_url,
            "REDIS_URL": live.env["REDIS_URL"],
            "DANGAN_DATA_DIR": str(live.data_dir),
            "SECRET_KEY": "live-test",
        }
    )
    with app.app_context():
        assert sweep_uploads(db.session, blobs, SystemClock().now())["expired"] >= 1
        db.session.remove()
        db.engine.dispose()
    assert not staged.exists() and upload_state(engine, uploader.url)["state"] == "expired"


def test_termination_over_http_drops_a_tuspy_upload(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 300 * 1024)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data), chunk_size=100 * 1024)
    uploader.upload_chunk()
    deleted = requests.delete(
        uploader.url, timeout=10, headers={"Authorization": f"Bearer {live.token}", "Tus-Resumable": "1.0.0"}
    )
    assert deleted.status_code == 204
    assert head_offset(live, uploader.url).status_code == 410
    assert upload_state(engine, uploader.url)["state"] == "terminated"


# --- tus-js-client under Node ----------------------------------------------------------------------


def run_js(live, file: Path, data: bytes, **options) -> subprocess.Popen:
    node = require_node()
    options = {
        "endpoint": f"{live.url}/api/v1/uploads",
        "file": str(file),
        "token": live.token,
        "metadata": options.pop("metadata", None) or metadata_for(data),
        **options,
    }
    return subprocess.Popen(
        [node, str(JS_DIR / "tus_upload.mjs"), json.dumps(options)],
        cwd=JS_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def events_of(proc: subprocess.Popen, timeout: float = 120) -> list[dict]:
    out, err = proc.communicate(timeout=timeout)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert events, err
    return events


def final(events: list[dict]) -> dict:
    return next(e for e in reversed(events) if e["event"] in ("success", "error", "terminated"))


def test_tus_js_client_uploads_a_whole_photo(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 3 * 1024 * 1024)
    result = final(events_of(run_js(live, path, data)))
    assert result["event"] == "success", result
    assert_stored(live, engine, result["url"], data)


def test_tus_js_client_uploads_in_chunks(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 1024 * 1024 + 7)
    events = events_of(run_js(live, path, data, chunkSize=200 * 1024))
    assert final(events)["event"] == "success"
    patches = [e for e in events if e["event"] == "response" and e["method"] == "PATCH"]
    assert len(patches) == 6 and all(e["status"] == 204 for e in patches)
    assert_stored(live, engine, final(events)["url"], data)


def _url_after_progress(proc: subprocess.Popen, threshold: int) -> str:
    url = None
    for line in proc.stdout:
        event = json.loads(line)
        url = event.get("url", url) if event["event"] == "url" else url
        if event["event"] == "progress" and event["sent"] >= threshold and url:
            return url
    raise AssertionError(f"no progress past {threshold}: {proc.stderr.read()}")


def test_tus_js_client_resumes_after_it_was_killed(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 2 * 1024 * 1024)
    meta = metadata_for(data)
    first = run_js(live, path, data, metadata=meta, chunkSize=128 * 1024)
    url = _url_after_progress(first, len(data) // 3)
    first.kill()
    first.wait()
    stored = settled_offset(live, url)
    assert 0 < stored < len(data)
    events = events_of(run_js(live, path, data, metadata=meta, chunkSize=128 * 1024, uploadUrl=url))
    assert final(events) == {"event": "success", "url": url}
    head = next(e for e in events if e["event"] == "response" and e["method"] == "HEAD")
    assert int(head["offset"]) == stored
    assert_stored(live, engine, url, data)


def test_tus_js_client_rides_out_a_server_killed_mid_file(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 3 * 1024 * 1024)
    proc = run_js(live, path, data, chunkSize=64 * 1024, retryDelays=[500, 1000, 2000, 4000, 8000, 8000])
    url = _url_after_progress(proc, len(data) // 4)
    live.kill9()
    live.start()
    out, err = proc.communicate(timeout=120)
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1] == {"event": "success", "url": url}, err
    heads = [e for e in events if e["event"] == "response" and e["method"] == "HEAD"]
    assert heads and int(heads[-1]["offset"]) > 0  # resumed, not restarted
    assert_stored(live, engine, url, data)


def test_tus_js_client_gets_the_sha256_rejection(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 200 * 1024)
    result = final(events_of(run_js(live, path, data, metadata=metadata_for(data, sha256="f" * 64))))
    assert result["event"] == "error" and result["status"] == 422
    assert json.loads(result["body"])["code"] == "upload.sha256_mismatch"


def test_tus_js_client_starts_over_when_its_upload_expired(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 1024 * 1024)
    meta = metadata_for(data)
    first = run_js(live, path, data, metadata=meta, chunkSize=128 * 1024)
    url = _url_after_progress(first, 256 * 1024)
    first.kill()
    first.wait()
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE uploads SET expires_at = :t WHERE id = :id"),
            {"t": "2020-01-01 00:00:00+00:00", "id": url.rsplit("/", 1)[1]},
        )
    assert head_offset(live, url).status_code == 410
    events = events_of(run_js(live, path, data, metadata=meta, chunkSize=128 * 1024, uploadUrl=url))
    result = final(events)
    assert result["event"] == "success" and result["url"] != url
    assert_stored(live, engine, result["url"], data)


def test_tus_js_client_terminates_its_upload(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 1024 * 1024)
    events = events_of(run_js(live, path, data, chunkSize=128 * 1024, terminateAfter=256 * 1024))
    result = final(events)
    assert result["event"] == "terminated"
    assert head_offset(live, result["url"]).status_code == 410
    assert upload_state(engine, result["url"])["state"] == "terminated"


def test_two_patches_at_once_one_wins_the_other_gets_423_and_no_byte_is_mixed(live, engine, tmp_path):
    path, data = photo_file(tmp_path, 400 * 1024)
    uploader = tuspy(live).uploader(str(path), metadata=metadata_for(data), chunk_size=200 * 1024)
    uploader.upload_chunk()
    location, offset = uploader.url.replace(live.url, ""), uploader.offset
    chunk = data[offset:]
    first = _half_a_patch(live, location, offset, chunk)
    time.sleep(0.5)  # the first PATCH holds the lock while its body trickles in
    second = requests.patch(
        uploader.url,
        data=os.urandom(len(chunk)),
        timeout=10,
        headers={
            "Authorization": f"Bearer {live.token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert second.status_code == 423 and second.json()["code"] == "upload.locked"
    first.sendall(chunk[len(chunk) // 2 :])
    reply = first.recv(4096).decode()
    first.close()
    assert reply.startswith("HTTP/1.1 204") and f"Upload-Offset: {len(data)}" in reply
    assert_stored(live, engine, uploader.url, data)
