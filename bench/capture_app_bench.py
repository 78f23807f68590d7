"""Capture app (/capture/) figures, measured in Chromium at a 1280×800 tablet viewport against a
live gunicorn server on a fresh SQLite database.

Prints:
  * the app shell: every file the service worker caches, raw and gzip (level 6) bytes;
  * the first pull of --customers assigned dossier summaries into IndexedDB (seconds);
  * time to open the app offline (service worker + IndexedDB), median of --opens reloads;
  * offline search over all assigned customers: reading them from IndexedDB and searching,
    median of several queries (ms);
  * memory while queueing --photos photos of --photo-mb MB into the outbox offline: the page's
    JS heap (CDP Performance.getMetrics) after each photo, peak and end, next to the bytes stored.

    .venv/bin/python bench/capture_app_bench.py [--customers 5000] [--photos 50] [--photo-mb 8] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import capture_browser as app  # noqa: E402
from tests.helpers.live import free_port, wait_for  # noqa: E402

QUERIES = ("江南", "7000001234", "某路 12", "客户70000049", "不存在的客户")


def prepare(data_dir: Path, url: str, customers: int) -> str:
    """Migrate a fresh database, create customers assigned to one inspector; return an enrolment code."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from core.actor import CLI
    from models import Customer, Dossier
    from models.database import db
    from server import create_app
    from services import enrolment, sync_assignments
    from services.ports_access import ports
    from tests.helpers.factories import make_user

    flask_app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": str(data_dir),
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "SECRET_KEY": "bench",
        }
    )
    with flask_app.app_context():
        upgrade()
        now = ports().clock.now()
        numbers = [f"7{i:09d}" for i in range(customers)]
        db.session.execute(
            insert(Customer),
            [
                {
                    "account_no": n,
                    "name": f"客户{n}" if i % 7 else f"江南客户{n}",
                    "address": f"杭州市某区某路 {n[-4:]} 号",
                    "voltage_class": "low",
                    "usage_category": "residential",
                    "status": "active",
                    "meter_number": f"33{n}",
                    "latitude": 30.2 + (i % 100) / 1000,
                    "longitude": 120.2 + (i // 100) / 1000,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, n in enumerate(numbers)
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
        make_user("bench-inspector", "inspector")
        sync_assignments.assign(db.session, CLI, "bench-inspector", numbers, now)
        _, code = enrolment.create_code(db.session, CLI, "bench-inspector", now)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return code


def shell_size() -> tuple[int, int, int]:
    """(files, raw bytes, gzip bytes) of everything the service worker caches."""
    from server import create_app

    flask_app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "REDIS_URL": "redis://unused",
            "SECRET_KEY": "bench",
            "DANGAN_DATA_DIR": tempfile.mkdtemp(),
        }
    )
    client = flask_app.test_client()
    import json
    import re

    urls = json.loads(
        re.search(r"const URLS = (\[.*?\]);", client.get("/capture/sw.js").get_data(as_text=True)).group(1)
    )
    raw = gz = 0
    for url in urls + ["/capture/sw.js"]:
        body = client.get(url).get_data()
        raw += len(body)
        gz += len(gzip.compress(body, 6))
    return len(urls) + 1, raw, gz


def heap_mb(cdp) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["JSHeapUsedSize"] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--photo-mb", type=float, default=8)
    parser.add_argument("--opens", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="500 customers, 8 photos of 2 MB")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.photos, args.photo_mb, args.opens = 500, 8, 2, 3

    files, raw, gz = shell_size()
    print(f"app shell: {files} files, {raw / 1024:.0f} KiB raw, {gz / 1024:.0f} KiB gzip")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        code = prepare(tmp, url, args.customers)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DANGAN_DATA_DIR": str(tmp),
            "SECRET_KEY": "bench",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DANGAN_LOG_FORMAT": "text",
            "DANGAN_LOG_LEVEL": "ERROR",
            "DANGAN_INSECURE_COOKIES": "1",
        }
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
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
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/api/v1/health", proc=web)
            with app.chromium() as browser:
                context = app.tablet_context(browser, base)
                page = app.open_app(context, base)
                start = time.perf_counter()
                app.enrol(page, code)
                page.wait_for_selector("button.customer")
                pulled = time.perf_counter() - start
                count = page.evaluate(
                    "import('/capture/assets/db.js').then(async m => (await m.open()).count('dossiers'))"
                )
                print(f"first pull: {count} customers into IndexedDB in {pulled:.1f} s")
                app.wait_for_service_worker(page)

                context.set_offline(True)
                opens = []
                for _ in range(args.opens):
                    start = time.perf_counter()
                    page.reload()
                    page.wait_for_selector("body[data-ready='1']")
                    page.wait_for_selector("button.customer")
                    opens.append((time.perf_counter() - start) * 1000)
                print(
                    f"open offline (reload until customers shown): median {statistics.median(opens):.0f} ms, "
                    f"max {max(opens):.0f} ms over {len(opens)}"
                )

                timings = page.evaluate(
                    """async (queries) => {
                  const db = await (await import('/capture/assets/db.js')).open()
                  const { search, nearest } = await import('/capture/assets/search.js')
                  const out = []
                  for (const q of queries) {
                    const t0 = performance.now()
                    const all = await db.getAll('dossiers')
                    const hits = search(all, q, 30)
                    out.push({ q, ms: performance.now() - t0, hits: hits.length, n: all.length })
                  }
                  const all = await db.getAll('dossiers')
                  for (const q of queries) {  // as the home screen does per keystroke: in memory
                    const t0 = performance.now()
                    search(all, q, 30)
                    out.push({ q: 'memory', ms: performance.now() - t0, n: all.length })
                  }
                  const t0 = performance.now()
                  nearest(all, 30.25, 120.22)
                  out.push({ q: 'nearest', ms: performance.now() - t0, hits: 20, n: all.length })
                  return out
                }""",
                    list(QUERIES),
                )
                search_ms = [t["ms"] for t in timings if t["q"] not in ("nearest", "memory")]
                memory_ms = [t["ms"] for t in timings if t["q"] == "memory"]
                print(
                    f"offline search over {timings[0]['n']} customers: read from IndexedDB + match median "
                    f"{statistics.median(search_ms):.0f} ms (max {max(search_ms):.0f}); match in memory (per "
                    f"keystroke) median {statistics.median(memory_ms):.1f} ms (max {max(memory_ms):.1f}); "
                    f"nearest 20: {timings[-1]['ms']:.1f} ms"
                )

                photo = tmp / "IMG_8MB.jpg"
                size = int(args.photo_mb * 1024 * 1024)
                photo.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(size - 4))
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.evaluate("window.gc && window.gc()")
                heap = [heap_mb(cdp)]
                slots = ("meter", "seal", "wiring", "scene")
                done = 0
                start = time.perf_counter()
                while done < args.photos:
                    app.start_capture(page, "7000000001", "usage_inspection", search="7000000001")
                    for slot in slots[: args.photos - done]:
                        app.photo(page, slot, photo)
                        heap.append(heap_mb(cdp))
                        done += 1
                queued = time.perf_counter() - start
                usage = page.evaluate("navigator.storage.estimate().then(e => e.usage)")
                kept = page.evaluate(
                    "import('/capture/assets/db.js').then(async m => (await (await m.open()).getAll('photos'))"
                    ".filter(p => p.blob).reduce((n, p) => n + p.blob.size, 0))"
                )
                print(
                    f"queue {done} photos of {args.photo_mb:g} MB offline: {queued:.0f} s "
                    f"({queued / done * 1000:.0f} ms each, SHA-256 included); JS heap start {heap[0]:.1f} MB, "
                    f"peak {max(heap):.1f} MB, end {heap[-1]:.1f} MB; Blobs kept {kept / 1e6:.0f} MB, "
                    f"storage estimate {usage / 1e6:.0f} MB"
                )
        finally:
            web.terminate()
            web.wait(timeout=20)


if __name__ == "__main__":
    main()
