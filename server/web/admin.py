"""Admin pages: stamping jobs (failures, outbox backlog, queues, retry), the working-day calendar and tablets
(enrolment codes, revocation)."""

import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from core import errors
from core.errors import zh_message
from core.labels import TSA_LABELS
from models import Device, FilingObligation, User
from models.database import db
from ports.job_queue import depths
from ports.redis_connection import get_redis
from server.auth import current_actor, require
from server.web.capture import enrol_url
from services import devices as device_service
from services import enrolment, stamping_jobs
from services.lifecycle import calendar_arrangements, obligations, working_days
from services.lifecycle.common import local_date, user_label
from services.lifecycle.settings import settings_from
from services.ports_access import ports

bp = Blueprint("admin", __name__, url_prefix="/admin")

# the file format, shown on the page (dates here only illustrate the format: not a published arrangement)
EXAMPLE_FILE = """{
  "year": 2027,
  "title": "国务院办公厅关于2027年部分节假日安排的通知",
  "document_no": "国办发明电〔2026〕N号",
  "published_on": "2026-11-20",
  "holidays": {
    "元旦": ["2027-01-01/2027-01-03"],
    "春节": ["2027-02-05/2027-02-12"]
  },
  "workdays": ["2027-02-13"]
}"""

QUEUE_LABELS = {"stamping": "证据固定", "default": "日常任务", "exports": "证据包导出"}
STATUS_LABELS = {
    "failed": "失败（需人工重试）",
    "retry_wait": "等待自动重试",
    "running": "处理中",
    "queued": "排队中",
    "done": "完成",
}


def _queue_depths() -> dict | None:

    try:
        return depths(get_redis())
    except Exception:  # Redis down: the page still shows the database side
        return None


@bp.route("/jobs")
@require("system.jobs")
def jobs():
    """Show failed and waiting stamping jobs, the outbox backlog and the queues."""
    now = ports().clock.now()
    return render_template(
        "admin/jobs.html",
        figures=stamping_jobs.counts(db.session, now),
        runs=stamping_jobs.troubled_runs(db.session),
        backlog=stamping_jobs.backlog(db.session),
        queues=_queue_depths(),
        STATUS_LABELS=STATUS_LABELS,
        QUEUE_LABELS=QUEUE_LABELS,
        TSA_LABELS=TSA_LABELS,
        now=now,
    )


@bp.route("/jobs/<int:run_id>/retry", methods=["POST"])
@require("system.jobs")
def retry(run_id: int):
    """Give a failed or waiting stamping job one more attempt now."""
    try:
        run = stamping_jobs.retry(db.session, current_actor(), run_id, ports().clock.now(), get_redis)
        flash(f"已重新提交：{run.subject_id}（第 {run.attempt} 次）", "info")
    except errors.DomainError as exc:
        db.session.rollback()
        flash(zh_message(exc), "error")
    return redirect(url_for("admin.jobs"))


@bp.route("/calendar")
@require("calendar.manage")
def calendar():
    """The working-day calendar: years and their source, loaded arrangements, the load form."""
    now = ports().clock.now()
    today = local_date(now)
    working = calendar_arrangements.current(db.session)
    rows = calendar_arrangements.loaded(db.session)
    loaders = {
        u.id: user_label(u)
        for u in db.session.scalars(select(User).where(User.id.in_([r.loaded_by_id for r in rows if r.loaded_by_id])))
    }
    provisional = db.session.scalar(
        select(func.count()).select_from(FilingObligation).where(FilingObligation.provisional.is_(True))
    )
    return render_template(
        "admin/calendar.html",
        info=working.info(today),
        rows=rows,
        loaders=loaders,
        today=today,
        provisional=provisional,
        BASIS_LABELS=working_days.BASIS_LABELS,
        calendar_warning=today.year + 1 if working.next_year_missing(today) else None,
        example=EXAMPLE_FILE,
        problems=[],
    )


@bp.route("/calendar", methods=["POST"])
@require("calendar.manage")
def load_calendar():
    """Load a year's holiday arrangement (uploaded file or pasted text) and recompute provisional deadlines."""
    upload = request.files.get("file")
    content = (
        upload.read(calendar_arrangements.MAX_BYTES + 1)
        if upload and upload.filename
        else (request.form.get("text") or "").encode("utf-8")
    )
    now = ports().clock.now()
    try:
        arrangement = calendar_arrangements.parse(content)
        result = obligations.load_arrangement(
            db.session, current_actor(), arrangement, local_date(now), now, settings_from(current_app.config)
        )
    except errors.DomainError as exc:
        db.session.rollback()
        flash(f"{zh_message(exc)}（{exc.code}）", "error")
        for problem in exc.details.get("errors", [])[:20]:
            flash(problem, "error")
        return redirect(url_for("admin.calendar"))
    flash(
        f"已导入 {result['year']} 年放假安排（{result['document_no']}，{result['published_on']}）；"
        f"重新计算 {result['recomputed']['checked']} 项归档期限，{result['recomputed']['changed']} 项有变化，"
        f"仍为暂定 {result['recomputed']['provisional']} 项。",
        "info",
    )
    return redirect(url_for("admin.calendar"))


def _devices_page(issued: dict | None = None, status: int = 200):
    inspectors = db.session.scalars(
        select(User).where(User.role == "inspector", User.active.is_(True)).order_by(User.username)
    ).all()
    tablets = db.session.scalars(select(Device).order_by(Device.created_at.desc())).all()
    return render_template(
        "admin/devices.html",
        inspectors=inspectors,
        tablets=tablets,
        issued=issued,
        validity_hours=int(enrolment.VALIDITY.total_seconds() // 3600),
    ), status


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
        row, code = enrolment.create_code(
            db.session,
            current_actor(),
            inspector,
            ports().clock.now(),
            request.form.get("device_name", "")[:128],
            created_by=g.user.username,
        )
    except errors.DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _devices_page(status=exc.status)
    url = enrol_url(code)
    qr = segno.make(url, error="m")
    return _devices_page(
        {
            "code": code,
            "grouped": f"{code[:4]} {code[4:]}",
            "url": url,
            "qr": qr.svg_data_uri(scale=6, border=2),
            "inspector": inspector,
            "expires_at": row.expires_at,
        }
    )


@bp.route("/devices/<string:device_id>/revoke", methods=["POST"])
@require("devices.manage")
def revoke(device_id: str):
    """Revoke a tablet: its app deletes the customer data and keeps unsent captures."""
    try:
        device = device_service.revoke_device(db.session, current_actor(), device_id, ports().clock.now())
        flash(f"已停用：{device.name}", "info")
    except errors.DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("admin.devices"))
