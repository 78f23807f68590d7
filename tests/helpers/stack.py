"""A live Dangan on loopback for fault and soak runs: gunicorn web processes plus RQ workers
(``python -m workers.run``) on a fresh database, with seeded inspectors, tablets and customers.

Used by ``tests/e2e/test_faults_*``, ``tests/soak`` and ``bench/soak.py``. Web processes can be
killed with SIGKILL and restarted; the access log (status, method, path per line) is kept so
runs can count server errors.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from tests.helpers.live import ROOT, free_port, wait_for

ACCESS_FORMAT = "%(s)s %(m)s %(U)s"


def seed(database_url: str, redis_url: str, data_dir: Path, tablets: int, customers_per_tablet: int = 2) -> list[dict]:
    """Create one inspector, one tablet and assigned customers per tablet; return [{token, account_nos}]."""
    from core.actor import CLI
    from models.database import db
    from server import create_app
    from services import sync_assignments
    from services.ports_access import ports
    from tests.helpers.factories import make_customer, make_device

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "live-stack",
        }
    )
    out = []
    with app.app_context():
        for n in range(tablets):
            accounts = [f"31{n:04d}{k:04d}" for k in range(customers_per_tablet)]
            for account in accounts:
                make_customer(account, f"测试客户{n}-{account[-4:]}")
            _, token = make_device(f"inspector{n + 1}")
            sync_assignments.assign(db.session, CLI, f"inspector{n + 1}", accounts, ports().clock.now())
            db.session.commit()
            out.append({"token": token, "account_nos": accounts})
        db.session.remove()
        db.engine.dispose()
    return out


@dataclass
class LiveStack:
    """gunicorn + workers on one database, Redis and data dir."""

    database_url: str
    redis_url: str
    data_dir: Path
    web_workers: int = 2
    extra_env: dict = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    web: subprocess.Popen | None = None
    workers: list = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL of the web server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        """The gunicorn access log: one ``status method path`` per request."""
        return self.data_dir / "access.log"

    def env(self) -> dict:
        """Environment of the web and worker processes (never the developer's database or Redis)."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TSA_URL")}
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "DANGAN_DATA_DIR": str(self.data_dir),
                "SECRET_KEY": "live-stack",
                "DANGAN_LOG_FORMAT": "text",
                "DANGAN_LOG_LEVEL": "WARNING",
                "DANGAN_DISPATCH_INTERVAL_SECONDS": "0.5",
                **self.extra_env,
            }
        )
        return env

    def start_web(self) -> None:
        """Start gunicorn with the product's serving model (``server.web_serving``); wait for health."""
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:server.web_serving",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                ACCESS_FORMAT,
                "--error-logfile",
                str(self.data_dir / "web.log"),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env(),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"{self.url}/api/v1/health", proc=self.web)

    def web_worker_pids(self) -> list[int]:
        """The pids of gunicorn's worker processes (children of the master)."""
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill_web(self) -> None:
        """SIGKILL the web server and all its worker processes."""
        os.killpg(self.web.pid, signal.SIGKILL)
        self.web.wait(timeout=10)

    def start_worker(self) -> subprocess.Popen:
        """Start one ``python -m workers.run`` process."""
        log = open(self.data_dir / f"worker-{len(self.workers)}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers.run"],
            cwd=ROOT,
            env=self.env(),
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        """Stop everything this stack started (SIGTERM, then SIGKILL after 15 s)."""
        procs = [p for p in [self.web, *self.workers] if p is not None and p.poll() is None]
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def statuses(self) -> list[tuple[int, str, str]]:
        """(status, method, path) of every request in the access log so far."""
        if not self.access_log.exists():
            return []
        out = []
        for line in self.access_log.read_text().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0].isdigit():
                out.append((int(parts[0]), parts[1], parts[2]))
        return out

    def server_errors(self) -> list[tuple[int, str, str]]:
        """Requests answered with a 5xx."""
        return [s for s in self.statuses() if s[0] >= 500]

    def read_blob(self, sha256: str) -> bytes:
        """The stored bytes of a blob (the local blob store under the data dir)."""
        return local_blob(self.data_dir / "blobs", sha256).read_bytes()


def local_blob(blobs_root: Path, sha256: str) -> Path:
    """Where the local blob store keeps the object of a SHA-256."""
    return blobs_root / "objects" / sha256[:2] / sha256[2:4] / sha256


def engine_for(database_url: str) -> sa.engine.Engine:
    """An engine without a pool, for reading the stack's database from the test."""
    return sa.create_engine(database_url, poolclass=sa.NullPool)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.25, check=None):
    """Poll ``predicate`` until it returns a truthy value; ``check`` runs each round (e.g. a process alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if check is not None:
            check()
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def audit_photos(engine: sa.engine.Engine, blobs: Path | Callable[[str], bytes]) -> dict:
    """Check every photo: stored bytes match the declared SHA-256; return counts by state and bytes.

    ``blobs`` is the local blob root, or a function that reads a stored object by its SHA-256 (a bucket).
    """
    read = blobs if callable(blobs) else lambda sha: local_blob(blobs, sha).read_bytes()
    states: dict[str, int] = {}
    mismatched, total_bytes = [], 0
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, state, declared_sha256, blob_sha256 FROM photos")).all()
    for photo_id, state, declared, blob in rows:
        states[state] = states.get(state, 0) + 1
        if blob is None:
            continue
        data = read(blob)
        total_bytes += len(data)
        if blob != declared or hashlib.sha256(data).hexdigest() != declared:
            mismatched.append(photo_id)
    return {"states": states, "mismatched": mismatched, "bytes": total_bytes, "photos": len(rows)}
