"""Redis stopped during intake, or losing its data: stamping is delayed, nothing is lost or done twice."""

from __future__ import annotations

import os
import shutil

import pytest
import redis as redis_lib
from rq import SimpleWorker
from sqlalchemy import func, select

from models import LogLeaf, OutboxEvent, Photo, PipelineRun
from models.database import db
from ports import Ports, embedded_redis
from ports.blobstore import LocalBlobStore
from ports.clock import FakeClock
from ports.job_queue import queue
from server import create_app
from services import dispatch
from tests.helpers.images import make_jpeg
from tests.helpers.received_photos import make_capture, received_photo
from workers import context


@pytest.fixture
def own_redis():
    """A private embedded redis-server (never the shared one), stoppable by the test."""
    root = f"/tmp/dg5-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    state = {"proc": embedded_redis.start(root)}

    def stop():
        state["proc"].terminate()
        state["proc"].wait(timeout=10)

    def start():
        state["proc"] = embedded_redis.start(root)

    yield embedded_redis.url_for(root), stop, start
    if state["proc"].poll() is None:
        stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def outage_app(database_url, own_redis, tmp_path):
    url, _stop, _start = own_redis
    clock = FakeClock()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "SECRET_KEY": "test",
            "PORTS": Ports(clock=clock, blobs=LocalBlobStore(tmp_path / "blobs")),
        }
    )
    app.extensions["dangan.dispatch"]["breaker_until"] = 0.0
    with app.app_context():
        context.set_app(app)
        yield app, clock
        db.session.remove()
        db.engine.dispose()


def _work(app) -> None:
    connection = app.extensions["dangan.redis"].client(app)
    dispatch.tick(app)
    SimpleWorker([queue("stamping", connection)], connection=connection).work(burst=True)
    dispatch.tick(app)


def _stamped_once_each(photo_ids) -> None:
    db.session.expire_all()
    for photo_id in photo_ids:
        assert db.session.get(Photo, photo_id).state == "ready"
        for event in ("received", "stamped"):
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(LogLeaf)
                    .where(LogLeaf.subject_id == photo_id, LogLeaf.event_type == event)
                )
                == 1
            )


def test_photos_received_while_redis_is_down_are_stamped_once_it_is_back(outage_app, own_redis):
    app, clock = outage_app
    _url, stop, start = own_redis
    capture = make_capture()
    stop()
    photos = [received_photo(make_jpeg(seed=i), capture) for i in range(3)]  # intake commits without Redis
    report = dispatch.tick(app)
    assert report["outbox"] == {"dispatched": 0, "waiting": 1}
    rows = db.session.scalars(select(OutboxEvent)).all()
    assert len(rows) == 3 and all(row.dispatched_at is None for row in rows)
    health = app.test_client().get("/api/v1/health").json
    assert health["status"] == "degraded"
    assert health["checks"]["stamping"]["outbox_backlog"] == 3

    start()
    clock.advance(seconds=30)
    _work(app)
    _stamped_once_each([p.id for p in photos])
    assert all(row.dispatched_at is not None for row in db.session.scalars(select(OutboxEvent)))
    assert app.test_client().get("/api/v1/health").json["checks"]["stamping"]["outbox_backlog"] == 0


def test_jobs_lost_by_redis_after_dispatch_are_enqueued_again(outage_app):
    app, clock = outage_app
    photo = received_photo(make_jpeg(), make_capture())
    dispatch.tick(app)
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    assert run.status == "queued"
    redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()  # Redis restarted without its data
    clock.advance(seconds=dispatch.MISSING_JOB_GRACE_S + 1)
    _work(app)
    _stamped_once_each([photo.id])
    db.session.expire_all()
    run = db.session.get(PipelineRun, run.id)
    assert (run.status, run.attempt) == ("done", 1)


def test_immediate_dispatch_after_commit_enqueues_without_waiting_for_the_dispatcher(outage_app):
    app, _clock = outage_app
    photo = received_photo(make_jpeg(), make_capture())
    connection = app.extensions["dangan.redis"].client(app)
    assert queue("stamping", connection).count == 1  # enqueued by the commit hook
    SimpleWorker([queue("stamping", connection)], connection=connection).work(burst=True)
    dispatch.tick(app)  # finds the job already done: marks the outbox row, enqueues nothing new
    assert queue("stamping", connection).count == 0
    _stamped_once_each([photo.id])
