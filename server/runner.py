"""``make run``: embedded Redis (unless REDIS_URL is set), migrations, web server and one RQ worker.

Ctrl-C (or SIGTERM) stops the web server, the worker and the embedded Redis, in that order.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server import embedded_redis
from server.config import data_dir_from_env


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
        print(f"\nDangan is running at http://127.0.0.1:{port}/  (API: /api/v1, health: /api/v1/health)\n"
              "Log in as archivist, legal, manager or admin with password dangan-demo-2026 "
              "(demo data; set DANGAN_DEMO=0 to skip it).\nPress Ctrl-C to stop.\n", file=sys.stderr)
        while not stopping["flag"]:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(f"{name} exited with status {proc.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        print("stopping …", file=sys.stderr)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"start-up step failed: {' '.join(exc.cmd[3:])}\n{exc.stderr or ''}", file=sys.stderr)
        return 1
    finally:
        _stop(procs)


if __name__ == "__main__":
    sys.exit(main())
