"""Daily archive-lifecycle jobs: recompute filing deadlines, sweep retention eligibility and
remove evidence bundles kept past ``EXPORT_BUNDLE_DAYS``.

Both are idempotent (running them twice on a day changes nothing the second time) and commit
their own work. :func:`workers.jobs.daily_lifecycle` is the RQ job; the dispatcher tick queues it
once the day's 01:30 Beijing time has come, under one job id per day, so that any number of
workers never double it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from core.actor import SYSTEM, Actor
from core.beijing_time import BEIJING
from models.database import db
from ports.job_queue import enqueue_once
from services import evidence_export
from services.lifecycle import obligations, retention
from services.lifecycle.common import local_date
from services.lifecycle.settings import LifecycleSettings, settings_from

log = logging.getLogger("dangan.lifecycle")
DAILY_AT = time(1, 30)  # Beijing time: before the office opens
JOB_FUNCTION = "workers.jobs.daily_lifecycle"


def recompute_deadlines(
    session: Session, actor: Actor, today: date, now: datetime, settings: LifecycleSettings
) -> dict:
    """Record events named by approved captures, then recompute every open obligation; commits."""
    added = obligations.events_from_approved_captures(session, actor, today, now, settings)
    result = obligations.recompute_all(session, actor, today, now, settings)
    session.commit()
    return result | {"events_from_captures": added}


def sweep_retention(session: Session, actor: Actor, today: date, now: datetime, settings: LifecycleSettings) -> dict:
    """Track every closed account's retention and count the dossiers eligible today; commits."""
    result = retention.sweep(session, actor, today, now, settings)
    session.commit()
    return result


def due_day(now: datetime) -> date:
    """The Beijing day whose daily run is due at ``now``: today from 01:30 on, before that yesterday."""
    local = now.astimezone(BEIJING)
    return local.date() if local.time() >= DAILY_AT else local.date() - timedelta(days=1)


def schedule_daily(connection, now: datetime) -> str:
    """Queue the daily run that is due, once per Beijing day whoever asks and how often; return its job id.

    The dispatcher tick calls this every few seconds, so the run starts within seconds of 01:30
    (or at the first tick after a stopped night); the job id of the day makes it happen once.
    """
    job_id = f"lifecycle-daily-{due_day(now).isoformat()}"
    enqueue_once(connection, "default", job_id, JOB_FUNCTION, 7 * 86400)
    return job_id


def run_in_app(app) -> dict:
    """Recompute deadlines, sweep retention and remove expired bundles (the job body of :mod:`workers.jobs`)."""
    with app.app_context():
        ports = app.extensions["dangan.ports"]
        now = ports.clock.now()
        today, settings = local_date(now), settings_from(app.config)
        session = db.session()
        result = {
            "deadlines": recompute_deadlines(session, SYSTEM, today, now, settings),
            "retention": sweep_retention(session, SYSTEM, today, now, settings),
            "expired_bundles": evidence_export.expire_bundles(session, ports.exports, now),
        }
        log.info("lifecycle daily run: %s", result)
        return result
