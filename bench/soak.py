"""The long soak: many simulated tablets against gunicorn + RQ workers on loopback, then the books.

Every capture must be present exactly once, every photo's stored bytes must match its hash, every
photo must be stamped exactly once, no request may be answered 5xx. Prints the figures as JSON
(and writes them to --out); exit status 0 only when the error total is 0.

    .venv/bin/python bench/soak.py --devices 50 --seconds 1800 [--web-workers 4] [--rq-workers 2]

A fresh database is made by tests/helpers/databases.py (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set); Redis is an embedded redis-server of its own, so nothing shared is touched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ports import embedded_redis  # noqa: E402
from tests.helpers import soak  # noqa: E402
from tests.helpers.databases import databases  # noqa: E402
from tests.helpers.stack import LiveStack, seed  # noqa: E402


def main() -> int:
    """Run the soak with the command-line settings; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause of a tablet between captures (s)")
    parser.add_argument("--out", default=str(ROOT / "var" / "soak-last.json"))
    args = parser.parse_args()

    # short root: the embedded Redis listens on a unix socket (paths are limited to ~100 bytes)
    root = Path(tempfile.mkdtemp(prefix="dgsoak-", dir="/tmp"))
    redis_proc = embedded_redis.start(root)
    factory = databases(root)
    database_url = factory.create()
    stack = LiveStack(database_url, embedded_redis.url_for(root), root / "data", web_workers=args.web_workers)
    (root / "data").mkdir()
    try:
        tablets = seed(database_url, stack.redis_url, stack.data_dir, tablets=args.devices)
        stack.start_web()
        for _ in range(args.rq_workers):
            stack.start_worker()
        figures = soak.run(
            stack, tablets, root / "tablets", args.seconds, think=args.think, drain_timeout=max(300, args.seconds)
        )
    finally:
        stack.stop()
        factory.drop(database_url)
        factory.close()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
    report = {**figures.as_dict(), "web_workers": args.web_workers, "rq_workers": args.rq_workers}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if figures.errors() == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
