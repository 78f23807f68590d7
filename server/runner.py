"""``make run``: embedded Redis (unless REDIS_URL is set), migrations, web server and one RQ worker.

The runner supervises its children: when the web server (gunicorn), the worker or the embedded
Redis exits, it is started again after a backoff (0.5 s, doubling up to 30 s; back to 0.5 s
once a child ran for a minute), while the others keep running. Ctrl-C (or SIGTERM) stops the
web server, the worker and the embedded Redis, in that order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable

from ports import embedded_redis
from server.config import data_dir_from_env

DEMO_DONE = "demo-tablets.done"


def _flask(env: dict, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, check=True, text=True, capture_output=capture
    )


BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0


def backoff(failures: int) -> float:
    """Seconds to wait before restarting a child that failed ``failures`` times in a row."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, failures - 1))


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill what is left of a dead child's process group (e.g. gunicorn workers of a killed master)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Child:
    """One supervised process: started by ``start``, restarted with backoff whenever it exits."""

    name: str
    start: Callable[[], subprocess.Popen]
    proc: subprocess.Popen | None = None
    failures: int = 0
    started_at: float = 0.0
    next_start: float = 0.0

    def supervise(self, now: float) -> None:
        """Start the child when it is due; note its death and schedule the restart."""
        if self.proc is not None:
            if self.proc.poll() is None:
                if self.failures and now - self.started_at >= STABLE_AFTER_S:
                    self.failures = 0
                return
            self.failures += 1
            self.next_start = now + backoff(self.failures)
            print(
                f"{self.name} exited with status {self.proc.returncode}; restarting it in {backoff(self.failures):g} s",
                file=sys.stderr,
            )
            _kill_group(self.proc)
            self.proc = None
        if now < self.next_start:
            return
        try:
            self.proc, self.started_at = self.start(), now
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            self.failures += 1
            self.next_start = now + backoff(self.failures)
            print(f"{self.name} could not start ({exc}); retrying in {backoff(self.failures):g} s", file=sys.stderr)


def _stop(procs: list[tuple[str, subprocess.Popen]]) -> None:
    for _name, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for name, proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in time; killing it", file=sys.stderr)
            proc.kill()
            proc.wait(timeout=5)


def _wait_healthy(port: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def _start_demo_tablets(env: dict, data_dir, port: str) -> subprocess.Popen | None:
    """On the first start with demo data, let the demo tablets capture and sync a few forms."""
    devices = data_dir / "demo-devices.json"
    if env.get("DANGAN_DEMO", "1") == "0" or not devices.exists() or (data_dir / DEMO_DONE).exists():
        return None
    if not _wait_healthy(port):
        print("the web server did not become healthy; skipping the demo tablets", file=sys.stderr)
        return None
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clients.demo_tablets",
            "--url",
            f"http://127.0.0.1:{port}",
            "--devices",
            str(devices),
            "--work-dir",
            str(data_dir / "demo-tablets"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _finish_demo_tablets(proc: subprocess.Popen, data_dir) -> None:
    if proc.returncode == 0:
        (data_dir / DEMO_DONE).write_text("synced\n")
        print("demo tablets synced their captures: see 审核队列 and 未关联采集", file=sys.stderr)
    else:
        print(f"demo tablets failed (status {proc.returncode}); they retry on the next start", file=sys.stderr)


def web_command() -> list[str]:
    """gunicorn with the serving model of :mod:`server.web_serving` (threads, read timeout, JSON refusals)."""
    return [sys.executable, "-m", "gunicorn", "--config", "python:server.web_serving", "wsgi:app"]


def main() -> int:
    """Start everything, restart what dies, and wait for Ctrl-C; returns the exit status."""
    data_dir = data_dir_from_env()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DANGAN_DATA_DIR=str(data_dir))
    port = env.setdefault("PORT", "8000")
    env.setdefault("WEB_CONCURRENCY", "2")
    children: list[Child] = []
    stopping = {"flag": False}

    def on_signal(signum, _frame):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    demo = None

    def spawn(*command: str) -> Callable[[], subprocess.Popen]:
        # its own process group: Ctrl-C reaches the runner only, which stops the children in order
        return lambda: subprocess.Popen(list(command), env=env, start_new_session=True)

    try:
        if not env.get("REDIS_URL"):
            redis_child = Child("redis", lambda: embedded_redis.start(data_dir))
            redis_child.supervise(time.monotonic())
            if redis_child.proc is None:
                print("the embedded Redis did not start", file=sys.stderr)
                return 1
            children.append(redis_child)
            env["REDIS_URL"] = embedded_redis.url_for(data_dir)
            print(f"embedded Redis at {env['REDIS_URL']}", file=sys.stderr)
        print("migrating the database …", file=sys.stderr)
        _flask(env, "db", "upgrade")
        if env.get("DANGAN_DEMO", "1") != "0":
            _flask(env, "demo", capture=True)
        children[:0] = [
            Child("web", spawn(*web_command())),
            Child("worker", spawn(sys.executable, "-m", "workers.run")),
        ]
        for child in children:
            child.supervise(time.monotonic())
        demo = _start_demo_tablets(env, data_dir, port)
        print(
            f"\nDangan is running at http://127.0.0.1:{port}/  (API: /api/v1, health: /api/v1/health)\n"
            "Log in as archivist, legal, manager or admin with password dangan-demo-2026 "
            "(demo data; set DANGAN_DEMO=0 to skip it).\nPress Ctrl-C to stop.\n",
            file=sys.stderr,
        )
        while not stopping["flag"]:
            for child in children:
                child.supervise(time.monotonic())
            if demo is not None and demo.poll() is not None:
                _finish_demo_tablets(demo, data_dir)
                demo = None
            time.sleep(0.2)
        print("stopping …", file=sys.stderr)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"start-up step failed: {' '.join(exc.cmd[3:])}\n{exc.stderr or ''}", file=sys.stderr)
        return 1
    finally:
        _stop(
            ([("demo tablets", demo)] if demo is not None else [])
            + [(child.name, child.proc) for child in children if child.proc is not None]
        )


if __name__ == "__main__":
    sys.exit(main())
