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
