"""Periodic jobs the worker keeps scheduled: the daily lifecycle run and the hourly upload sweep.

Called on every dispatcher tick; scheduling is idempotent through deterministic job ids, so
any number of workers may call it.
"""

from __future__ import annotations

from datetime import datetime

from rq.exceptions import NoSuchJobError
from rq.job import Job

from ports.job_queue import queue
from services.lifecycle.daily import schedule_daily

UPLOAD_SWEEP_JOB = "workers.jobs.sweep_uploads"


def _enqueue_once(connection, job_id: str, func: str) -> bool:
    try:
        Job.fetch(job_id, connection=connection)
        return False
    except NoSuchJobError:
        queue("default", connection).enqueue(func, job_id=job_id, result_ttl=86400, failure_ttl=7 * 86400)
        return True


def schedule_periodic(connection, now: datetime) -> dict:
    """Make sure today's lifecycle run and this hour's upload sweep are queued; report what was added."""
    return {
        "lifecycle_daily": schedule_daily(connection, now),
        "uploads_sweep": _enqueue_once(connection, f"uploads-sweep-{now:%Y%m%d%H}", UPLOAD_SWEEP_JOB),
    }
