"""Queueing evidence exports as background jobs on the ``exports`` queue (:func:`workers.jobs.run_export`).

The job takes only the export id, has a deterministic job id, and is idempotent: a finished
export is not built again, and a re-run after a crash reuses the manifest and checkpoint fixed
by the first run. Progress lives in the export's row, where the page and the CLI read it.
"""

from __future__ import annotations

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EvidenceExport, OutboxEvent
from ports.job_queue import job_state, queue

EXPORTS_QUEUE = "exports"
JOB_FUNCTION = "workers.jobs.run_export"
JOB_TIMEOUT_S = 6 * 3600
WAITING_STATES = ("queued", "running")  # states in which an export still needs its job
EVENT = "export.queued"  # the outbox event that hands an export to the queue


def job_id(export_id: int) -> str:
    """Deterministic RQ job id of an export."""
    return f"evidence-export-{int(export_id)}"


def enqueue(connection: redis.Redis, export_id: int) -> str:
    """Put the export on the exports queue (again, if an earlier job is gone); return the job id."""
    identifier = job_id(export_id)
    if job_state(connection, identifier) in ("queued", "started", "deferred", "scheduled"):
        return identifier
    queue(EXPORTS_QUEUE, connection).enqueue(
        JOB_FUNCTION,
        int(export_id),
        job_id=identifier,
        job_timeout=JOB_TIMEOUT_S,
        result_ttl=7 * 24 * 3600,
        failure_ttl=14 * 24 * 3600,
    )
    return identifier


def record(session: Session, export: EvidenceExport) -> None:
    """Write the export's outbox row in the caller's transaction; the dispatcher enqueues it after the commit."""
    export.job_id = job_id(export.id)
    exists = session.scalar(
        select(OutboxEvent.id).where(OutboxEvent.event == EVENT, OutboxEvent.subject_id == str(export.id))
    )
    if exists is None:
        session.add(OutboxEvent(event=EVENT, subject_id=str(export.id)))


def enqueue_subject(session: Session | None, connection: redis.Redis, subject_id: str) -> str | None:
    """Enqueue the export named by an outbox row; with a session, only while it still waits to be built.

    The after-commit listener has no usable session (it enqueues a brand-new export); the
    dispatcher has one and skips exports that were already built, failed or cancelled.
    """
    if session is not None:
        export = session.get(EvidenceExport, int(subject_id))
        if export is None or export.state not in WAITING_STATES:
            return None
    return enqueue(connection, int(subject_id))
