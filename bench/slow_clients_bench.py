"""Slow clients against ``make run``: do 50 connections trickling one byte per second slow down the others?

Starts the product exactly as ``make run`` does (``python -m server.runner``: embedded Redis,
SQLite, gunicorn with ``server.web_serving``, one RQ worker) in a temporary data dir, seeds
tablets, then measures twice for --seconds each:

1. idle: --tablets tablets capture and sync (push, photo upload, pull) in a loop while health is
   polled every 0.5 s;
2. under slow clients: the same, while --slow connections each send a tus PATCH body at one
   byte per second (spread over the tablets, within the per-tablet cap on parallel uploads).

Prints the medians (and 90th percentiles) of health and sync latency in both phases and their
ratio as JSON; the exit status is 0 when every median stays within 2x of the idle figure.

    .venv/bin/python bench/slow_clients_bench.py [--tablets 20] [--slow 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TusPhotoUploader  # noqa: E402
from server import embedded_redis  # noqa: E402
from server.config import sqlite_url  # noqa: E402
from tests.helpers.device import sample_data  # noqa: E402
from tests.helpers.images import make_jpeg  # noqa: E402
from tests.helpers.live import free_port, start_runner, wait_for_status  # noqa: E402
from tests.helpers.slow_clients import SlowPatch, create_upload  # noqa: E402
from tests.helpers.stack import seed  # noqa: E402


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
    }


def _phase(url: str, tablets: list[dict], clients: list[DeviceClient], seconds: float, workdir: Path) -> dict:
    """Tablets sync in a loop and health is polled; return the latencies and the error count."""
    health, syncs, errors = [], [], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def tablet(index: int) -> None:
        rng = random.Random(index)
        client, info = clients[index], tablets[index]
        while time.monotonic() < deadline:
            path = workdir / f"t{index}-{rng.getrandbits(48):012x}.jpg"
            path.write_bytes(make_jpeg(seed=rng.randrange(1 << 30), width=96, height=72) + os.urandom(40_000))
            client.capture(
                "usage_inspection",
                info["account_nos"][0],
                sample_data("usage_inspection", 2),
                [PhotoFile(str(path), "meter", "meter")],
                schema_version=2,
            )
            started = time.perf_counter()
            try:
                client.sync(attempts=1)
                with lock:
                    syncs.append(time.perf_counter() - started)
            except Exception as exc:  # counted
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
            time.sleep(rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=tablet, args=(n,), daemon=True) for n in range(len(tablets))]
    for thread in threads:
        thread.start()
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            if requests.get(f"{url}/api/v1/health", timeout=30).status_code == 200:
                health.append(time.perf_counter() - started)
        except requests.RequestException as exc:
            errors.append(f"health: {exc}"[:200])
        time.sleep(0.5)
    for thread in threads:
        thread.join(timeout=120)
    return {"health": _quantiles(health), "sync": _quantiles(syncs), "errors": errors[:10], "error_count": len(errors)}


def main() -> int:
    """Run both phases and print the figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=20)
    parser.add_argument("--slow", type=int, default=50, help="connections sending one byte per second")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dangan-slow-"))
    data_dir = work / "var"
    data_dir.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runner = start_runner(
        data_dir,
        port,
        {"DANGAN_DEMO": "0", "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2")},
        log=work / "make-run.log",
    )
    slow: list[SlowPatch] = []
    clients: list[DeviceClient] = []
    try:
        wait_for_status(f"{url}/api/v1/health", "ok", timeout=120, proc=runner)
        tablets = seed(sqlite_url(data_dir), embedded_redis.url_for(data_dir), data_dir, tablets=args.tablets)
        for n, info in enumerate(tablets):
            clients.append(
                DeviceClient(
                    str(work / f"tablet-{n}.sqlite3"),
                    HttpTransport(url, info["token"], timeout=60),
                    uploader=TusPhotoUploader(url, info["token"], chunk_size=1 << 20, retries=0),
                )
            )
        idle = _phase(url, tablets, clients, args.seconds, work)
        body = os.urandom(1 << 20)  # never completes at one byte per second
        for n in range(args.slow):
            token = tablets[n % len(tablets)]["token"]
            patch = SlowPatch(url, token, create_upload(url, token, body), body, piece=1, interval=1.0)
            patch.start()
            slow.append(patch)
        time.sleep(3)
        loaded = _phase(url, tablets, clients, args.seconds, work)
        still_sending = sum(1 for patch in slow if patch.is_alive())
    finally:
        for patch in slow:
            patch.cut()
        for client in clients:
            client.close()
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except Exception:
            os.killpg(runner.pid, signal.SIGKILL)
        if not os.environ.get("DANGAN_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)

    def ratio(kind: str) -> float | None:
        base, under = idle[kind].get("median_ms"), loaded[kind].get("median_ms")
        return round(under / base, 2) if base and under else None

    figures = {
        "tablets": args.tablets,
        "slow_connections": args.slow,
        "slow_still_sending": still_sending,
        "seconds_per_phase": args.seconds,
        "idle": idle,
        "with_slow_clients": loaded,
        "health_ratio": ratio("health"),
        "sync_ratio": ratio("sync"),
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    within = all(r is not None and r <= 2.0 for r in (figures["health_ratio"], figures["sync_ratio"]))
    return 0 if within and not loaded["error_count"] else 1


if __name__ == "__main__":
    sys.exit(main())
