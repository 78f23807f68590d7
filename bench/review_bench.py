"""Queue page latency with a large backlog: median and p95 of the archivist's queue page, as JSON.

Every filter of the queue (class, district, inspector, kind, 户号, photo category, date, each
flag, 100 per page) in both orders, interleaved round after round, then keyset pages followed
one after the other in both orders; the goal is p95 ≤ 100 ms for every one of them.

    .venv/bin/python bench/review_bench.py --backends postgresql --pending 1000000
    .venv/bin/python bench/review_bench.py --backends sqlite --pending 100000
    .venv/bin/python bench/review_bench.py --quick                # smoke run, tiny sizes

PostgreSQL comes from ``BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``,
used to create and drop a scratch database). The whole HTML page is timed through the Flask test
client (query, evidence look-up, form summaries, template), logged in as an archivist.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DISTRICTS = ("城东供电所", "城西供电所", "城南供电所", "城北供电所", "滨江供电所", "萧山供电所")
CATEGORIES = ("meter", "seal", "wiring", "transformer", "scene")
# one detailed flag of each of the queue's pipeline flags, each on ≈4 % of stamped photos
PIPELINE_FLAGS = (
    "device_clock_skew",
    "gps_far_from_site",
    "exif_vs_device_mismatch",
    "edited_by_software",
    "exif_missing",
)
PASSWORD = "bench password 2026"
GOAL_P95_MS = 100.0
FORM = {
    "inspected_at": "2026-03-02T09:30:00+08:00",
    "inspection_type": "periodic",
    "meter_number": "3300123456781",
    "meter_readings": {"total": 12345.6},
    "seal_status": "intact",
    "wiring_status": "correct",
    "findings": "正常",
}


def _scratch_database(backend: str, workdir: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        path = workdir / "bench.sqlite3"
        return f"sqlite:///{path}", lambda: None
    admin_url = make_url(os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin_url = admin_url.set(drivername="postgresql+psycopg")
    name = f"dangan_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def _app(url: str, workdir: Path):
    from server import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": str(workdir),
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "bench",
        }
    )


def _chunks(rows, size=5000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


CHUNK = 10_000


def _load_chunk(conn, rng, now, key, devices, customers, first: int, last: int, pending: int) -> None:
    """Insert captures ``first``..``last`` with their revision, photo and (mostly) evidence rows."""
    from models import Capture, CaptureRevision, Photo
    from models.evidence import PhotoEvidence

    captures, revisions, photos, evidence = [], [], [], []
    for i in range(first, last):
        cid, pid = str(uuid.uuid4()), str(uuid.uuid4())
        device = devices[rng.randrange(20)]
        customer = customers[rng.randrange(2000)]
        received = now - timedelta(seconds=rng.randrange(90 * 86400))
        captures.append(
            {
                "id": cid,
                "device_id": device["id"],
                "inspector_id": device["inspector_id"],
                "kind": "usage_inspection",
                "schema_version": 2,
                "account_no": customer["account_no"],
                "customer_id": customer["id"],
                "link_state": "linked",
                "review_state": "pending" if i < pending else "approved",
                "current_revision": 1,
                "has_conflict": rng.random() < 0.01,
                "complete": rng.random() > 0.05,
                "review_version": 1,
                "device_created_at": received,
                "received_at": received,
            }
        )
        revisions.append(
            {
                "id": str(uuid.uuid4()),
                "capture_id": cid,
                "number": 1,
                "schema_version": 2,
                "payload": FORM,
                "payload_sha256": "0" * 64,
                "conflict": False,
                "received_at": received,
            }
        )
        photos.append(
            {
                "id": pid,
                "capture_id": cid,
                "device_id": device["id"],
                "slot": "meter",
                "category": CATEGORIES[rng.randrange(5)],
                "declared_sha256": key,
                "mime_type": "image/jpeg",
                "declared": {},
                "state": "ready",
                "blob_sha256": key,
                "received_at": received,
                "created_at": received,
                "device_captured_at": received,
            }
        )
        if rng.random() < 0.8:
            flags = [f for f in PIPELINE_FLAGS if rng.random() < 0.04]
            evidence.append(
                {
                    "photo_id": pid,
                    "evidence_no": f"EV-{i:08d}",
                    "steps_done": [],
                    "exif_raw": {},
                    "parsed": {},
                    "flags": flags,
                    "time_analysis": {"basis_code": "exif"},
                    "estimated_capture_at": received - timedelta(minutes=5),
                    "tsa_status": "granted" if rng.random() < 0.9 else "pending",
                    "tsa_attempts": 1,
                    "created_at": received,
                    "completed_at": received,
                }
            )
    for model, rows in (
        (Capture, captures),
        (CaptureRevision, revisions),
        (Photo, photos),
        (PhotoEvidence, evidence),
    ):
        for chunk in _chunks(rows):
            conn.execute(sa.insert(model), chunk)
    conn.commit()


def load(app, pending: int, seed: int = 7) -> dict:
    """Fill the database: customers, inspectors with tablets, ``pending`` captures with photos and evidence."""
    from werkzeug.security import generate_password_hash as hash_password

    from models import Blob, Customer, Device, Dossier, User
    from models.database import db

    rng = random.Random(seed)
    now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    with app.app_context():
        conn = db.session
        conn.execute(
            sa.insert(User),
            [
                {
                    "id": 1,
                    "username": "archivist",
                    "display_name": "李档案",
                    "role": "archivist",
                    "password_hash": hash_password(PASSWORD),
                    "active": True,
                    "failed_logins": 0,
                    "created_at": now,
                }
            ]
            + [
                {
                    "id": 10 + i,
                    "username": f"inspector{i}",
                    "display_name": f"检查员{i}",
                    "role": "inspector",
                    "active": True,
                    "failed_logins": 0,
                    "created_at": now,
                }
                for i in range(20)
            ],
        )
        devices = [
            {
                "id": str(uuid.uuid4()),
                "name": f"平板{i}",
                "inspector_id": 10 + i,
                "token_hash": hashlib.sha256(f"t{i}".encode()).hexdigest(),
                "created_at": now,
            }
            for i in range(20)
        ]
        conn.execute(sa.insert(Device), devices)
        customers = [
            {
                "id": i + 1,
                "account_no": f"{3100000000 + i}",
                "name": f"客户{i}",
                "district": DISTRICTS[i % 6],
                "voltage_class": "high" if i % 3 == 0 else "low",
                "usage_category": "residential",
                "latitude": 30.2 + (i % 100) / 1000,
                "longitude": 120.2 + (i % 97) / 1000,
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(2000)
        ]
        conn.execute(sa.insert(Customer), customers)
        conn.execute(
            sa.insert(Dossier),
            [{"customer_id": c["id"], "archive_no": f"KH-2026-{c['id']:06d}", "opened_at": now} for c in customers],
        )
        key = hashlib.sha256(b"bench photo").hexdigest()
        conn.execute(sa.insert(Blob), [{"sha256": key, "sm3": "0" * 64, "size": 100, "stored_at": now}])
        total = pending + pending // 20
        for first in range(0, total, CHUNK):
            _load_chunk(conn, rng, now, key, devices, customers, first, min(total, first + CHUNK), pending)
            conn.commit()
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
        return {
            "pending": pending,
            "inspector_id": 10,
            "account_no": customers[7]["account_no"],
            "day": (now - timedelta(days=3)).date().isoformat(),
        }


def _login(client):
    from tests.helpers.api_client import csrf_token_of

    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": "archivist", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.status_code


def _time(client, path: str) -> tuple[float, object]:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
    return elapsed, response


def scenarios(facts: dict) -> dict[str, str]:
    """Every filter of the queue, each in both orders (query strings of the queue page)."""
    from services.review_evidence import FLAGS

    filters = {
        "no filter": "",
        "class = high": "voltage_class=high",
        "district": f"district={DISTRICTS[2]}",
        "inspector": f"inspector_id={facts['inspector_id']}",
        "kind": "kind=usage_inspection",
        "户号": f"account_no={facts['account_no']}",
        "photo category": "category=transformer",
        "received on one day": f"date_from={facts['day']}&date_to={facts['day']}",
        **{f"flag: {flag}": f"flag={flag}" for flag in FLAGS},
        "100 per page": "limit=100",
    }
    out = {}
    for name, query in filters.items():
        for sort in ("received_asc", "received_desc"):
            out[f"{name} ({'oldest' if sort == 'received_asc' else 'newest'} first)"] = f"/review/queue?sort={sort}" + (
                f"&{query}" if query else ""
            )
    return out


def measure(app, facts: dict, requests: int) -> dict[str, list[float]]:
    """Latencies (ms) per scenario: every filter in both orders, then keyset pages followed both ways."""
    import re

    out: dict[str, list[float]] = {}
    with app.app_context():
        client = app.test_client()
        _login(client)
        _time(client, "/review/queue")  # warm caches and templates
        chosen = scenarios(facts)
        for _ in range(requests):  # interleaved: every scenario once per round
            for name, path in chosen.items():
                out.setdefault(name, []).append(_time(client, path)[0])
        for sort in ("received_asc", "received_desc"):
            deep, path = [], f"/review/queue?sort={sort}"
            for _ in range(requests * 2):  # walk page after page with the keyset cursor
                elapsed, response = _time(client, path)
                deep.append(elapsed)
                found = re.search(r'id="next-page" href="([^"]+)"', response.get_data(as_text=True))
                if not found:
                    break
                path = found.group(1).replace("&amp;", "&")
            out[f"following pages ({'oldest' if sort == 'received_asc' else 'newest'} first)"] = deep
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def run(backend: str, pending: int, requests: int) -> dict:
    """Build, fill, measure and drop one database; return the figures."""
    from tests.helpers.databases import migrate

    with tempfile.TemporaryDirectory(prefix="dangan-bench-") as tmp:
        workdir = Path(tmp)
        url, drop = _scratch_database(backend, workdir)
        try:
            migrate(url, str(workdir))
            app = _app(url, workdir)
            started = time.perf_counter()
            facts = load(app, pending)
            load_s = time.perf_counter() - started
            results = measure(app, facts, requests)
            with app.app_context():
                from models.database import db

                db.session.remove()
                db.engine.dispose()
        finally:
            drop()
    everything = [v for values in results.values() for v in values]
    return {
        "backend": backend,
        "pending": pending,
        "load_s": round(load_s, 1),
        "requests_per_scenario": requests,
        "goal_p95_ms": GOAL_P95_MS,
        "all_pages": {
            "n": len(everything),
            "median_ms": round(statistics.median(everything), 1),
            "p95_ms": round(_p95(everything), 1),
        },
        "worst_p95": max(((round(_p95(v), 1), k) for k, v in results.items())),
        "scenarios": {
            name: {"n": len(v), "median_ms": round(statistics.median(v), 1), "p95_ms": round(_p95(v), 1)}
            for name, v in results.items()
        },
    }


def main(argv=None) -> None:
    """Parse arguments and run the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15, help="requests per scenario")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.pending, args.requests = 2000, 2
    report = [run(backend.strip(), args.pending, args.requests) for backend in args.backends.split(",")]
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
