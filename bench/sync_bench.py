"""Sync throughput and memory against a live gunicorn server, with a baseline in the same run.

Prints:
  * pushes/s (items and requests) for 1 tablet, then N concurrent tablets (reference client,
    batches of --batch items over HTTP);
  * pull pages/s for 1 tablet, then N concurrent tablets, each pulling its whole scope
    (--scope dossiers) in pages of --page;
  * the web worker's memory high-water mark (VmHWM) before and after the initial sync of one
    tablet whose inspector holds --dossiers dossiers (default 10,000), next to the growth for
    a tenth of that: equal growth means the initial sync runs in constant memory.

    .venv/bin/python bench/sync_bench.py [--devices 4] [--dossiers 10000] [--items 200] [--quick]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clients.device_client import DeviceClient, HttpTransport, PhotoFile  # noqa: E402
from tests.helpers.device import sample_data  # noqa: E402
from tests.helpers.live import free_port, wait_for  # noqa: E402


def prepare(data_dir: Path, url: str, devices: int, dossiers: int, scope: int) -> dict:
    """Migrate a fresh SQLite database and create tablets, customers and assignments."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from core.actor import CLI
    from models import Customer, Dossier
    from models.database import db
    from server import create_app
    from services import sync_assignments
    from services.ports_access import ports
    from tests.helpers.factories import make_device

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": str(data_dir),
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        upgrade()
        now = ports().clock.now()
        numbers = [f"7{i:09d}" for i in range(dossiers)]
        for start in range(0, dossiers, 2000):
            chunk = numbers[start : start + 2000]
            db.session.execute(
                insert(Customer),
                [
                    {
                        "account_no": n,
                        "name": f"客户{n}",
                        "address": f"杭州市某区某路 {n[-4:]} 号",
                        "voltage_class": "low",
                        "usage_category": "residential",
                        "status": "active",
                        "meter_number": f"33{n}",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in chunk
                ],
            )
        ids = dict(db.session.execute(db.select(Customer.account_no, Customer.id)).all())
        db.session.execute(
            insert(Dossier),
            [
                {"customer_id": ids[n], "archive_no": f"KH-2026-{i:06d}", "opened_at": now}
                for i, n in enumerate(numbers)
            ],
        )
        db.session.commit()
        tokens = {}
        for name, count in [("big", 1), ("tenth", 1), ("worker", devices)]:
            tokens[name] = []
            for k in range(count):
                inspector = f"bench-{name}-{k}"
                tokens[name].append(make_device(inspector)[1])
                share = {
                    "big": numbers,
                    "tenth": numbers[: dossiers // 10],
                    "worker": numbers[k * scope % dossiers :][:scope],
                }[name]
                sync_assignments.assign(db.session, CLI, inspector, share, now)
                db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens


def start_server(data_dir: Path, url: str, port: int) -> subprocess.Popen:
    """One gthread worker, so one process serves everything and its memory can be read."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DANGAN_DATA_DIR": str(data_dir),
        "SECRET_KEY": "bench",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DANGAN_LOG_FORMAT": "text",
        "DANGAN_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "-k",
            "gthread",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc=proc)
    return proc


def worker_pid(master: int) -> int:
    """The gunicorn worker (the master's only child)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def vm_hwm_kb(pid: int) -> int:
    """Peak resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def push_run(base: str, tokens: list[str], items: int, batch: int, tmp: Path) -> tuple[float, int, int]:
    """Each tablet captures ``items`` forms, then pushes them; return (seconds, items, requests)."""
    clients = []
    for k, token in enumerate(tokens):
        client = DeviceClient(
            str(tmp / f"push-{time.monotonic_ns()}-{k}.sqlite3"),
            HttpTransport(base, token),
            max_batch_items=batch,
            max_batch_bytes=1_000_000,
        )
        clients.append(client)
    photo = tmp / "p.jpg"  # each form declares its required photo (bytes are not uploaded here)
    photo.write_bytes(b"\xff\xd8\xff\xe0bench")
    for client in clients:
        for _ in range(items):
            client.capture(
                "site_survey",
                "7000000001",
                sample_data("site_survey", 1),
                photos=[PhotoFile(str(photo), "site", "scene")],
                schema_version=1,
            )
    requests_made = [0]
    lock = threading.Lock()

    def run(client):
        done = client.push()
        assert done.get("applied") == items, done
        with lock:
            requests_made[0] += -(-items // batch)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(run, clients))
    return time.perf_counter() - start, items * len(clients), requests_made[0]


def pull_run(base: str, tokens: list[str], page: int, tmp: Path) -> tuple[float, int, int]:
    """Each tablet pulls its whole scope from scratch; return (seconds, pages, changes)."""
    pages, changes, lock = [0], [0], threading.Lock()

    def run(token):
        transport = HttpTransport(base, token)
        cursor, n_pages, n_changes = None, 0, 0
        while True:
            params = {"limit": page, **({"cursor": cursor} if cursor else {})}
            answer = transport.get_json("/api/v1/sync/pull", params)
            assert answer.status == 200, answer.body
            n_pages += 1
            n_changes += len(answer.body["changes"])
            cursor = answer.body["cursor"]
            if not answer.body["has_more"]:
                break
        with lock:
            pages[0] += n_pages
            changes[0] += n_changes

    start = time.perf_counter()
    with ThreadPoolExecutor(len(tokens)) as pool:
        list(pool.map(run, tokens))
    return time.perf_counter() - start, pages[0], changes[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--dossiers", type=int, default=10_000)
    parser.add_argument("--scope", type=int, default=1000, help="dossiers per tablet in the pull run")
    parser.add_argument("--items", type=int, default=200, help="forms per tablet in the push run")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.dossiers, args.scope, args.items, args.devices = 2000, 200, 40, 2

    tmp = Path(tempfile.mkdtemp(prefix="dangan-sync-bench-"))
    data_dir = tmp / "var"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    t0 = time.perf_counter()
    tokens = prepare(data_dir, url, args.devices, args.dossiers, args.scope)
    print(
        f"setup: {args.dossiers} dossiers, {args.devices}+2 tablets in {time.perf_counter() - t0:.1f}s "
        f"(SQLite, gunicorn 1 worker × 8 threads, 2 shared cores)"
    )
    port = free_port()
    server = start_server(data_dir, url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        worker = worker_pid(server.pid)
        pull_run(base, tokens["worker"][:1], 1, tmp)  # warm-up: schemas published, imports done
        hwm_start = vm_hwm_kb(worker)
        secs, pages, changes = pull_run(base, tokens["tenth"], args.page, tmp)
        hwm_tenth = vm_hwm_kb(worker)
        secs_big, pages_big, changes_big = pull_run(base, tokens["big"], args.page, tmp)
        hwm_big = vm_hwm_kb(worker)
        print(
            f"initial sync, {changes} changes in {pages} pages: {secs:.2f}s; worker VmHWM "
            f"{hwm_start / 1024:.1f} → {hwm_tenth / 1024:.1f} MiB (+{(hwm_tenth - hwm_start) / 1024:.1f})"
        )
        print(
            f"initial sync, {changes_big} changes in {pages_big} pages: {secs_big:.2f}s; worker VmHWM "
            f"→ {hwm_big / 1024:.1f} MiB (+{(hwm_big - hwm_tenth) / 1024:.1f} more for 10× the dossiers)"
        )

        one = pull_run(base, tokens["worker"][:1], args.page // 5 or 1, tmp)
        many = pull_run(base, tokens["worker"], args.page // 5 or 1, tmp)
        rate_one, rate_many = one[1] / one[0], many[1] / many[0]
        print(
            f"pull pages/s (page {args.page // 5 or 1}): 1 tablet {rate_one:.1f}; {args.devices} concurrent "
            f"{rate_many:.1f} (×{rate_many / rate_one:.2f})"
        )

        p_one = push_run(base, tokens["worker"][:1], args.items, args.batch, tmp)
        p_many = push_run(base, tokens["worker"], args.items, args.batch, tmp)
        print(
            f"push items/s (batch {args.batch}): 1 tablet {p_one[1] / p_one[0]:.0f} "
            f"({p_one[2] / p_one[0]:.1f} requests/s); {args.devices} concurrent {p_many[1] / p_many[0]:.0f} "
            f"({p_many[2] / p_many[0]:.1f} requests/s, ×{(p_many[1] / p_many[0]) / (p_one[1] / p_one[0]):.2f})"
        )
        print(f"worker VmHWM at the end: {vm_hwm_kb(worker) / 1024:.1f} MiB")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
