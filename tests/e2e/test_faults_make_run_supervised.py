"""``make run`` under fire: its children are killed at random moments while 20 tablets push and upload.

Each child (a gunicorn web worker, the gunicorn master, the RQ worker, the embedded Redis) is
killed with SIGKILL several times; the runner (or gunicorn's master, for its workers) brings it
back by itself. Afterwards nothing is lost or duplicated, every stored photo matches its hash,
and every photo is stamped within 2 minutes of the last fault.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from ports import embedded_redis
from server.config import sqlite_url
from tests.helpers import soak
from tests.helpers.live import free_port, start_runner, wait_for, wait_for_status
from tests.helpers.stack import ACCESS_FORMAT, LiveStack, seed

pytestmark = pytest.mark.e2e

TABLETS = int(os.environ.get("DANGAN_FAULT_TABLETS", "20"))
SECONDS = float(os.environ.get("DANGAN_FAULT_SECONDS", "50"))
ROUNDS = 3  # each child is killed this many times
STAMPED_WITHIN_S = 120


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _find(runner_pid: int, child: str) -> int | None:
    """The pid of one child of ``make run``: web-master, web-worker, worker or redis."""
    for pid in _children(runner_pid):
        line = _cmdline(pid)
        if child == "redis" and "redis-server" in line:
            return pid
        if child == "worker" and "workers.run" in line:
            return pid
        if child.startswith("web") and "gunicorn" in line:
            if child == "web-master":
                return pid
            workers = _children(pid)
            return random.choice(workers) if workers else None
    return None


def _killer(runner_pid: int, plan: list[str], spread: float, log: list, stop: threading.Event) -> None:
    for child in plan:
        if stop.wait(random.uniform(0.5, spread)):
            return
        pid = None
        deadline = time.monotonic() + 20
        while pid is None and time.monotonic() < deadline and not stop.is_set():
            pid = _find(runner_pid, child)  # it may still be coming back from the previous kill
            if pid is None:
                time.sleep(0.2)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            log.append((time.monotonic(), child, pid))


@pytest.fixture
def runner_stack(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    port = free_port()
    proc = start_runner(
        data_dir,
        port,
        {
            "DANGAN_DEMO": "0",
            "WEB_CONCURRENCY": "2",
            "DANGAN_DISPATCH_INTERVAL_SECONDS": "0.5",
            "WEB_ACCESS_LOG": str(data_dir / "access.log"),
            "WEB_ACCESS_LOG_FORMAT": ACCESS_FORMAT,
            # a killed web process's upload lock is a lease (30 s by default): a short one lets the
            # tablets' tuspy retries (3 × 1 s) find it free, as they would at their next sync
            "DANGAN_UPLOAD_LOCK_TTL_SECONDS": "3",
        },
        log=tmp_path / "make-run.log",
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=proc, timeout=120)
        stack = LiveStack(sqlite_url(data_dir), embedded_redis.url_for(data_dir), data_dir, port=port)
        tablets = seed(stack.database_url, stack.redis_url, data_dir, tablets=TABLETS)
        yield proc, stack, tablets
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_make_run_comes_back_from_killed_children_and_loses_nothing(runner_stack, tmp_path):
    proc, stack, tablets = runner_stack
    plan = [child for _ in range(ROUNDS) for child in random.sample(["web-worker", "worker", "redis"], 3)]
    plan.insert(len(plan) // 2, "web-master")
    kills: list = []
    stop = threading.Event()
    killer = threading.Thread(target=_killer, args=(proc.pid, plan, 2 * SECONDS / (len(plan) + 1), kills, stop))
    killer.start()
    try:
        figures = soak.run(
            stack,
            tablets,
            tmp_path / "tablets",
            SECONDS,
            think=1.0,
            extra_bytes=(20_000, 120_000),
            drain_timeout=STAMPED_WITHIN_S,
        )
    finally:
        stop.set()
        killer.join(timeout=30)
    assert proc.poll() is None, "make run itself must never stop"
    assert {child for _t, child, _p in kills} == {"web-worker", "web-master", "worker", "redis"}, kills
    assert len(kills) >= 3 * ROUNDS
    assert figures.not_stamped == {}, figures.as_dict()
    # every photo was stamped within 2 minutes of the last fault (the drain waits at most that long)
    assert time.monotonic() - kills[-1][0] <= STAMPED_WITHIN_S
    assert figures.missing_captures == [] and figures.unexpected_captures == [], figures.as_dict()
    assert figures.not_sent == 0 and figures.bad_photos == [] and figures.stamped_twice == [], figures.as_dict()
    assert figures.captures > 0 and figures.stamped == figures.photos
    assert figures.server_errors == [], figures.server_errors
    health = wait_for_status(f"{stack.url}/api/v1/health", "ok", timeout=60)
    assert health["checks"]["redis"]["ok"] and health["checks"]["worker"]["ok"]
    assert requests.get(f"{stack.url}/login", timeout=10).status_code == 200
