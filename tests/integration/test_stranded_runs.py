"""A stamping run survives its worker dying at any moment: the dispatcher sweep picks it up again.

Each test leaves the run exactly as a kill at one moment leaves it (before the job reached Redis,
after a worker took the job off its queue, in the job before and after its claim, between the
job's last step and its commit), then lets the sweep and a worker run: the photo ends ``ready``,
stamped once.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LogLeaf, OutboxEvent, Photo, PipelineRun
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from services import dispatch, pipeline, stamping_env
from services import pipeline_runs as runner
from tests.helpers.images import make_jpeg
from tests.helpers.received_photos import make_capture, received_photo
from workers import context

EVENT = "photo.received"


def _work(app) -> None:
    context.set_app(app)
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    dispatch.tick(app)


def _run(photo_id: str) -> PipelineRun:
    db.session.expire_all()
    return db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo_id))


def _assert_stamped_once(photo_id: str) -> None:
    db.session.expire_all()
    assert db.session.get(Photo, photo_id).state == "ready"
    assert _run(photo_id).status == "done"
    for event in ("received", "stamped"):
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LogLeaf)
                .where(LogLeaf.subject_id == photo_id, LogLeaf.event_type == event)
            )
            == 1
        )


def _queued_photo(app) -> Photo:
    """A received photo whose first job sits on the stamping queue (the commit hook put it there)."""
    context.set_app(app)
    photo = received_photo(make_jpeg(), make_capture())
    dispatch.tick(app)  # the run row exists, the outbox row is dispatched
    job_id = pipeline.job_id(EVENT, photo.id, 1)
    assert job_id in queue("stamping", get_redis()).get_job_ids()
    return photo


def _take_off_the_queue(job_id: str) -> None:
    """What a worker does when it dequeues a job (before it marks the job started)."""
    assert get_redis().lrem(queue("stamping", get_redis()).key, 0, job_id) == 1


def test_a_run_killed_before_its_job_reached_redis_is_enqueued_by_the_sweep(app, clock):
    app.config["DISPATCH_ON_COMMIT"] = False  # the web process died right after its commit
    context.set_app(app)
    photo = received_photo(make_jpeg(), make_capture())
    runner.ensure_run(db.session, EVENT, photo.id, clock.now())  # a dispatcher died before enqueueing
    assert db.session.scalar(select(OutboxEvent.dispatched_at).where(OutboxEvent.subject_id == photo.id)) is None
    assert queue("stamping", get_redis()).count == 0
    clock.advance(seconds=dispatch.MISSING_JOB_GRACE_S + 1)
    _work(app)
    _assert_stamped_once(photo.id)


def test_a_run_whose_job_vanished_from_redis_is_enqueued_again(app, clock):
    photo = _queued_photo(app)
    get_redis().flushdb()  # Redis lost its data (restart without persistence)
    clock.advance(seconds=dispatch.MISSING_JOB_GRACE_S + 1)
    _work(app)
    _assert_stamped_once(photo.id)


def test_a_job_taken_off_the_queue_by_a_worker_that_died_is_enqueued_again(app, clock):
    photo = _queued_photo(app)
    job_id = pipeline.job_id(EVENT, photo.id, 1)
    _take_off_the_queue(job_id)
    assert Job.fetch(job_id, connection=get_redis()).get_status() == JobStatus.QUEUED  # still says queued
    clock.advance(seconds=dispatch.MISSING_JOB_GRACE_S + 1)
    _work(app)
    _assert_stamped_once(photo.id)
    run = _run(photo.id)
    assert (run.status, run.attempt) == ("done", 1)


def test_a_job_started_by_a_worker_that_died_before_claiming_the_run_is_given_a_new_attempt(app, clock):
    photo = _queued_photo(app)
    job_id = pipeline.job_id(EVENT, photo.id, 1)
    _take_off_the_queue(job_id)
    job = Job.fetch(job_id, connection=get_redis())
    started = datetime.now(timezone.utc) - timedelta(seconds=dispatch.UNCLAIMED_JOB_GRACE_S + 5)
    job.set_status(JobStatus.STARTED)
    get_redis().hset(job.key, "started_at", started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    run = _run(photo.id)
    assert (run.status, run.attempt, run.lease_owner) == ("queued", 1, None)  # the stranded state
    clock.advance(seconds=dispatch.MISSING_JOB_GRACE_S + 1)
    _work(app)
    _assert_stamped_once(photo.id)
    run = _run(photo.id)
    assert (run.status, run.attempt) == ("done", 2)


def test_a_job_that_just_started_is_left_to_claim_its_run(app, clock):
    photo = _queued_photo(app)
    job_id = pipeline.job_id(EVENT, photo.id, 1)
    _take_off_the_queue(job_id)
    job = Job.fetch(job_id, connection=get_redis())
    job.set_status(JobStatus.STARTED)
    get_redis().hset(job.key, "started_at", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    clock.advance(seconds=dispatch.MISSING_JOB_GRACE_S + 1)
    context.set_app(app)
    dispatch.tick(app)
    run = _run(photo.id)
    assert (run.status, run.attempt) == ("queued", 1)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("where", ["another host", "this host, process gone"])
def test_a_killed_workers_lease_is_taken_over_after_it_expires_and_not_before(app, clock, where):
    photo = _queued_photo(app)
    _take_off_the_queue(pipeline.job_id(EVENT, photo.id, 1))
    host_pid = f"worker-node-7:{4242}" if where == "another host" else f"{runner.HOST}:{_dead_pid()}"
    owner = f"{pipeline.job_id(EVENT, photo.id, 1)}@{host_pid}"
    lease_s = stamping_env.env_for(app).settings.lease_s
    run = runner.claim(db.session, EVENT, photo.id, 1, owner, clock.now(), lease_s)
    assert run is not None
    clock.advance(seconds=lease_s - 1)
    _work(app)  # the lease still runs: nobody else works on the run, whoever held it
    assert (_run(photo.id).attempt, _run(photo.id).lease_owner) == (1, owner)
    assert db.session.get(Photo, photo.id).state == "received"
    clock.advance(seconds=2)
    _work(app)
    _assert_stamped_once(photo.id)
    assert _run(photo.id).attempt == 2


def test_a_step_longer_than_the_lease_keeps_its_run(app, clock, monkeypatch):
    app.config["STAMPING_LEASE_SECONDS"] = 0.3  # the keeper renews every 0.1 s of real time
    photo = _queued_photo(app)
    _take_off_the_queue(pipeline.job_id(EVENT, photo.id, 1))
    first = pipeline.steps_for(EVENT)[0]
    real_run = first.run
    swept = {}

    def slow_step(ctx):
        clock.advance(seconds=60)  # far past the lease as the last commit set it
        deadline = datetime.now(timezone.utc) + timedelta(seconds=30)
        with db.engine.connect() as conn:  # the keeper renews from its own connection
            while datetime.now(timezone.utc) < deadline:
                expires = conn.execute(
                    select(PipelineRun.lease_expires_at).where(PipelineRun.subject_id == photo.id)
                ).scalar()
                conn.rollback()
                if expires is not None and expires.replace(tzinfo=None) > clock.now().replace(tzinfo=None):
                    break
        with Session(bind=db.engine) as other:  # the dispatcher, in another process
            swept.update(dispatch.recover_runs(other, get_redis(), clock.now(), stamping_env.env_for(app).settings))
        return real_run(ctx)

    steps = (dataclasses.replace(first, run=slow_step), *pipeline.steps_for(EVENT)[1:])
    monkeypatch.setattr(pipeline, "steps_for", lambda event: steps)
    assert runner.run_in_app(app, EVENT, photo.id, 1) == "done"  # the job body, as a worker runs it
    assert swept["requeued"] == 0 and swept["failed"] == 0
    _assert_stamped_once(photo.id)
    assert _run(photo.id).attempt == 1


def test_a_run_killed_between_its_last_step_and_its_commit_is_finished_after_its_lease(app, clock, monkeypatch):
    photo = _queued_photo(app)
    real_execute = db.session.execute

    def killed_at_the_final_commit(statement, *args, **kwargs):
        values = getattr(statement, "_values", None) or {}
        if any(getattr(key, "key", key) == "finished_at" for key in values):
            raise SystemExit("killed")  # not an Exception: nothing in the job handles it
        return real_execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", killed_at_the_final_commit)
    with pytest.raises(SystemExit):
        runner.process(db.session, stamping_env.env_for(app), EVENT, photo.id, 1)
    monkeypatch.undo()
    db.session.rollback()
    _take_off_the_queue(pipeline.job_id(EVENT, photo.id, 1))
    run = _run(photo.id)
    assert run.status == "running" and run.lease_owner is not None
    assert db.session.get(Photo, photo.id).state == "ready"  # every step committed, the run did not
    clock.advance(seconds=stamping_env.env_for(app).settings.lease_s + 1)
    _work(app)
    _assert_stamped_once(photo.id)
    assert _run(photo.id).attempt == 2
