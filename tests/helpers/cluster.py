"""Dangan as a cluster on one machine: web nodes behind nginx (round robin, no stickiness), workers
on their own data dirs, one database, one Redis, one SeaweedFS bucket and one shared keys dir.

No node shares a disk with another except the upload staging directory (``UPLOAD_STAGING_DIR``,
a shared filesystem in production) and the keys dir (copied to every node in production). Used by
``bench/cluster.py`` (``make cluster`` and the cluster soak) and ``tests/e2e/test_cluster.py``.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from models import Photo, PipelineRun
from ports import s3_objects
from tests.helpers import seaweedfs, soak
from tests.helpers.live import ROOT, free_port, wait_for
from tests.helpers.nginx import nginx_in_front

ACCESS_FORMAT = "%(s)s %(m)s %(U)s"
UPLOAD_PATH = re.compile(r"^/api/v1/uploads/([0-9a-f]+)")


@dataclass
class Node:
    """One web or worker process of the cluster, with its own data dir."""

    name: str
    data_dir: Path
    port: int | None = None
    proc: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        """Where a web node logs ``status method path`` per request."""
        return self.data_dir / "access.log"

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None


@dataclass
class ClusterStack:
    """Start, break and inspect a cluster; ``url`` is the load balancer's."""

    database_url: str
    redis_url: str
    work: Path
    object_store: seaweedfs.SeaweedServer
    web_nodes: int = 2
    workers: int = 2
    web_processes: int = 2
    bucket: str = seaweedfs.BUCKET
    prefix: str = field(default_factory=seaweedfs.new_prefix)
    url: str = ""
    nodes: list[Node] = field(default_factory=list)
    worker_nodes: list[Node] = field(default_factory=list)
    _lb = None

    @property
    def keys_dir(self) -> Path:
        """The shared keys dir every node reads (made once with ``python -m server.keys init``)."""
        return self.work / "keys"

    @property
    def staging_dir(self) -> Path:
        """The partial uploads every web node continues (a shared filesystem in production)."""
        return self.work / "upload-staging"

    def env(self, node: Node) -> dict:
        """Environment of one node: the shared services and secrets, its own data dir."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TSA_URL", "SECRET_KEY")}
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "DANGAN_DATA_DIR": str(node.data_dir),
                "DANGAN_CLUSTER": "1",
                "DANGAN_KEYS_DIR": str(self.keys_dir),
                "UPLOAD_STAGING_DIR": str(self.staging_dir),
                "DANGAN_LOG_FORMAT": "text",
                "DANGAN_LOG_LEVEL": "WARNING",
                "DANGAN_DISPATCH_INTERVAL_SECONDS": "0.5",
                **{k: str(v) for k, v in self.object_store.config(self.bucket, self.prefix).items()},
            }
        )
        return env

    def start(self) -> None:
        """Make the shared keys, start the web nodes, the workers and the load balancer."""
        subprocess.run(
            [sys.executable, "-m", "server.keys", "init", str(self.keys_dir)], cwd=ROOT, check=True, capture_output=True
        )
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.nodes = [Node(f"web-{i + 1}", self.work / f"web-{i + 1}", free_port()) for i in range(self.web_nodes)]
        self.worker_nodes = [Node(f"worker-{i + 1}", self.work / f"worker-{i + 1}") for i in range(self.workers)]
        for node in self.nodes:
            self.start_web(node)
        for node in self.worker_nodes:
            self.start_worker(node)
        self._lb = nginx_in_front([node.port for node in self.nodes], self.work / "nginx")
        self.url = self._lb.__enter__()

    def start_web(self, node: Node) -> None:
        """Start (or restart) one web node: gunicorn with the product's serving model."""
        node.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(node.data_dir / "app.log", "ab")  # the product's own log (stdout) of this node
        node.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:server.web_serving",
                "--bind",
                f"127.0.0.1:{node.port}",
                "--workers",
                str(self.web_processes),
                "--access-logfile",
                str(node.access_log),
                "--access-logformat",
                ACCESS_FORMAT,
                "--error-logfile",
                str(node.data_dir / "web.log"),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env(node),
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(f"http://127.0.0.1:{node.port}/api/v1/health", proc=node.proc, timeout=60)

    def start_worker(self, node: Node) -> None:
        """Start (or restart) one worker node (``python -m workers.run``)."""
        node.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(node.data_dir / "worker.log", "ab")
        node.proc = subprocess.Popen(
            [sys.executable, "-m", "workers.run"],
            cwd=ROOT,
            env=self.env(node),
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    @staticmethod
    def kill(node: Node) -> None:
        """SIGKILL a node and everything it started (kill -9)."""
        if node.alive():
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(timeout=10)

    def restart_object_store(self) -> None:
        """Stop SeaweedFS and start it again on the same data."""
        self.object_store.restart()

    def statuses(self) -> list[tuple[str, int, str, str]]:
        """(node, status, method, path) of every request the web nodes logged."""
        out = []
        for node in self.nodes:
            if not node.access_log.exists():
                continue
            for line in node.access_log.read_text().splitlines():
                parts = line.split(" ", 2)
                if len(parts) == 3 and parts[0].isdigit():
                    out.append((node.name, int(parts[0]), parts[1], parts[2]))
        return out

    def server_errors(self) -> list[tuple[int, str, str]]:
        """Requests a web node answered with a 5xx."""
        return [(status, method, path) for _, status, method, path in self.statuses() if status >= 500]

    def upload_nodes(self) -> dict[str, set[str]]:
        """Upload id → the web nodes that served its requests (creation, HEAD, PATCHes)."""
        served: dict[str, set[str]] = defaultdict(set)
        for node, _, _, path in self.statuses():
            match = UPLOAD_PATH.match(path)
            if match:
                served[match.group(1)].add(node)
        return served

    def read_blob(self, sha256: str) -> bytes:
        """A stored photo's bytes, read from the bucket."""
        client = self.object_store.client()
        return client.get_object(Bucket=self.bucket, Key=s3_objects.join(self.prefix, "blobs", sha256))["Body"].read()

    def files_left_on_disks(self) -> list[Path]:
        """Blob or upload files left on the nodes' disks and in the shared staging dir (there must be none)."""
        found = [p for p in self.staging_dir.rglob("*") if p.is_file()]
        for node in [*self.nodes, *self.worker_nodes]:
            for part in ("blobs", "exports"):
                if (node.data_dir / part).exists():
                    found.extend(p for p in (node.data_dir / part).rglob("*") if p.is_file())
        return found

    def stop(self) -> None:
        """Stop the load balancer and every node (SIGTERM, then SIGKILL)."""
        if self._lb is not None:
            self._lb.__exit__(None, None, None)
            self._lb = None
        for node in [*self.nodes, *self.worker_nodes]:
            if node.alive():
                os.killpg(node.proc.pid, signal.SIGTERM)
        for node in [*self.nodes, *self.worker_nodes]:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(node.proc.pid, signal.SIGKILL)
                    node.proc.wait(timeout=10)


def faults(stack: ClusterStack, seconds: float, log: list) -> threading.Thread:
    """Break the cluster on a schedule while the tablets work: a web node, a worker, the object store."""

    def run() -> None:
        started = time.monotonic()

        def at(fraction: float) -> None:
            time.sleep(max(0.0, started + fraction * seconds - time.monotonic()))

        def note(what: str) -> None:
            log.append({"at_s": round(time.monotonic() - started, 1), "fault": what})

        at(0.25)
        stack.kill(stack.nodes[0])
        note(f"kill -9 {stack.nodes[0].name}")
        time.sleep(3)
        stack.start_web(stack.nodes[0])
        note(f"{stack.nodes[0].name} restarted")
        at(0.45)
        stack.kill(stack.worker_nodes[0])
        note(f"kill -9 {stack.worker_nodes[0].name}")
        time.sleep(3)
        stack.start_worker(stack.worker_nodes[0])
        note(f"{stack.worker_nodes[0].name} restarted")
        at(0.65)
        stack.restart_object_store()
        note("object store restarted")

    thread = threading.Thread(target=run, name="faults", daemon=True)
    thread.start()
    return thread


def stamping_lag(database_url: str) -> dict:
    """Seconds from a photo's arrival to the end of its stamping run: median, p95, max."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            # through the models' column types: SQLite hands back text for a bare SELECT of a datetime
            rows = conn.execute(
                sa.select(Photo.received_at, PipelineRun.finished_at).join(
                    PipelineRun, (PipelineRun.subject_id == Photo.id) & (PipelineRun.event == "photo.received")
                )
            ).all()
    finally:
        engine.dispose()
    lags = sorted((finished - received).total_seconds() for received, finished in rows if received and finished)
    if not lags:
        return {"median_s": None, "p95_s": None, "max_s": None}
    return {
        "median_s": round(statistics.median(lags), 2),
        "p95_s": round(lags[min(len(lags) - 1, int(0.95 * len(lags)))], 2),
        "max_s": round(lags[-1], 2),
    }


def log_verify(stack: ClusterStack) -> dict:
    """``flask --app wsgi log verify`` run as a cluster node would; its exit status and verdict."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "log", "verify"],
        cwd=ROOT,
        env=stack.env(stack.worker_nodes[0]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"exit": done.returncode, "problems": [line for line in done.stderr.splitlines() if "problem" in line][:5]}


def soak_with_faults(stack: ClusterStack, tablets: list[dict], work: Path, seconds: float, think: float) -> dict:
    """Run the soak with the fault schedule; return the figures and every check."""
    fault_log: list = []
    breaker = faults(stack, seconds, fault_log)
    started = time.monotonic()
    figures = soak.run(
        stack,
        tablets,
        work / "tablets",
        seconds,
        think=think,
        extra_bytes=(300_000, 1_200_000),  # 2–6 PATCHes of 256 KiB each: uploads cross nodes
        drain_timeout=max(300, seconds),
    )
    breaker.join(timeout=60)
    elapsed = time.monotonic() - started
    spans = stack.upload_nodes()
    report = figures.as_dict()
    report.update(
        {
            "web_nodes": len(stack.nodes),
            "workers": len(stack.worker_nodes),
            "faults": fault_log,
            "captures_per_s": round(figures.captures / max(figures.seconds, 0.001), 2),
            "mb_per_s": round(figures.bytes / 1e6 / max(figures.seconds, 0.001), 2),
            "stamping_lag": stamping_lag(stack.database_url),
            "uploads": len(spans),
            "uploads_served_by_several_nodes": sum(1 for nodes in spans.values() if len(nodes) > 1),
            "files_left_on_disks": [str(p) for p in stack.files_left_on_disks()][:20],
            "log_verify": log_verify(stack),
            "wall_seconds": round(elapsed, 1),
        }
    )
    # Under injected faults a request may fail and be retried: a 503 (server.unavailable, the
    # object store restarting) or a sync attempt cut by a killed node is expected, and counted,
    # but only what was lost, duplicated, unstamped, wrong or a 500 is an error.
    answered_5xx = stack.server_errors()
    report["retry_later_answers"] = sum(1 for status, _, _ in answered_5xx if status == 503)
    report["server_errors"] = [f"{status} {method} {path}" for status, method, path in answered_5xx if status != 503]
    report["retried_client_errors"] = report.pop("client_errors")
    report["errors"] = (
        len(report["server_errors"])
        + len(report["missing_captures"])
        + len(report["unexpected_captures"])
        + report["not_sent"]
        + len(report["bad_photos"])
        + sum(report["not_stamped"].values())
        + len(report["stamped_twice"])
        + len(report["files_left_on_disks"])
        + (report["log_verify"]["exit"] != 0)
    )
    return report
