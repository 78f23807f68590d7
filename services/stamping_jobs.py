"""The stamping jobs as operators see them: failures, backlog, pending timestamps, and retry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import LogCheckpoint, OutboxEvent, PhotoEvidence, PipelineRun, audit
from services import pipeline
from services.dispatch import enqueue


def counts(session: Session, now: datetime) -> dict:
    """Numbers for the health report and the jobs page."""
    by_status = dict(
        session.execute(select(PipelineRun.status, func.count()).group_by(PipelineRun.status)).tuples().all()
    )
    oldest = session.scalar(select(func.min(OutboxEvent.created_at)).where(OutboxEvent.dispatched_at.is_(None)))
    last = session.scalar(select(func.max(LogCheckpoint.created_at)))
    return {
        "failed": by_status.get("failed", 0),
        "retry_wait": by_status.get("retry_wait", 0),
        "running": by_status.get("running", 0),
        "queued": by_status.get("queued", 0),
        "done": by_status.get("done", 0),
        "outbox_backlog": session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
        or 0,
        "outbox_oldest_s": round((now - oldest).total_seconds(), 1) if oldest else None,
        "timestamp_pending": session.scalar(
            select(func.count()).select_from(PhotoEvidence).where(PhotoEvidence.tsa_status == "pending")
        )
        or 0,
        "timestamp_failed": session.scalar(
            select(func.count()).select_from(PhotoEvidence).where(PhotoEvidence.tsa_status == "failed")
        )
        or 0,
        "last_checkpoint_age_s": round((now - last).total_seconds(), 1) if last else None,
    }


def troubled_runs(session: Session, limit: int = 100) -> list[PipelineRun]:
    """Failed, waiting and running runs, the failed ones first."""
    order = {"failed": 0, "retry_wait": 1, "running": 2, "queued": 3}
    rows = session.scalars(
        select(PipelineRun)
        .where(PipelineRun.status.in_(tuple(order)))
        .order_by(PipelineRun.updated_at.desc())
        .limit(limit)
    ).all()
    return sorted(rows, key=lambda r: order[r.status])


def backlog(session: Session, limit: int = 50) -> list[OutboxEvent]:
    """Outbox rows not yet handed to the queue, oldest first."""
    return list(
        session.scalars(
            select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        ).all()
    )


def retry(session: Session, actor: Actor, run_id: int, now: datetime, connection_factory) -> PipelineRun:
    """Give a failed or waiting run one more attempt now; enqueued at once, or by the dispatcher if Redis is down."""

    run = session.get(PipelineRun, run_id)
    if run is None:
        raise errors.DomainError(errors.UNKNOWN_PIPELINE_RUN)
    if run.status not in ("failed", "retry_wait"):
        raise errors.DomainError(errors.RUN_NOT_RETRYABLE, details={"status": run.status})
    previous = run.status
    run.attempt += 1
    run.status, run.next_attempt_at, run.finished_at = "queued", None, None
    run.lease_owner = run.lease_expires_at = None
    run.job_id, run.updated_at = pipeline.job_id(run.event, run.subject_id, run.attempt), now
    audit.record(
        session,
        actor,
        "evidence.pipeline_retry",
        run.event,
        run.subject_id,
        {"attempt": run.attempt, "was": previous},
        at=now,
    )
    session.commit()
    try:
        enqueue(connection_factory(), run.event, run.subject_id, run.attempt)
    except Exception:  # Redis down: the dispatcher re-enqueues queued runs whose job is missing
        pass
    return run
