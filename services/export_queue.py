"""Queueing evidence exports as background jobs on the ``exports`` queue (:func:`workers.jobs.run_export`).

The job takes only the export id, has a deterministic job id, and is idempotent: a finished
export is not built again, and a re-run after a crash reuses the manifest and checkpoint fixed
by the first run. Progress lives in the export's row, where the page and the CLI read it.
"""
from __future__ import annotations

import redis

from ports.job_queue import job_state, queue

EXPORTS_QUEUE = "exports"
JOB_FUNCTION = "workers.jobs.run_export"
JOB_TIMEOUT_S = 6 * 3600


def job_id(export_id: int) -> str:
    """Deterministic RQ job id of an export."""
    return f"evidence-export-{int(export_id)}"


def enqueue(connection: redis.Redis, export_id: int) -> str:
    """Put the export on the exports queue (again, if an earlier job is gone); return the job id."""
    identifier = job_id(export_id)
    if job_state(connection, identifier) in ("queued", "started", "deferred", "scheduled"):
        return identifier
    queue(EXPORTS_QUEUE, connection).enqueue(JOB_FUNCTION, int(export_id), job_id=identifier,
                                             job_timeout=JOB_TIMEOUT_S, result_ttl=7 * 24 * 3600,
                                             failure_ttl=14 * 24 * 3600)
    return identifier
