"""Start and stop real server processes for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Ask the OS for a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> requests.Response:
    """Poll ``url`` until it answers 200; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {url} answered")
        try:
            last = requests.get(url, timeout=2)
            if last.status_code == 200:
                return last
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s (last: {last})")


def wait_for_status(url: str, status: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> dict:
    """Poll the health report at ``url`` until its ``status`` is ``status``; return the report."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {url} said {status}")
        try:
            last = requests.get(url, timeout=5).json()
            if last.get("status") == status:
                return last
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} did not say {status} within {timeout}s (last: {last})")


def start_runner(data_dir: Path, port: int, extra_env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start ``python -m server.runner`` (what ``make run`` runs) in its own process group.

    Its output goes to a pipe (read it with ``communicate``) or, for long runs, to ``log``.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DANGAN_DATA_DIR": str(data_dir), "PORT": str(port), "WEB_CONCURRENCY": "1", **(extra_env or {})})
    output = open(log, "ab") if log is not None else subprocess.PIPE
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "server.runner"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=log is None,
            start_new_session=True,
        )
    finally:
        if log is not None:
            output.close()
