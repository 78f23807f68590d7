"""The worker keeps the periodic jobs scheduled exactly once, whoever asks and how often."""
from datetime import datetime, timedelta, timezone

from rq import Queue
from rq.registry import ScheduledJobRegistry

from services.schedules import schedule_periodic


def test_periodic_jobs_are_scheduled_once_per_period(app):
    redis = app.extensions["dangan.redis"].client(app)
    now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    first = schedule_periodic(redis, now)
    again = schedule_periodic(redis, now + timedelta(minutes=5))
    assert first["uploads_sweep"] is True and again["uploads_sweep"] is False
    assert first["lifecycle_daily"] == again["lifecycle_daily"]
    default = Queue("default", connection=redis)
    assert default.job_ids == [f"uploads-sweep-{now:%Y%m%d%H}"]
    assert first["lifecycle_daily"] in ScheduledJobRegistry(queue=default).get_job_ids()
    later = schedule_periodic(redis, now + timedelta(hours=1))
    assert later["uploads_sweep"] is True and len(default.job_ids) == 2


def test_the_worker_moves_due_scheduled_jobs_into_their_queue(app):
    from rq.scheduler import RQScheduler

    from ports.job_queue import QUEUE_NAMES
    from workers.jobs import sweep_uploads
    from workers.run import scheduler_tick

    redis = app.extensions["dangan.redis"].client(app)
    default = Queue("default", connection=redis)
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    job = default.enqueue_at(past, sweep_uploads, job_id="due-now")
    assert default.job_ids == []
    scheduler = RQScheduler(list(QUEUE_NAMES), connection=redis)
    try:
        scheduler_tick(scheduler)
        assert default.job_ids == [job.id]
        assert ScheduledJobRegistry(queue=default).get_job_ids() == []
    finally:
        scheduler.release_locks()
