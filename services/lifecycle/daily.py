"""Daily archive-lifecycle jobs: recompute filing deadlines, sweep retention eligibility and
remove evidence bundles kept past ``EXPORT_BUNDLE_DAYS``.

Both are idempotent (running them twice on a day changes nothing the second time) and commit
their own work. :func:`workers.jobs.daily_lifecycle` is the RQ job; it re-enqueues itself for the next
morning through RQ's scheduler (the worker runs ``with_scheduler=True``), one job id per day so
that several schedulers never double it.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy.orm import Session

from core.actor import SYSTEM, Actor
from core.beijing_time import BEIJING
from models.database import db
from ports.job_queue import queue
from services import evidence_export
from services.lifecycle import obligations, retention
from services.lifecycle.common import local_date
from services.lifecycle.settings import LifecycleSettings, settings_from

log = logging.getLogger("dangan.lifecycle")
DAILY_AT = time(1, 30)  # Beijing time: before the office opens
JOB_FUNCTION = "workers.jobs.daily_lifecycle"


def recompute_deadlines(session: Session, actor: Actor, today: date, now: datetime,
                        settings: LifecycleSettings) -> dict:
    """Record events named by approved captures, then recompute every open obligation; commits."""
    added = obligations.events_from_approved_captures(session, actor, today, now, settings)
    result = obligations.recompute_all(session, actor, today, now, settings)
    session.commit()
    return result | {"events_from_captures": added}


def sweep_retention(session: Session, actor: Actor, today: date, now: datetime,
                    settings: LifecycleSettings) -> dict:
    """Track every closed account's retention and count the dossiers eligible today; commits."""
    result = retention.sweep(session, actor, today, now, settings)
    session.commit()
    return result


def next_run(now: datetime) -> datetime:
    """The next daily run time (01:30 Beijing time) after ``now``, as aware UTC."""
    local = now.astimezone(BEIJING)
    candidate = datetime.combine(local.date(), DAILY_AT, tzinfo=BEIJING)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(now.tzinfo)


def schedule_daily(connection, now: datetime) -> str:
    """Enqueue the next daily run in RQ's scheduler (once per day, whoever asks); return its job id."""
    when = next_run(now)
    job_id = f"lifecycle-daily-{when.astimezone(BEIJING).date().isoformat()}"
    try:
        Job.fetch(job_id, connection=connection)
        return job_id
    except NoSuchJobError:
        pass
    queue("default", connection).enqueue_at(when, JOB_FUNCTION, job_id=job_id,
                                            result_ttl=7 * 86400, failure_ttl=30 * 86400)
    return job_id


def run_in_app(app) -> dict:
    """Recompute deadlines, sweep retention, remove expired bundles, then schedule tomorrow's run (the job body of
    :mod:`workers.jobs`)."""
    with app.app_context():
        ports = app.extensions["dangan.ports"]
        now = ports.clock.now()
        today, settings = local_date(now), settings_from(app.config)
        result = {"deadlines": recompute_deadlines(db.session, SYSTEM, today, now, settings),
                  "retention": sweep_retention(db.session, SYSTEM, today, now, settings),
                  "expired_bundles": evidence_export.expire_bundles(db.session, ports.exports, now)}
        try:
            result["next"] = schedule_daily(app.extensions["dangan.redis"].client(app), now)
        except Exception as exc:  # Redis down: the work is done; the next start schedules again
            log.warning("could not schedule the next lifecycle run: %s", exc)
        log.info("lifecycle daily run: %s", result)
        return result
