"""Legal retrieval figures: search latency on many photo rows, export throughput and peak memory.

    .venv/bin/python bench/legal_bench.py                       # 1,000,000 rows, 1 GB bundle
    .venv/bin/python bench/legal_bench.py --rows 50000 --bundle-mb 64   # a quick run
    .venv/bin/python bench/legal_bench.py --part export --bundle-mb 12 --log-leaves 1000000
                                        # a few photos exported from a log of a million leaves

Each part runs in its own process so the export's peak memory is its own. The database is a
temporary SQLite file unless ``DATABASE_URL`` names another (it must be empty: migrations run).
``--log-leaves N`` puts N evidence log leaves and their stored subtrees in the log before the
export's photos (bulk-inserted as ``bench/log_bench.py`` does), so the bundle's proofs are
made in a log of that size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)


def make_app(data_dir: str):
    """An app on a fresh migrated database under ``data_dir``."""
    from flask_migrate import upgrade

    from server import create_app

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir}/bench.sqlite3"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": data_dir,
            "SECRET_KEY": "bench",
            "REDIS_URL": "redis://unused",
            "DISPATCH_ON_COMMIT": False,
        }
    )
    with app.app_context():
        upgrade()
    return app


def _insert(session, table, rows):
    if rows:
        session.execute(table.insert(), rows)


def fill(app, rows: int, chunk: int = 20_000) -> dict:
    """Insert ``rows`` photos with evidence (and their customers, inspectors, devices, captures) in bulk."""
    from models import Capture, Customer, Device, Photo, PhotoEvidence, User
    from models.database import db

    rng = random.Random(7)
    customers = max(10, rows // 50)
    with app.app_context():
        session = db.session
        _insert(
            session,
            User.__table__,
            [
                {
                    "id": i,
                    "username": f"insp{i}",
                    "display_name": f"检查员{i}",
                    "role": "inspector",
                    "active": True,
                    "failed_logins": 0,
                    "created_at": START,
                }
                for i in range(1, 51)
            ],
        )
        _insert(
            session,
            Device.__table__,
            [
                {
                    "id": f"dev-{i}",
                    "name": f"平板{i}",
                    "inspector_id": i,
                    "token_hash": uuid.uuid4().hex * 2,
                    "created_at": START,
                }
                for i in range(1, 51)
            ],
        )
        sites = {}
        for start in range(0, customers, chunk):
            batch = []
            for c in range(start, min(customers, start + chunk)):
                lat, lon = 30.0 + rng.random(), 120.0 + rng.random()
                sites[c + 1] = (lat, lon)
                batch.append(
                    {
                        "id": c + 1,
                        "account_no": f"31{c:08d}",
                        "name": f"客户{c}号有限公司",
                        "latitude": lat,
                        "longitude": lon,
                        "voltage_class": "low",
                        "usage_category": "residential",
                        "status": "active",
                        "created_at": START,
                        "updated_at": START,
                    }
                )
            _insert(session, Customer.__table__, batch)
        session.commit()
        captures = max(1, rows // 5)
        for start in range(0, captures, chunk):
            batch = []
            for k in range(start, min(captures, start + chunk)):
                customer = k % customers + 1
                inspector = k % 50 + 1
                batch.append(
                    {
                        "id": f"cap-{k:09d}",
                        "device_id": f"dev-{inspector}",
                        "inspector_id": inspector,
                        "kind": "usage_inspection",
                        "schema_version": 2,
                        "account_no": f"31{customer - 1:08d}",
                        "customer_id": customer,
                        "link_state": "linked",
                        "review_state": rng.choice(("pending", "approved", "approved", "rejected")),
                        "current_revision": 1,
                        "has_conflict": False,
                        "complete": True,
                        "review_version": 1,
                        "received_at": START + timedelta(minutes=k),
                    }
                )
            _insert(session, Capture.__table__, batch)
            session.commit()
        for start in range(0, rows, chunk):
            photos, evidence = [], []
            for p in range(start, min(rows, start + chunk)):
                capture = p // 5
                customer = capture % customers + 1
                received = START + timedelta(minutes=capture, seconds=p % 5)
                captured = received - timedelta(minutes=rng.randint(1, 600))
                lat, lon = sites[customer]
                pid = f"{p:08d}-0000-4000-8000-{p:012d}"
                photos.append(
                    {
                        "id": pid,
                        "capture_id": f"cap-{capture:09d}",
                        "device_id": f"dev-{capture % 50 + 1}",
                        "slot": "meter",
                        "category": rng.choice(("meter", "seal", "scene", "document")),
                        "declared_sha256": f"{p:064x}",
                        "declared": {},
                        "state": "ready",
                        "received_at": received,
                        "created_at": received,
                    }
                )
                evidence.append(
                    {
                        "photo_id": pid,
                        "evidence_no": f"DGE-B-{p:010d}",
                        "steps_done": [],
                        "sha256": f"{p:064x}",
                        "sm3": f"{p:064x}",
                        "size": 3_000_000,
                        "hash_ok": True,
                        "exif_raw": {},
                        "parsed": {},
                        "gps_latitude": lat + rng.uniform(-0.001, 0.001),
                        "gps_longitude": lon + rng.uniform(-0.001, 0.001),
                        "estimated_capture_at": captured,
                        "flags": ["exif_vs_device_mismatch"] if p % 97 == 0 else [],
                        "time_analysis": {},
                        "tsa_status": "granted",
                        "tsa_kind": "local",
                        "tsa_attempts": 1,
                        "thumbnail_key": None,
                        "created_at": received,
                    }
                )
            _insert(session, Photo.__table__, photos)
            _insert(session, PhotoEvidence.__table__, evidence)
            session.commit()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(db.text("ANALYZE"))
        else:
            session.execute(db.text("ANALYZE"))
        session.commit()
    return {"customers": customers, "sites": sites}


def search_part(rows: int, queries: int) -> dict:
    """Fill the database, then time each kind of search."""
    from core.actor import SYSTEM
    from models.database import db
    from services import legal_search

    with tempfile.TemporaryDirectory(prefix="legal-bench-") as data_dir:
        app = make_app(data_dir)
        began = time.perf_counter()
        world = fill(app, rows)
        fill_s = time.perf_counter() - began
        rng = random.Random(11)
        customers = world["customers"]
        kinds = {
            "by 户号": lambda: legal_search.Filters(account_no=f"31{rng.randrange(customers):08d}"),
            "by 户名": lambda: legal_search.Filters(name=f"客户{rng.randrange(customers)}号"),
            "capture-time window": lambda: legal_search.Filters(
                sort="captured",
                captured_from=(d := START + timedelta(minutes=rng.randrange(rows // 5))),
                captured_to=d + timedelta(days=1),
            ),
            "near customer site": lambda: legal_search.Filters(
                account_no=f"31{rng.randrange(customers):08d}", near_site=True, radius_m=300
            ),
            "newest, flag": lambda: legal_search.Filters(flag="exif_vs_device_mismatch"),
            "inspector + review state": lambda: legal_search.Filters(
                inspector=f"insp{rng.randint(1, 50)}", review_state="approved"
            ),
        }
        figures = {}
        with app.app_context():
            for label, make in kinds.items():
                timings = []
                for _ in range(queries):
                    filters = make()
                    began = time.perf_counter()
                    page = legal_search.search(db.session, SYSTEM, None, filters, None, datetime.now(UTC))
                    if page["next_cursor"]:  # and the next page, as a user paging on would
                        legal_search.search(db.session, SYSTEM, None, filters, page["next_cursor"], datetime.now(UTC))
                    timings.append((time.perf_counter() - began) * 1000 / (2 if page["next_cursor"] else 1))
                timings.sort()
                figures[label] = {
                    "median_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
                }
    return {"rows": rows, "fill_s": round(fill_s, 1), "search": figures}


def export_part(bundle_mb: int, photo_mb: int, log_leaves: int = 0) -> dict:
    """Store photos worth ``bundle_mb`` with real tokens and log events after ``log_leaves`` others, then build one bundle."""
    from core.actor import SYSTEM
    from models import Blob, Capture, Customer, Device, Photo, PhotoEvidence, User
    from models.database import db
    from services import evidence_export, export_approval, translog
    from services.stamping_env import env_for
    from tests.helpers.log_tree import bulk_log
    from verifier.check import verify_bundle

    count = max(1, bundle_mb // photo_mb)
    log_build_s = 0.0
    with tempfile.TemporaryDirectory(prefix="legal-bench-export-") as data_dir:
        app = make_app(data_dir)
        with app.app_context():
            env = env_for(app)
            session = db.session
            if log_leaves:  # the archive's earlier events, in the log before this export's photos
                began = time.perf_counter()
                with db.engine.connect() as conn:
                    bulk_log(conn, log_leaves)
                log_build_s = time.perf_counter() - began
            now = datetime.now(UTC)
            session.add(
                User(id=1, username="insp", display_name="检查员", role="inspector", active=True, failed_logins=0)
            )
            session.flush()
            session.add(Device(id="dev-1", name="平板", inspector_id=1, token_hash="0" * 64))
            session.add(
                Customer(
                    id=1,
                    account_no="3100000001",
                    name="基准客户",
                    voltage_class="low",
                    usage_category="residential",
                    status="active",
                    latitude=30.0,
                    longitude=120.0,
                )
            )
            session.flush()
            session.add(
                Capture(
                    id="cap-1",
                    device_id="dev-1",
                    inspector_id=1,
                    kind="usage_inspection",
                    schema_version=2,
                    account_no="3100000001",
                    customer_id=1,
                    received_at=now,
                )
            )
            session.commit()
            for n in range(count):
                import hashlib

                data = os.urandom(photo_mb * 1024 * 1024)
                sha256, sm3 = hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()
                env.blobs.put_bytes(sha256, data)
                del data
                pid = str(uuid.uuid4())
                token = env.tsa.stamp(bytes.fromhex(sha256))
                session.add(Blob(sha256=sha256, sm3=sm3, size=photo_mb * 1024 * 1024, stored_at=now))
                session.flush()
                session.add(
                    Photo(
                        id=pid,
                        capture_id="cap-1",
                        device_id="dev-1",
                        slot="meter",
                        category="meter",
                        declared_sha256=sha256,
                        declared={},
                        state="ready",
                        blob_sha256=sha256,
                        received_at=now,
                        mime_type="image/jpeg",
                        filename=f"p{n}.jpg",
                    )
                )
                session.flush()
                session.add(
                    PhotoEvidence(
                        photo_id=pid,
                        evidence_no=f"DGE-B-{n:06d}",
                        steps_done=[],
                        sha256=sha256,
                        sm3=sm3,
                        size=photo_mb * 1024 * 1024,
                        hash_ok=True,
                        exif_raw={},
                        parsed={},
                        flags=[],
                        time_analysis={},
                        tsa_status="granted",
                        tsa_kind=token.kind,
                        tsa_name=token.tsa_name,
                        tsa_token=token.response,
                        tsa_gen_time=token.gen_time,
                        tsa_attempts=1,
                        created_at=now,
                        tsa_url=token.url,
                        tsa_chain_pem=token.chain_pem.decode(),
                        tsa_anchor_pem=token.anchor_pem.decode(),
                    )
                )
                translog.append_event(session, "received", pid, {"photo_id": pid, "sha256": sha256}, now)
                session.commit()
            export = evidence_export.request_export(
                session,
                SYSTEM,
                None,
                evidence_export.Criteria(account_no="3100000001"),
                "基准测试",
                now,
                export_approval.ApprovalLimits(max_items=10**6, max_bytes=10**13, hard_max_items=10**6),
            )
            target = Path(data_dir) / "bundle.zip"
            began = time.perf_counter()
            evidence_export.build_bundle(session, env, export.id, target)
            elapsed = time.perf_counter() - began
            size = target.stat().st_size
            began = time.perf_counter()
            report = verify_bundle(target)
            verify_s = time.perf_counter() - began
            tree_size = translog.tree_size(session)
    return {
        "photos": count,
        "log_leaves": tree_size,
        "log_build_s": round(log_build_s, 1),
        "bundle_mb": round(size / 2**20, 1),
        "export_s": round(elapsed, 2),
        "export_mb_s": round(size / 2**20 / elapsed, 1),
        "verify_s": round(verify_s, 2),
        "verified": report.ok,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Run both parts (each in a child process) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="photo rows for the search part")
    parser.add_argument("--queries", type=int, default=40, help="searches timed per kind")
    parser.add_argument("--bundle-mb", type=int, default=1024, help="size of the exported bundle")
    parser.add_argument("--photo-mb", type=int, default=4, help="size of each photo in the bundle")
    parser.add_argument("--log-leaves", type=int, default=0, help="evidence log leaves already there before the export")
    parser.add_argument("--part", choices=("all", "search", "export"), default="all")
    args = parser.parse_args()
    if args.part == "search":
        print(json.dumps(search_part(args.rows, args.queries), ensure_ascii=False))
        return
    if args.part == "export":
        print(json.dumps(export_part(args.bundle_mb, args.photo_mb, args.log_leaves), ensure_ascii=False))
        return
    for part in ("search", "export"):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--part",
                part,
                "--rows",
                str(args.rows),
                "--queries",
                str(args.queries),
                "--bundle-mb",
                str(args.bundle_mb),
                "--photo-mb",
                str(args.photo_mb),
                "--log-leaves",
                str(args.log_leaves),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            sys.exit(done.returncode)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        if part == "search":
            print(f"search on {figures['rows']:,} photo rows (filled in {figures['fill_s']} s):")
            for label, f in figures["search"].items():
                print(f"  {label:<26} median {f['median_ms']:8.2f} ms   p95 {f['p95_ms']:8.2f} ms")
        else:
            print(
                f"export of {figures['photos']} photos (log of {figures['log_leaves']:,} leaves) → "
                f"{figures['bundle_mb']} MB bundle in {figures['export_s']} s: "
                f"{figures['export_mb_s']} MB/s, peak RSS {figures['peak_rss_mb']} MB; offline verification "
                f"{figures['verify_s']} s ({'OK' if figures['verified'] else 'FAILED'})"
            )


if __name__ == "__main__":
    main()
