"""Running a pipeline for one outbox event: lease, steps with a commit each, bounded retries.

The database row of the run (``pipeline_runs``) is the truth; Redis only delivers the job. A job
first claims the run's lease; each committed step renews it, and so does a keeper thread while
the job runs (every third of the lease), so a long step is never taken over. A worker killed
mid-step stops renewing: once its lease has expired, whatever host it ran on, the dispatcher hands
the run to a new attempt, which resumes after the last committed step. Failures wait (backoff)
and retry up to ``max_attempts``, then stay ``failed`` until someone presses retry on the admin
jobs page.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actor import SYSTEM
from models import PhotoEvidence, PipelineRun, ScanEvidence, audit
from models.database import db
from services import pipeline, scan_stamping, stamping
from services.stamping_env import Env, env_for

log = logging.getLogger("dangan.worker")
ACTIVE = ("queued", "running", "retry_wait")
HOST = socket.gethostname()[:32]  # lease owners are <job id>@<host>:<pid> (100 characters at most)


def lease_owner(event: str, subject_id: str, attempt: int) -> str:
    """The owner this process records with a run's lease (a label for people; only expiry decides)."""
    return f"{pipeline.job_id(event, subject_id, attempt)}@{HOST}:{os.getpid()}"


class LeaseKeeper:
    """Renews a run's lease from a thread while its job runs, in short transactions of its own.

    A step may take longer than the lease (a slow TSA, a huge photo); the keeper renews every
    ``lease_s / 3`` seconds whatever lease this owner holds on the run (none before the job's
    claim, none after it ends), so only a worker that stopped (killed, frozen host) lets it expire.
    """

    def __init__(self, bind, event: str, subject_id: str, owner: str, clock, lease_s: float):
        self.bind, self.event, self.subject_id, self.owner = bind, event, subject_id, owner
        self.clock, self.lease_s = clock, lease_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"lease-{subject_id}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)

    def renew_now(self) -> bool:
        """Extend this owner's lease on the run once; False when it holds none."""
        with Session(bind=self.bind) as own:
            result = own.execute(
                update(PipelineRun)
                .where(
                    PipelineRun.event == self.event,
                    PipelineRun.subject_id == self.subject_id,
                    PipelineRun.lease_owner == self.owner,
                )
                .values(lease_expires_at=self.clock.now() + timedelta(seconds=self.lease_s))
            )
            own.commit()
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    def _loop(self) -> None:
        while not self.stopped.wait(self.lease_s / 3):
            try:
                self.renew_now()
            except Exception:  # a busy database: the next round tries again, the lease has room
                log.warning("could not renew the lease of %s %s", self.event, self.subject_id, exc_info=True)


def run_in_app(app, event: str, subject_id: str, attempt: int) -> str:
    """Run the pipeline of ``event`` for ``subject_id`` inside ``app`` (the job body of :mod:`workers.jobs`)."""
    with app.app_context():
        session = db.session()
        # The run holds the lease on its rows: what it loaded stays valid across its per-step commits,
        # so they are not all expired and read again after each one. The subject's state and the run
        # row are read again where another process may change them. The session ends with the job.
        session.expire_on_commit = False
        env = env_for(app)
        keeper = LeaseKeeper(
            db.engine, event, subject_id, lease_owner(event, subject_id, attempt), env.clock, env.settings.lease_s
        )
        try:
            with keeper:
                return process(session, env, event, subject_id, attempt)
        finally:
            db.session.remove()


def _get_run(session: Session, event: str, subject_id: str) -> PipelineRun | None:
    return session.scalar(select(PipelineRun).where(PipelineRun.event == event, PipelineRun.subject_id == subject_id))


