"""Periodic jobs the worker keeps scheduled: the daily lifecycle run and the hourly upload sweep.

Called on every dispatcher tick; scheduling is idempotent through deterministic job ids, so
any number of workers may call it.
"""

from __future__ import annotations

from datetime import datetime

from ports.job_queue import enqueue_once
from services.lifecycle.daily import schedule_daily

UPLOAD_SWEEP_JOB = "workers.jobs.sweep_uploads"


def schedule_periodic(connection, now: datetime) -> dict:
    """Make sure today's lifecycle run and this hour's upload sweep are queued; report what was added."""
    return {
        "lifecycle_daily": schedule_daily(connection, now),
        "uploads_sweep": enqueue_once(connection, "default", f"uploads-sweep-{now:%Y%m%d%H}", UPLOAD_SWEEP_JOB, 86400),
    }
