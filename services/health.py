"""The health report: database, Redis, queue depth, outbox backlog and disk."""

from __future__ import annotations

import shutil
import time

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import OutboxEvent
from ports.job_queue import depths, live_workers
from services.stamping_jobs import counts


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **(check() or {})}
    except Exception as exc:  # health must report, never raise
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def report(session: Session, redis_client_factory, data_dir: str, min_free_bytes: int) -> dict:
    """Collect the health report; status is ok, degraded (Redis or the worker down: stamping waits) or down."""

    def database():
        session.execute(text("SELECT 1"))
        backlog = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
        return {"dialect": session.get_bind().dialect.name, "outbox_backlog": backlog}

    def redis_check():
        client = redis_client_factory()
        client.ping()
        return {"queues": depths(client)}

    def worker():
        alive = live_workers(redis_client_factory())
        return {"ok": alive > 0, "alive": alive}

    def disk():
        usage = shutil.disk_usage(data_dir)
        return {"free_bytes": usage.free, "total_bytes": usage.total, "low": usage.free < min_free_bytes}

    def stamping():
        from datetime import datetime, timezone

        figures = counts(session, datetime.now(timezone.utc))
        # failed stamping runs need an operator (admin jobs page); waiting ones retry by themselves
        return {**figures, "ok": figures["failed"] == 0}

    checks = {
        "database": _timed(database),
        "redis": _timed(redis_check),
        "worker": _timed(worker),
        "disk": _timed(disk),
        "stamping": _timed(stamping),
    }
    if not checks["database"]["ok"]:
        status = "down"
    elif (
        not checks["redis"]["ok"]
        or not checks["worker"]["ok"]
        or checks["disk"].get("low")
        or not checks["disk"]["ok"]
        or not checks["stamping"]["ok"]
    ):
        status = "degraded"
    else:
        status = "ok"
    if not checks["database"]["ok"]:
        session.rollback()
    return {"status": status, "checks": checks}
