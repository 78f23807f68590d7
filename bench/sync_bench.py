"""Sync push throughput against the server as ``make run`` starts it, next to ODK Central's figure.

The server is gunicorn with ``-c python:server.web_serving`` (the processes and threads
``make run`` ships). Each tablet pushes batches of ``--batch`` new small captures (one form and
one photo declaration each) over one keep-alive HTTP connection; the scenarios (1 tablet and
``--devices`` tablets at once, each without and with a simulated round trip of ``--rtt-ms``) are
run interleaved, ``--repeat`` times, and the medians are printed as JSON:

* captures/s (all tablets together) and its ratio to ODK Central's published ≈41 submissions/s;
* server CPU per capture: user + system time of the gunicorn master and workers
  (``/proc/<pid>/stat``) over the run, divided by the captures pushed.

    .venv/bin/python bench/sync_bench.py                                  # SQLite
    .venv/bin/python bench/sync_bench.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/sync_bench.py --quick                          # smoke run, tiny sizes

``--database-url`` names a PostgreSQL server (and a database to connect to there): a scratch
database is created on it for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.helpers.device import sample_data  # noqa: E402
from tests.helpers.live import free_port, wait_for  # noqa: E402

ODK_CENTRAL_PER_S = 41.0  # ODK Central's published submission rate (issue #18)
ACCOUNTS = [f"7{i:09d}" for i in range(200)]


def scratch_database(database_url: str | None, workdir: Path) -> tuple[str, callable]:
    """A fresh database URL for the run (SQLite file, or a scratch PostgreSQL database) and its dropper."""
    if not database_url:
        return f"sqlite:///{workdir / 'bench.sqlite3'}", lambda: None
    admin_url = make_url(database_url).set(drivername="postgresql+psycopg")
    name = f"dangan_sync_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def prepare(data_dir: Path, url: str, devices: int) -> list[str]:
    """Migrate the database, load the customers the captures name and register the tablets."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from models import Customer
    from models.database import db
    from server import create_app
    from services.ports_access import ports
    from tests.helpers.factories import make_device

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "DANGAN_DATA_DIR": str(data_dir), "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    with app.app_context():
        upgrade()
        now = ports().clock.now()
        db.session.execute(
            insert(Customer),
            [
                {
                    "account_no": n,
                    "name": f"客户{n}",
                    "voltage_class": "low",
                    "usage_category": "residential",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in ACCOUNTS
            ],
        )
        db.session.commit()
        tokens = [make_device(f"bench-inspector-{k}")[1] for k in range(devices)]
        db.session.remove()
        db.engine.dispose()
    return tokens


def start_server(data_dir: Path, url: str, port: int) -> subprocess.Popen:
    """gunicorn exactly as ``make run`` starts it (``server.runner.web_command``)."""
    from server.runner import web_command

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DANGAN_DATA_DIR": str(data_dir),
        "SECRET_KEY": "bench",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "PORT": str(port),
        "WEB_ACCESS_LOG": "/dev/null",
        "DANGAN_LOG_FORMAT": "text",
        "DANGAN_LOG_LEVEL": "WARNING",
    }
    env.pop("WEB_BIND", None)
    proc = subprocess.Popen(
        web_command(), cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=proc)
    return proc


def server_cpu_s(master: int) -> float:
    """User + system CPU seconds of the gunicorn master and its workers so far."""
    pids = [master, *(int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split())]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def batch_body(batch: int) -> bytes:
    """A push of ``batch`` new small captures (a site survey with one declared photo each)."""
    items = []
    for i in range(batch):
        items.append(
            {
                "capture_id": str(uuid.uuid4()),
                "revision_id": str(uuid.uuid4()),
                "base_revision_id": None,
                "kind": "site_survey",
                "schema_version": 1,
                "account_no": ACCOUNTS[i % len(ACCOUNTS)],
                "device_time": "2026-03-02T17:31:00+08:00",
                "data": sample_data("site_survey", 1),
                "photos": [
                    {
                        "id": str(uuid.uuid4()),
                        "slot": "site",
                        "category": "scene",
                        "captured_at": "2026-03-02T17:25:03+08:00",
                        "sha256": uuid.uuid4().hex * 2,
                        "size": 1000,
                        "mime_type": "image/jpeg",
                        "filename": "IMG_0001.jpg",
                    }
                ],
            }
        )
    return json.dumps({"protocol": 1, "device_time": "2026-03-02T17:40:12+08:00", "items": items}).encode()