def ensure_run(session: Session, event: str, subject_id: str, now: datetime) -> PipelineRun:
    """The run row of an event, created (attempt 1, queued) if missing; committed."""
    run = _get_run(session, event, subject_id)
    if run is None:
        run = PipelineRun(
            event=event,
            subject_id=subject_id,
            status="queued",
            attempt=1,
            job_id=pipeline.job_id(event, subject_id, 1),
            created_at=now,
            updated_at=now,
        )
        session.add(run)
        try:
            session.commit()
        except IntegrityError:  # another dispatcher or job created it first
            session.rollback()
            run = _get_run(session, event, subject_id)
            assert run is not None
    return run


def claim(
    session: Session, event: str, subject_id: str, attempt: int, owner: str, now: datetime, lease_s: float
) -> PipelineRun | None:
    """Take the run's lease for this attempt; None if it is done, superseded or held by a live worker."""
    run = ensure_run(session, event, subject_id, now)
    result = session.execute(
        update(PipelineRun)
        .where(
            PipelineRun.id == run.id,
            PipelineRun.attempt == attempt,
            PipelineRun.status.in_(ACTIVE),
            or_(PipelineRun.lease_owner.is_(None), PipelineRun.lease_expires_at < now),
        )
        .values(status="running", lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
    )
    assert isinstance(result, CursorResult)
    taken = result.rowcount
    session.commit()
    if taken != 1:
        return None
    session.refresh(run)
    return run


def _renew(session: Session, run: PipelineRun, owner: str, now: datetime, lease_s: float) -> bool:
    result = session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run.id, PipelineRun.lease_owner == owner)
        .values(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def record_failure(
    session: Session, run_id: int, attempt: int, error: str, now: datetime, env: Env, final: bool = False
) -> None:
    """Note a failed attempt: wait and retry, or (after the last attempt, or ``final``) stay failed."""
    run = session.get(PipelineRun, run_id, populate_existing=True)  # as the database has it now
    if run is None or run.attempt != attempt:
        return
    run.last_error, run.lease_owner, run.lease_expires_at, run.updated_at = error[:2000], None, None, now
    if final or attempt >= env.settings.max_attempts:
        run.status, run.next_attempt_at, run.finished_at = "failed", None, now
        audit.record(
            session,
            SYSTEM,
            "evidence.pipeline_failed",
            run.event,
            run.subject_id,
            {"attempt": attempt, "error": error[:500]},
            at=now,
        )
    else:
        run.status, run.next_attempt_at = "retry_wait", now + timedelta(seconds=env.settings.backoff(attempt))
    session.commit()


def process(session: Session, env: Env, event: str, subject_id: str, attempt: int) -> str:
    """Run every step not yet done; returns done, halted, skipped or lease_lost."""
    steps = pipeline.steps_for(event)
    owner = lease_owner(event, subject_id, attempt)
    lease = env.settings.lease_s
    run = claim(session, event, subject_id, attempt, owner, env.clock.now(), lease)
    if run is None:
        return "skipped"
    run_id = run.id
    stored = session.get(pipeline.SUBJECTS[event], subject_id)
    if stored is not None and stored.state == "destroyed":
        record_failure(
            session,
            run_id,
            attempt,
            f"{event.split('.')[0]} destroyed with its dossier",
            env.clock.now(),
            env,
            final=True,
        )
        return "halted"
    ctx = pipeline.OPENERS[event](session, env, subject_id)
    if ctx is None:
        record_failure(
            session,
            run_id,
            attempt,
            f"{event.split('.')[0]} is not received (no stored bytes)",
            env.clock.now(),
            env,
            final=True,
        )
        return "halted"
    subject, evidence = ctx.subject, ctx.evidence
    session.commit()
    for step in steps:
        if step.name in (evidence.steps_done or []):
            continue
        session.refresh(subject, ["state"])
        if subject.state == "destroyed":  # destroyed while the pipeline ran: make nothing more of it
            record_failure(
                session, run_id, attempt, f"{ctx.kind} destroyed with its dossier", env.clock.now(), env, final=True
            )
            return "halted"
        now = env.clock.now()
        try:
            step.run(ctx)
        except stamping.Halt as exc:
            subject.state = pipeline.HALTED_STATE
            evidence.steps_done = [*evidence.steps_done, step.name]
            audit.record(
                session,
                SYSTEM,
                "evidence.halted",
                ctx.kind,
                subject.id,
                {"step": step.name, "reason": str(exc)},
                at=now,
            )
            session.commit()
            record_failure(session, run_id, attempt, f"halted at {step.name}: {exc}", now, env, final=True)
            return "halted"
        except Exception as exc:
            session.rollback()
            log.exception("stamping step %s failed for %s %s", step.name, event, subject_id)
            record_failure(session, run_id, attempt, f"{step.name}: {type(exc).__name__}: {exc}", now, env)
            raise
        # recorded before the lease check so that one UPDATE carries the step's results and its name
        evidence.steps_done = [*evidence.steps_done, step.name]
        subject.state = step.state_after
        if not _renew(session, run, owner, now, lease):
            session.rollback()
            log.warning("lease lost for %s %s at %s", event, subject_id, step.name)
            return "lease_lost"
        audit.record(
            session, SYSTEM, f"evidence.{step.name}", ctx.kind, subject.id, _summary(step.name, evidence), at=now
        )
        session.commit()
    now = env.clock.now()
    session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run_id, PipelineRun.lease_owner == owner)
        .values(
            status="done", finished_at=now, lease_owner=None, lease_expires_at=None, last_error=None, updated_at=now
        )
    )
    session.commit()
    return "done"


