"""``make run``: embedded Redis (unless REDIS_URL is set), migrations, web server and one RQ worker.

Ctrl-C (or SIGTERM) stops the web server, the worker and the embedded Redis, in that order.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from ports import embedded_redis
from server.config import data_dir_from_env

DEMO_DONE = "demo-tablets.done"


def _flask(env: dict, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env,
                          check=True, text=True, capture_output=capture)


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
    return subprocess.Popen([sys.executable, "-m", "clients.demo_tablets", "--url", f"http://127.0.0.1:{port}",
                             "--devices", str(devices), "--work-dir", str(data_dir / "demo-tablets")],
                            env=env, stdout=subprocess.DEVNULL)


def _finish_demo_tablets(proc: subprocess.Popen, data_dir) -> None:
    if proc.returncode == 0:
        (data_dir / DEMO_DONE).write_text("synced\n")
        print("demo tablets synced their captures: see 审核队列 and 未关联采集", file=sys.stderr)
    else:
        print(f"demo tablets failed (status {proc.returncode}); they retry on the next start", file=sys.stderr)


def main() -> int:
    """Start everything and wait; returns the exit status."""
    data_dir = data_dir_from_env()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DANGAN_DATA_DIR=str(data_dir))
    port = env.get("PORT", "8000")
    procs: list[tuple[str, subprocess.Popen]] = []
    stopping = {"flag": False}

    def on_signal(signum, _frame):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    demo = None
    try:
        if not env.get("REDIS_URL"):
            procs.append(("redis", embedded_redis.start(data_dir)))
            env["REDIS_URL"] = embedded_redis.url_for(data_dir)
            print(f"embedded Redis at {env['REDIS_URL']}", file=sys.stderr)
        print("migrating the database …", file=sys.stderr)
        _flask(env, "db", "upgrade")
        if env.get("DANGAN_DEMO", "1") != "0":
            _flask(env, "demo", capture=True)
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                                "--workers", env.get("WEB_CONCURRENCY", "2"), "--timeout", "120",
                                "--access-logfile", "-", "wsgi:app"], env=env)
        worker = subprocess.Popen([sys.executable, "-m", "workers.run"], env=env)
        procs[:0] = [("web", web), ("worker", worker)]
        demo = _start_demo_tablets(env, data_dir, port)
        print(f"\nDangan is running at http://127.0.0.1:{port}/  (API: /api/v1, health: /api/v1/health)\n"
              "Log in as archivist, legal, manager or admin with password dangan-demo-2026 "
              "(demo data; set DANGAN_DEMO=0 to skip it).\nPress Ctrl-C to stop.\n", file=sys.stderr)
        while not stopping["flag"]:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(f"{name} exited with status {proc.returncode}; stopping", file=sys.stderr)
                    return 1
            if demo is not None and demo.poll() is not None:
                _finish_demo_tablets(demo, data_dir)
                demo = None
            time.sleep(0.5)
        print("stopping …", file=sys.stderr)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"start-up step failed: {' '.join(exc.cmd[3:])}\n{exc.stderr or ''}", file=sys.stderr)
        return 1
    finally:
        _stop(([("demo tablets", demo)] if demo is not None else []) + procs)


if __name__ == "__main__":
    sys.exit(main())
