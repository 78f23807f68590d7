"""The worker keeps the periodic jobs queued exactly once per period, whoever asks and how often."""

from datetime import datetime, timedelta, timezone

from rq import Queue

from services.schedules import schedule_periodic


def test_periodic_jobs_are_queued_once_per_period(app):
    redis = app.extensions["dangan.redis"].client(app)
    now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing: today's daily run is due
    first = schedule_periodic(redis, now)
    again = schedule_periodic(redis, now + timedelta(minutes=5))
    assert first["uploads_sweep"] is True and again["uploads_sweep"] is False
    assert first["lifecycle_daily"] == again["lifecycle_daily"] == "lifecycle-daily-2026-03-02"
    default = Queue("default", connection=redis)
    assert default.job_ids == ["lifecycle-daily-2026-03-02", f"uploads-sweep-{now:%Y%m%d%H}"]
    later = schedule_periodic(redis, now + timedelta(hours=1))
    assert later["uploads_sweep"] is True and len(default.job_ids) == 3


def test_the_next_daily_run_is_queued_when_half_past_one_beijing_time_has_come(app):
    redis = app.extensions["dangan.redis"].client(app)
    default = Queue("default", connection=redis)
    before = datetime(2026, 3, 2, 17, 29, tzinfo=timezone.utc)  # 01:29 on 3 March in Beijing
    assert schedule_periodic(redis, before)["lifecycle_daily"] == "lifecycle-daily-2026-03-02"
    assert "lifecycle-daily-2026-03-03" not in default.job_ids
    after = before + timedelta(minutes=1)
    assert schedule_periodic(redis, after)["lifecycle_daily"] == "lifecycle-daily-2026-03-03"
    assert "lifecycle-daily-2026-03-03" in default.job_ids


def test_many_workers_asking_at_the_same_moment_queue_each_periodic_job_once(app):
    """Every worker of a cluster calls the scheduler on each tick; the period's jobs still run once."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    import redis as redis_lib

    url = app.config["REDIS_URL"]
    now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    workers = 16
    start = Barrier(workers)

    def worker_tick(_):
        connection = redis_lib.Redis.from_url(url)  # each worker process has its own connection
        start.wait()
        return schedule_periodic(connection, now)

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(worker_tick, range(workers)))
    default = Queue("default", connection=app.extensions["dangan.redis"].client(app))
    assert sorted(default.job_ids) == sorted(["lifecycle-daily-2026-03-02", f"uploads-sweep-{now:%Y%m%d%H}"])
    assert sum(r["uploads_sweep"] for r in results) == 1