def _summary(step: str, evidence) -> dict:
    """The audit details of a step: what it established, in a few fields."""
    if step == "verify_hashes":
        return {"sha256": evidence.sha256, "sm3": evidence.sm3, "hash_ok": evidence.hash_ok}
    if step == "read_exif":
        return {"metadata_status": evidence.metadata_status, "reason": evidence.metadata_reason}
    if step == "analyse_time":
        return {"estimated_capture_at": evidence.time_analysis.get("estimated_capture_at"), "flags": evidence.flags}
    if step == "make_derivatives":
        if hasattr(evidence, "stamped_key"):
            return {"stamped_key": evidence.stamped_key, "error": evidence.derivatives_error}
        return {"preview_key": evidence.preview_key, "error": evidence.derivatives_error}
    if step == "timestamp":
        return {"tsa_status": evidence.tsa_status, "tsa_kind": evidence.tsa_kind}
    return {"leaf_index": evidence.stamped_leaf_index}


def retry_timestamp(session: Session, env: Env, photo_id: str) -> bool:
    """One more try for a pending photo timestamp; a granted token is logged as ``timestamped``."""

    evidence = session.get(PhotoEvidence, photo_id)
    if evidence is None or evidence.tsa_status != "pending" or evidence.sha256 is None:
        return False
    now = env.clock.now()
    granted = stamping.request_timestamp(evidence, env.tsa, now, env.settings.tsa_max_attempts)
    if granted:
        stamping.log_timestamped(session, evidence, now)
    audit.record(
        session,
        SYSTEM,
        "evidence.timestamp_retry",
        "photo",
        photo_id,
        {"tsa_status": evidence.tsa_status, "attempts": evidence.tsa_attempts},
        at=now,
    )
    session.commit()
    return granted


def retry_scan_timestamp(session: Session, env: Env, scan_id: str) -> bool:
    """One more try for a pending scan timestamp; a granted token is logged as ``scan_timestamped``."""
    evidence = session.get(ScanEvidence, scan_id)
    if evidence is None or evidence.tsa_status != "pending" or evidence.sha256 is None:
        return False
    now = env.clock.now()
    granted = stamping.request_timestamp(evidence, env.tsa, now, env.settings.tsa_max_attempts)
    if granted:
        scan_stamping.log_timestamped(session, scan_id, evidence, now)
    audit.record(
        session,
        SYSTEM,
        "evidence.timestamp_retry",
        "scan",
        scan_id,
        {"tsa_status": evidence.tsa_status, "attempts": evidence.tsa_attempts},
        at=now,
    )
    session.commit()
    return granted
