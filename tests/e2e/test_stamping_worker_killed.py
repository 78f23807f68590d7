"""A real worker process killed mid-job: another worker resumes the photo, with the same results, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import LogLeaf, Photo, PhotoEvidence, PipelineRun
from models.database import db
from ports.tsa import LocalTsa
from tests.helpers.images import make_jpeg
from tests.helpers.live import ROOT
from tests.helpers.received_photos import make_capture, received_photo
from tests.helpers.tools import require_command


class _SlowTsa(BaseHTTPRequestHandler):
    """An RFC 3161 server that hangs on the photo's digest while ``hold`` is set (worker caught mid-job).

    Other requests (log checkpoints, stamped by the dispatcher) are answered at once.
    """

    authority: LocalTsa = None
    hold = threading.Event()
    hit = threading.Event()
    photo_digest: bytes = b""

    def do_POST(self):  # noqa: N802 - http.server naming
        from asn1crypto import tsp

        body = self.rfile.read(int(self.headers["Content-Length"]))
        digest = tsp.TimeStampReq.load(body)["message_imprint"]["hashed_message"].native
        if self.hold.is_set() and digest == self.photo_digest:
            self.hit.set()
            time.sleep(60)
            return
        import tempfile

        with tempfile.TemporaryDirectory() as work:
            Path(work, "q.tsq").write_bytes(body)
            subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self.authority.directory / "openssl.cnf"),
                    "-queryfile",
                    str(Path(work, "q.tsq")),
                    "-out",
                    str(Path(work, "r.tsr")),
                ],
                check=True,
                capture_output=True,
            )
            answer = Path(work, "r.tsr").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    runs = db.session.scalars(select(PipelineRun)).all()
    state = [(r.subject_id, r.status, r.attempt, r.last_error) for r in runs]
    tail = ""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        tail = proc.communicate(timeout=15)[1][-3000:]
    raise AssertionError(f"timed out waiting for {what}; runs: {state}; worker log: {tail}")


def _workers_for(data_dir) -> list[int]:
    """Pids of live ``workers.run`` processes (and their children) serving ``data_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if b"workers.run" in cmdline and f"DANGAN_DATA_DIR={data_dir}".encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.timeout(180)
def test_killing_the_worker_mid_job_loses_nothing_and_repeats_nothing(app, database_url, redis_url, tmp_path):
    require_command("openssl")
    authority = LocalTsa(tmp_path / "external-tsa")
    authority.roots_pem()
    _SlowTsa.authority = authority
    _SlowTsa.hold.set()
    _SlowTsa.hit.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowTsa)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    photo = received_photo(make_jpeg(width=1200, height=900), make_capture())
    _SlowTsa.photo_digest = bytes.fromhex(photo.declared_sha256)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TSA_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "test",
            "TSA_URL": f"http://127.0.0.1:{server.server_port}/tsa",
            "TSA_CA_FILE": str(authority.directory / "ca.pem"),
            "DANGAN_STAMPING_LEASE_SECONDS": "3",
            "DANGAN_DISPATCH_INTERVAL_SECONDS": "0.5",
            "DANGAN_LOG_FORMAT": "text",
            "DANGAN_LOG_LEVEL": "WARNING",
        }
    )
    first = _worker(env)
    second = None
    try:
        if not _SlowTsa.hit.wait(90):
            first.terminate()
            raise AssertionError(f"the worker never asked the TSA: {first.communicate(timeout=15)[1][-3000:]}")
        # the request leaves right after hashing; the run goes on until its timestamp step waits for it
        _wait(lambda: db.session.get(Photo, photo.id).state == "derived", 60, "steps 1–4 committed", first)
        before = _wait(lambda: db.session.get(PhotoEvidence, photo.id), 10, "evidence row")
        snapshot = (
            before.sha256,
            before.sm3,
            before.thumbnail_key,
            before.preview_key,
            before.stamped_key,
            before.estimated_capture_at,
        )
        assert db.session.get(Photo, photo.id).state == "derived"  # the timestamp in flight
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert _workers_for(tmp_path) == []  # nothing of the killed worker lives on

        _SlowTsa.hold.clear()
        second = _worker(env)
        _wait(lambda: db.session.get(Photo, photo.id).state == "ready", 90, "the photo to be ready", second)
        after = db.session.get(PhotoEvidence, photo.id)
        assert (
            after.sha256,
            after.sm3,
            after.thumbnail_key,
            after.preview_key,
            after.stamped_key,
            after.estimated_capture_at,
        ) == snapshot
        assert after.tsa_status == "granted" and after.tsa_kind == "external"
        run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
        assert run.status == "done" and run.attempt == 2
        for event in ("received", "stamped"):
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(LogLeaf)
                    .where(LogLeaf.subject_id == photo.id, LogLeaf.event_type == event)
                )
                == 1
            )
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        server.shutdown()
