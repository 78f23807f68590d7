"""The landing page after login: the work areas this role can open."""

from flask import Blueprint, current_app, g, redirect, render_template, url_for

from core.policy import can
from models.database import db
from services.lifecycle import calendar_arrangements
from services.lifecycle.common import local_date
from services.ports_access import ports

bp = Blueprint("home", __name__)

# (endpoint, label, permission) of every work area; areas not installed are skipped.
AREAS = (
    ("review.queue", "待审核队列", "queue.read"),
    ("review.unlinked", "未关联采集", "queue.review"),
    ("dossiers.search", "客户档案", "dossier.read"),
    ("legal.search", "证据检索", "evidence.search"),
    ("lifecycle.deadlines", "归档期限", "lifecycle.manage"),
    ("lifecycle.holds", "法律保全", "lifecycle.hold"),
    ("lifecycle.quality", "质量指标", "quality.read"),
    ("admin.jobs", "后台任务", "system.jobs"),
    ("admin.calendar", "工作日日历", "calendar.manage"),
    ("admin.devices", "平板与登记码", "devices.manage"),
)


def areas_for(role: str) -> list[tuple[str, str]]:
    """(url, label) of the work areas a role may open."""
    return [
        (url_for(endpoint), label)
        for endpoint, label, permission in AREAS
        if endpoint in current_app.view_functions and can(role, permission)
    ]


@bp.route("/")
def index():
    """Show the start page for the logged-in user, or send them to the login page."""
    if g.user is None:
        return redirect(url_for("web.login"))
    calendar_warning = None
    if can(g.user.role, "calendar.manage"):
        today = local_date(ports().clock.now())
        if calendar_arrangements.current(db.session).next_year_missing(today):
            calendar_warning = today.year + 1
    return render_template("home.html", areas=areas_for(g.user.role), calendar_warning=calendar_warning)