def tablet(port: int, token: str, bodies: list[bytes], rtt_s: float) -> int:
    """Push each body in turn on one connection, waiting ``rtt_s`` per request (the link); return captures applied."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    applied = 0
    try:
        for body in bodies:
            if rtt_s:
                time.sleep(rtt_s)
            conn.request(
                "POST",
                "/api/v1/sync/push",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            answer = conn.getresponse()
            document = json.loads(answer.read())
            if answer.status != 200:
                raise RuntimeError(f"push answered {answer.status}: {document}")
            applied += document["counts"]["applied"]
    finally:
        conn.close()
    return applied


def run_once(port: int, master: int, tokens: list[str], batches: int, batch: int, rtt_s: float) -> dict:
    """Every tablet pushes ``batches`` batches at once; return captures/s and server CPU ms per capture."""
    bodies = [[batch_body(batch) for _ in range(batches)] for _ in tokens]
    cpu0, start = server_cpu_s(master), time.perf_counter()
    with ThreadPoolExecutor(len(tokens)) as pool:
        applied = sum(pool.map(lambda k: tablet(port, tokens[k], bodies[k], rtt_s), range(len(tokens))))
    seconds, cpu = time.perf_counter() - start, server_cpu_s(master) - cpu0
    expected = len(tokens) * batches * batch
    if applied != expected:
        raise RuntimeError(f"{applied} of {expected} captures applied")
    return {"per_s": applied / seconds, "cpu_ms_per_capture": cpu * 1000 / applied}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to create a scratch database on")
    parser.add_argument("--devices", type=int, default=4, help="tablets pushing at once in the concurrent scenario")
    parser.add_argument("--batch", type=int, default=200, help="captures per push (the protocol's maximum is 200)")
    parser.add_argument("--batches", type=int, default=3, help="pushes per tablet per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rtt-ms", type=float, default=300.0, help="simulated round trip of the latency scenarios")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.devices, args.batch, args.batches, args.repeat, args.rtt_ms = 2, 5, 1, 1, 10.0

    tmp = Path(tempfile.mkdtemp(prefix="dangan-sync-bench-"))
    data_dir = tmp / "var"
    data_dir.mkdir()
    url, drop = scratch_database(args.database_url, tmp)
    try:
        tokens = prepare(data_dir, url, args.devices)
        port = free_port()
        server = start_server(data_dir, url, port)
        try:
            run_once(port, server.pid, tokens[:1], 1, min(args.batch, 5), 0.0)  # warm-up: imports, pools
            scenarios = {
                "1 tablet": (tokens[:1], 0.0),
                f"{args.devices} tablets": (tokens, 0.0),
                f"1 tablet, {args.rtt_ms:g} ms round trip": (tokens[:1], args.rtt_ms / 1000),
                f"{args.devices} tablets, {args.rtt_ms:g} ms round trip": (tokens, args.rtt_ms / 1000),
            }
            samples: dict[str, list[dict]] = {name: [] for name in scenarios}
            for _ in range(args.repeat):
                for name, (group, rtt_s) in scenarios.items():
                    samples[name].append(run_once(port, server.pid, group, args.batches, args.batch, rtt_s))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    finally:
        drop()
    report = {
        "database": "postgresql" if args.database_url else "sqlite",
        "server": "gunicorn -c python:server.web_serving (as make run)",
        "batch": args.batch,
        "batches_per_tablet": args.batches,
        "repeat": args.repeat,
        "reference": {"odk_central_submissions_per_s": ODK_CENTRAL_PER_S},
        "scenarios": {
            name: {
                "captures_per_s": round(statistics.median(s["per_s"] for s in runs), 1),
                "server_cpu_ms_per_capture": round(statistics.median(s["cpu_ms_per_capture"] for s in runs), 2),
                "ratio_to_odk_central": round(statistics.median(s["per_s"] for s in runs) / ODK_CENTRAL_PER_S, 2),
                "runs": len(runs),
            }
            for name, runs in samples.items()
        },
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
