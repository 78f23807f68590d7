"""Moving outbox rows into RQ, and recovering runs that Redis or a dead worker dropped.

``tick`` runs every few seconds inside the worker process (and on demand from the admin
page). It enqueues undispatched outbox rows with deterministic job ids, hands runs whose lease
expired or whose job vanished to a new attempt, retries pending timestamps, and signs a log
checkpoint when one is due. A commit hook also enqueues new photos right after the web
transaction commits, best effort: when Redis is down the hook gives up at once and the tick
picks the rows up later, so intake never waits for Redis.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import redis
from rq.job import Job, JobStatus
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import LogCheckpoint, OutboxEvent, PhotoEvidence, PipelineRun, ScanEvidence
from models.database import db
from ports.job_queue import job_state, queue
from services import export_queue, pipeline, translog
from services.pipeline_runs import ensure_run, retry_scan_timestamp, retry_timestamp
from services.schedules import schedule_periodic
from services.stamping_env import current_app_or_none, env_for

log = logging.getLogger("dangan.dispatch")
JOB_FUNCTION = "workers.jobs.run_event"
STAMPING_QUEUE = "stamping"
# Outbox events handed to one job each (no pipeline run): event -> enqueue(session, connection, subject_id).
JOB_EVENTS = {export_queue.EVENT: export_queue.enqueue_subject}
# A queued run whose job is missing from Redis (or from its queue) for this long is enqueued again.
MISSING_JOB_GRACE_S = 5
# A job that started this long ago without claiming its run died before the claim.
UNCLAIMED_JOB_GRACE_S = 30
_DEAD_STATES = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
_WAITING_STATES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def enqueue(connection: redis.Redis, event: str, subject_id: str, attempt: int, job_timeout: int = 600) -> str:
    """Put one attempt on the stamping queue under its deterministic job id; returns the id."""
    job_id = pipeline.job_id(event, subject_id, attempt)
    queue(STAMPING_QUEUE, connection).enqueue(
        JOB_FUNCTION,
        event,
        subject_id,
        attempt,
        job_id=job_id,
        job_timeout=job_timeout,
        result_ttl=24 * 3600,
        failure_ttl=14 * 24 * 3600,
    )
    return job_id


def _alive(connection: redis.Redis, job_id: str) -> bool:
    state = job_state(connection, job_id)
    return state is not None and state not in _DEAD_STATES


def _locked(query, session: Session):
    # PostgreSQL: several dispatchers share the rows without waiting for each other.
    return query.with_for_update(skip_locked=True) if session.get_bind().dialect.name == "postgresql" else query


def dispatch_outbox(session: Session, connection: redis.Redis, now: datetime, settings, limit: int = 200) -> dict:
    """Enqueue undispatched outbox rows (pipelines and single jobs); Redis down leaves them for later."""
    counts = {"dispatched": 0, "waiting": 0}
    handled = (*pipeline.PIPELINES, *JOB_EVENTS)
    rows = session.scalars(
        _locked(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None), OutboxEvent.event.in_(handled))
            .order_by(OutboxEvent.id)
            .limit(limit),
            session,
        )
    ).all()
    for row in rows:
        try:
            if row.event in JOB_EVENTS:
                JOB_EVENTS[row.event](session, connection, row.subject_id)
            else:
                run = ensure_run(session, row.event, row.subject_id, now)
                row = session.get(OutboxEvent, row.id)
                if run.status in ("queued", "running") and not _alive(connection, run.job_id or ""):
                    run.job_id = enqueue(connection, run.event, run.subject_id, run.attempt, settings.job_timeout_s)
        except (redis.RedisError, OSError) as exc:
            session.rollback()
            row = session.get(OutboxEvent, row.id)
            assert row is not None
            row.last_error = f"Redis unavailable: {exc}"[:500]
            session.commit()
            counts["waiting"] += 1
            break
        row.dispatched_at, row.attempts, row.last_error = now, (row.attempts or 0) + 1, None
        session.commit()
        counts["dispatched"] += 1
    return counts


def _next_attempt(
    session: Session, connection: redis.Redis, run: PipelineRun, now: datetime, settings, reason: str
) -> str:
    if run.attempt >= settings.max_attempts:
        run.status, run.finished_at, run.updated_at = "failed", now, now
        run.lease_owner = run.lease_expires_at = None
        run.last_error = f"{reason}; no attempts left"
        session.commit()
        return "failed"
    run.attempt += 1
    run.status, run.lease_owner, run.lease_expires_at, run.next_attempt_at = "queued", None, None, None
    run.job_id, run.updated_at = pipeline.job_id(run.event, run.subject_id, run.attempt), now
    if reason:
        run.last_error = reason
    enqueue(connection, run.event, run.subject_id, run.attempt, settings.job_timeout_s)
    session.commit()
    return "requeued"


def _stranded_job(connection: redis.Redis, job_id: str, waiting: set[str]) -> str | None:
    """Why the job of a queued, unclaimed run will never run (or None while it still may)."""
    try:
        job = Job.fetch(job_id, connection=connection)
        state = job.get_status(refresh=False)
    except Exception:  # NoSuchJobError, or a job hash without status
        return "missing"
    if state in _DEAD_STATES:
        return f"job {state}"
    if state in _WAITING_STATES:
        # taken off its queue by a worker that died before starting it
        return None if state != JobStatus.QUEUED or job_id in waiting else "lost from its queue"
    if state == JobStatus.STARTED:
        started = job.started_at.replace(tzinfo=timezone.utc) if job.started_at else None
        age = (datetime.now(timezone.utc) - started).total_seconds() if started else None
        return "worker died before claiming the run" if age is None or age > UNCLAIMED_JOB_GRACE_S else None
    return f"job {state} but the run was never claimed"


def recover_runs(session: Session, connection: redis.Redis, now: datetime, settings, limit: int = 200) -> dict:
    """Hand every queued or running run that nothing is working on to a new attempt.

    Covers each moment a worker can die: before the job reached Redis (missing), after a worker
    took it off the queue (lost from its queue), in the job before its claim (started, never
    claimed), and in the job after the claim or between its last step and its commit (an expired
    lease: a running job renews it, so only a dead worker's lease runs out, whatever host it ran on).
    """
    counts = {"requeued": 0, "failed": 0, "reenqueued": 0}
    due = list(
        session.scalars(
            _locked(
                select(PipelineRun)
                .where(
                    ((PipelineRun.status == "running") & (PipelineRun.lease_expires_at < now))
                    | ((PipelineRun.status == "retry_wait") & (PipelineRun.next_attempt_at <= now))
                )
                .order_by(PipelineRun.id)
                .limit(limit),
                session,
            )
        ).all()
    )
    for run in due:
        reason = "worker stopped mid-job (lease expired)" if run.status == "running" else run.last_error or ""
        counts[_next_attempt(session, connection, run, now, settings, reason)] += 1
    stale = now - timedelta(seconds=MISSING_JOB_GRACE_S)
    queued = session.scalars(
        _locked(
            select(PipelineRun)
            .where(PipelineRun.status == "queued", PipelineRun.updated_at < stale)
            .order_by(PipelineRun.id)
            .limit(limit),
            session,
        )
    ).all()
    waiting = set(queue(STAMPING_QUEUE, connection).get_job_ids()) if queued else set()
    for run in queued:
        reason = _stranded_job(connection, run.job_id or "", waiting)
        if reason in ("missing", "lost from its queue"):
            enqueue(connection, run.event, run.subject_id, run.attempt, settings.job_timeout_s)
            run.updated_at = now
            session.commit()
            counts["reenqueued"] += 1
        elif reason is not None:
            counts[_next_attempt(session, connection, run, now, settings, reason)] += 1
    session.commit()
    return counts


def retry_timestamps(session: Session, env, now: datetime, limit: int = 20) -> dict:
    """Retry due pending photo and scan timestamps and pending checkpoint timestamps; stop at the first refusal."""
    counts = {"granted": 0, "still_pending": 0}
    ids = session.scalars(
        select(PhotoEvidence.photo_id)
        .where(
            PhotoEvidence.tsa_status == "pending",
            PhotoEvidence.tsa_attempts > 0,
            PhotoEvidence.tsa_next_attempt_at <= now,
        )
        .order_by(PhotoEvidence.tsa_next_attempt_at)
        .limit(limit)
    ).all()
    for photo_id in ids:
        if retry_timestamp(session, env, photo_id):
            counts["granted"] += 1
        else:
            counts["still_pending"] += 1
            break  # the TSA is down: the others would fail the same way
    scan_ids = (
        []
        if counts["still_pending"]
        else session.scalars(
            select(ScanEvidence.scan_id)
            .where(
                ScanEvidence.tsa_status == "pending",
                ScanEvidence.tsa_attempts > 0,
                ScanEvidence.tsa_next_attempt_at <= now,
            )
            .order_by(ScanEvidence.tsa_next_attempt_at)
            .limit(limit)
        ).all()
    )
    for scan_id in scan_ids:
        if retry_scan_timestamp(session, env, scan_id):
            counts["granted"] += 1
        else:
            counts["still_pending"] += 1
            break
    for checkpoint in session.scalars(
        select(LogCheckpoint).where(LogCheckpoint.tsa_status == "pending").order_by(LogCheckpoint.tree_size).limit(5)
    ).all():
        if not translog.timestamp_checkpoint(checkpoint, env.tsa, session, now):
            session.commit()
            break
        session.commit()
    return counts


def checkpoint_if_due(session: Session, env, now: datetime) -> LogCheckpoint | None:
    """Sign (and timestamp) a checkpoint when the log grew and the interval has passed."""
    last = translog.latest_checkpoint(session)
    if last is not None and (now - last.created_at).total_seconds() < env.settings.checkpoint_interval_s:
        return None
    if last is not None and not translog.growth_besides_timestamps(session, last.tree_size):
        return None  # only the events binding earlier checkpoint tokens were added: nothing new to sign
    checkpoint = translog.make_checkpoint(session, env.signer, now, env.tsa)
    session.commit()
    return checkpoint


def tick(app) -> dict:
    """One round of dispatching and housekeeping, each part isolated so one failure does not stop the rest."""
    report: dict = {}
    with app.app_context():
        env = env_for(app)
        session = db.session()
        now = env.clock.now()
        parts = (
            ("outbox", lambda: dispatch_outbox(session, app.extensions["dangan.redis"].client(app), now, env.settings)),
            ("recovery", lambda: recover_runs(session, app.extensions["dangan.redis"].client(app), now, env.settings)),
            ("timestamps", lambda: retry_timestamps(session, env, now)),
            ("checkpoint", lambda: {"size": getattr(checkpoint_if_due(session, env, now), "tree_size", None)}),
            ("schedules", lambda: schedule_periodic(app.extensions["dangan.redis"].client(app), now)),
        )
        for name, part in parts:
            try:
                report[name] = part()
            except Exception as exc:  # the loop must survive Redis or database outages
                session.rollback()
                report[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                log.warning("dispatcher %s failed: %s", name, exc)
        db.session.remove()
    return report


# --- best-effort enqueue right after the web transaction commits -----------------------------

_PENDING_KEY = "dangan.new_outbox"
_STATE_KEY = "dangan.dispatch"


def _after_flush(session, _context) -> None:
    new = [
        (obj.event, obj.subject_id)
        for obj in session.new
        if isinstance(obj, OutboxEvent) and (obj.event in pipeline.PIPELINES or obj.event in JOB_EVENTS)
    ]
    if new:
        session.info.setdefault(_PENDING_KEY, []).extend(new)


def _after_rollback(session) -> None:
    session.info.pop(_PENDING_KEY, None)


def _after_commit(session) -> None:
    events = session.info.pop(_PENDING_KEY, None)
    app = current_app_or_none() if events else None
    if app is None or not app.config.get("DISPATCH_ON_COMMIT", True):
        return
    state = app.extensions.get(_STATE_KEY)
    if state is None or time.monotonic() < state["breaker_until"]:
        return
    try:
        connection = app.extensions["dangan.redis"].client(app)
        for event_name, subject_id in events:
            if event_name in JOB_EVENTS:
                JOB_EVENTS[event_name](None, connection, subject_id)
                continue
            job_id = pipeline.job_id(event_name, subject_id, 1)
            if job_state(connection, job_id) is None:
                enqueue(connection, event_name, subject_id, 1)
    except Exception as exc:  # Redis down: the dispatcher tick will enqueue from the outbox
        state["breaker_until"] = time.monotonic() + 30
        log.warning("immediate dispatch skipped (%s); the outbox keeps the work", exc)


def init_app(app) -> None:
    """Enqueue new pipeline outbox rows right after the app's own sessions commit (best effort).

    The listeners sit on the app's session factory (``db.session``), not on every ORM session of
    the process; the circuit-breaker state lives in ``app.extensions``.
    """
    app.extensions[_STATE_KEY] = {"breaker_until": 0.0}
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
    ):
        if not sa_event.contains(db.session, name, listener):
            sa_event.listen(db.session, name, listener)
