"""Queue names and the RQ connection helpers shared by the web app, the worker and the tests."""
from __future__ import annotations

import redis
from rq import Queue
from rq.job import Job

# Order matters: a worker listens to these in priority order.
QUEUE_NAMES = ("stamping", "default", "exports")


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
