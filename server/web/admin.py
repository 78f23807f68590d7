"""Admin pages: stamping jobs (failures, backlog, retry) and tablets (enrolment codes, revocation)."""
import segno
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from server import errors
from server.auth import current_actor, require
from server.extensions import db
from server.models import Device, User
from server.ports_access import ports
from server.redis_client import get_redis
from server.services import devices as device_service
from server.services import enrolment, stamping_jobs
from server.web.capture import enrol_url
from workers.labels import TSA_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")

STATUS_LABELS = {"failed": "失败（需人工重试）", "retry_wait": "等待自动重试", "running": "处理中",
                 "queued": "排队中", "done": "完成"}


def _queue_depths() -> dict | None:
    from workers.queues import depths

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


def _devices_page(issued: dict | None = None, status: int = 200):
    inspectors = db.session.scalars(select(User).where(User.role == "inspector", User.active.is_(True))
                                    .order_by(User.username)).all()
    tablets = db.session.scalars(select(Device).order_by(Device.created_at.desc())).all()
    return render_template("admin/devices.html", inspectors=inspectors, tablets=tablets, issued=issued,
                           validity_hours=int(enrolment.VALIDITY.total_seconds() // 3600)), status


@bp.route("/devices")
@require("devices.manage")
def devices():
    """Tablets and their inspectors; a form that creates a one-time enrolment code."""
    return _devices_page()


@bp.route("/devices/enrol", methods=["POST"])
@require("devices.manage")
def enrol():
    """Create an enrolment code and show it once, as 8 characters and as a QR code."""
    inspector = request.form.get("inspector", "")
    try:
        row, code = enrolment.create_code(db.session, current_actor(), inspector, ports().clock.now(),
                                          request.form.get("device_name", "")[:128], created_by=g.user.username)
        db.session.commit()
    except errors.DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _devices_page(status=exc.status)
    url = enrol_url(code)
    qr = segno.make(url, error="m")
    return _devices_page({"code": code, "grouped": f"{code[:4]} {code[4:]}", "url": url,
                          "qr": qr.svg_data_uri(scale=6, border=2), "inspector": inspector,
                          "expires_at": row.expires_at})


@bp.route("/devices/<string:device_id>/revoke", methods=["POST"])
@require("devices.manage")
def revoke(device_id: str):
    """Revoke a tablet: its app deletes the customer data and keeps unsent captures."""
    try:
        device = device_service.revoke_device(db.session, current_actor(), device_id, ports().clock.now())
        db.session.commit()
        flash(f"已停用：{device.name}", "info")
    except errors.DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("admin.devices"))
