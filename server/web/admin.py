"""The admin jobs page: stamping failures, outbox backlog, queue depths, and a retry button."""
from flask import Blueprint, flash, redirect, render_template, url_for

from core import errors
from server.auth import current_actor, require
from models.database import db
from services.ports_access import ports
from ports.redis_connection import get_redis
from services import stamping_jobs
from core.labels import TSA_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")

STATUS_LABELS = {"failed": "失败（需人工重试）", "retry_wait": "等待自动重试", "running": "处理中",
                 "queued": "排队中", "done": "完成"}


def _queue_depths() -> dict | None:
    from ports.job_queue import depths

    try:
        return depths(get_redis())
    except Exception:  # Redis down: the page still shows the database side
        return None


@bp.route("/jobs")
@require("system.jobs")
def jobs():
    """Show failed and waiting stamping jobs, the outbox backlog and the queues."""
    now = ports().clock.now()
    return render_template("admin/jobs.html", figures=stamping_jobs.counts(db.session, now),
                           runs=stamping_jobs.troubled_runs(db.session), backlog=stamping_jobs.backlog(db.session),
                           queues=_queue_depths(), STATUS_LABELS=STATUS_LABELS, TSA_LABELS=TSA_LABELS, now=now)


@bp.route("/jobs/<int:run_id>/retry", methods=["POST"])
@require("system.jobs")
def retry(run_id: int):
    """Give a failed or waiting stamping job one more attempt now."""
    try:
        run = stamping_jobs.retry(db.session, current_actor(), run_id, ports().clock.now(), get_redis)
        flash(f"已重新提交：{run.subject_id}（第 {run.attempt} 次）", "info")
    except errors.DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("admin.jobs"))
