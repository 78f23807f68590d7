"""Queue names and the RQ connection helpers shared by the web app, the worker and the tests."""

from __future__ import annotations

import os
import socket

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

# Order matters: a worker listens to these in priority order.
QUEUE_NAMES = ("stamping", "default", "exports")
WORKER_KEY_PREFIX = "dangan:worker:"
SCHEDULED_KEY_PREFIX = "dangan:scheduled:"


def queue(name: str, connection: redis.Redis) -> Queue:
    """Return the named RQ queue on a connection."""
    if name not in QUEUE_NAMES:
        raise KeyError(f"unknown queue {name!r}")
    return Queue(name, connection=connection)


def depths(connection: redis.Redis) -> dict[str, int]:
    """Number of waiting jobs per queue, plus failed jobs per queue."""
    out: dict[str, int] = {}
    for name in QUEUE_NAMES:
        q = Queue(name, connection=connection)
        out[name] = q.count
        out[f"{name}_failed"] = q.failed_job_registry.count
    return out


def job_state(connection: redis.Redis, job_id: str) -> str | None:
    """The RQ status of a job, or None when Redis no longer knows it."""
    try:
        return Job.fetch(job_id, connection=connection).get_status(refresh=False)
    except Exception:  # NoSuchJobError, or a job hash without status
        return None


def worker_heartbeat(connection: redis.Redis, ttl_s: float) -> None:
    """Say that this worker process is alive for the next ``ttl_s`` seconds (the health check reads it)."""
    name = f"{WORKER_KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"
    connection.set(name, "alive", px=max(1, int(ttl_s * 1000)))


def live_workers(connection: redis.Redis) -> int:
    """Number of worker processes whose heartbeat has not expired."""
    return sum(1 for _ in connection.scan_iter(match=f"{WORKER_KEY_PREFIX}*", count=100))


def enqueue_once(connection: redis.Redis, queue_name: str, job_id: str, func: str, keep_s: int) -> bool:
    """Queue ``func`` under ``job_id`` unless some process already did; True for the one that queued it.

    Every worker of a cluster asks on each tick: one atomic claim (SET NX, kept ``keep_s`` seconds,
    longer than the job's period) decides, so two askers at the same instant never queue it twice.
    """
    if not connection.set(f"{SCHEDULED_KEY_PREFIX}{job_id}", "1", nx=True, ex=keep_s):
        return False
    try:
        Job.fetch(job_id, connection=connection)
        return False  # queued before claims existed
    except NoSuchJobError:
        queue(queue_name, connection).enqueue(func, job_id=job_id, result_ttl=keep_s, failure_ttl=30 * 86400)
        return True
