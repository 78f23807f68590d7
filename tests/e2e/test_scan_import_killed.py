"""A batch import of 200 scans killed with SIGKILL midway: running it again files each scan exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from tests.helpers.captures import LOW, review_world
from tests.helpers.factories import make_customer
from tests.helpers.live import ROOT
from tests.helpers.scans import make_tiff

SCANS = 200
ACCOUNTS = [LOW] + [f"52001{n:05d}" for n in range(9)]


def _filed(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM dossier_items WHERE source = 'scan'")).scalar_one()


def test_import_killed_midway_and_run_again_files_every_scan_once(app, database_url, redis_url, tmp_path):
    review_world()
    for account in ACCOUNTS[1:]:
        make_customer(account, f"积压客户{account[-3:]}", "低压", "居民生活用电")
    folder = tmp_path / "backlog"
    folder.mkdir()
    lines = ["户号,文件类型,文件日期,文件名,页数"]
    contents = set()
    for n in range(SCANS):
        data = make_tiff(pages=1 + n % 3, dpi=300, mode="1", label=f"backlog {n}")
        contents.add(data)
        (folder / f"{n:03d}.tif").write_bytes(data)
        lines.append(f"{ACCOUNTS[n % len(ACCOUNTS)]},application,2018-01-{1 + n % 28:02d},{n:03d}.tif,{1 + n % 3}")
    assert len(contents) == SCANS
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TSA_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "DANGAN_LOG_FORMAT": "text",
        }
    )
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "scans",
        "import",
        str(folder),
        "--manifest",
        str(manifest),
    ]
    engine = create_engine(database_url)
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _filed(engine) < SCANS // 4:
        assert first.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    killed_at = _filed(engine)
    assert SCANS // 4 <= killed_at < SCANS

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]

    with engine.connect() as conn:
        scans = conn.execute(text("SELECT id, dossier_item_id FROM scans")).all()
        items = conn.execute(
            text(
                "SELECT d.customer_id, i.seq, i.pages, i.extra FROM dossier_items i "
                "JOIN dossiers d ON d.id = i.dossier_id WHERE i.source = 'scan' ORDER BY d.customer_id, i.seq"
            )
        ).all()
    assert len(scans) == SCANS and all(item_id is not None for _, item_id in scans)
    assert len(items) == SCANS
    extras = [row.extra if isinstance(row.extra, dict) else json.loads(row.extra) for row in items]
    assert {e["scan_id"] for e in extras} == {scan_id for scan_id, _ in scans}  # each scan filed once
    by_customer: dict[int, list] = {}
    for row, extra in zip(items, extras):
        by_customer.setdefault(row.customer_id, []).append((row, extra))
    assert len(by_customer) == len(ACCOUNTS)
    for rows in by_customer.values():
        assert [r.seq for r, _ in rows] == list(range(1, len(rows) + 1))  # no gaps, no duplicates
        pages = 0
        for row, extra in rows:  # 页号 run on without gaps or overlaps
            assert (extra["page_from"], extra["page_to"]) == (pages + 1, pages + row.pages)
            pages += row.pages
    engine.dispose()
