"""`make run` on embedded defaults: migrates, loads demo data, serves health ok, stops cleanly on Ctrl-C."""
import signal
import subprocess

import pytest
import requests

from server import embedded_redis
from tests.helpers.live import free_port, start_runner, wait_for

pytestmark = pytest.mark.e2e


def test_runner_serves_health_ok_on_embedded_defaults_and_stops_on_ctrl_c(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    proc = start_runner(data_dir, port)
    try:
        health = wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=proc).json()
        assert health["status"] == "ok"
        assert health["checks"]["database"]["dialect"] == "sqlite"
        assert (data_dir / "dangan.sqlite3").exists()
        assert embedded_redis.is_up(embedded_redis.url_for(data_dir))
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and "登录" in login.text
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
