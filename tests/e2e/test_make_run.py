"""`make run` on embedded defaults: migrates, loads demo data, serves health ok, the demo tablets
sync stamped captures, and Ctrl-C stops everything."""

import signal
import sqlite3
import subprocess
import time

import pytest
import requests

from clients.demo_tablets import PLAN
from ports import embedded_redis
from tests.helpers.live import free_port, start_runner, wait_for, wait_for_status

pytestmark = pytest.mark.e2e


def _count(db_path, sql: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchone()[0]


def _wait_for_rows(db_path, sql: str, expected: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        try:
            found = _count(db_path, sql)
        except sqlite3.OperationalError:  # database busy or not migrated yet
            found = 0
        if found >= expected:
            return found
        time.sleep(0.5)
    return found


def test_runner_serves_health_ok_on_embedded_defaults_and_stops_on_ctrl_c(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    proc = start_runner(data_dir, port)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=proc)
        health = wait_for_status(f"http://127.0.0.1:{port}/api/v1/health", "ok", proc=proc)
        assert health["checks"]["worker"]["alive"] == 1
        assert health["checks"]["database"]["dialect"] == "sqlite"
        # the capture app is served from the committed files: nothing but Python needed
        for path in ("/capture/", "/capture/sw.js", "/capture/assets/app.js", "/capture/assets/vendor/tus.min.js"):
            assert requests.get(f"http://127.0.0.1:{port}{path}", timeout=10).status_code == 200, path
        db_path = data_dir / "dangan.sqlite3"
        assert db_path.exists()
        assert embedded_redis.is_up(embedded_redis.url_for(data_dir))
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and "登录" in login.text
        # the demo tablets push their forms and upload photos; the worker stamps every photo
        assert _wait_for_rows(db_path, "SELECT count(*) FROM captures", len(PLAN)) == len(PLAN)
        assert _count(db_path, "SELECT count(*) FROM captures WHERE link_state = 'unlinked'") == 1
        photos = _count(db_path, "SELECT count(*) FROM photos")
        assert photos >= len(PLAN)
        assert _wait_for_rows(db_path, "SELECT count(*) FROM photos WHERE state = 'ready'", photos) == photos
        deadline = time.monotonic() + 10
        while not (data_dir / "demo-tablets.done").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (data_dir / "demo-tablets.done").exists()  # not repeated on the next start
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output
    assert "Dangan is running at" in output and "dangan-demo-2026" in output
    assert not embedded_redis.is_up(embedded_redis.url_for(data_dir))
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
