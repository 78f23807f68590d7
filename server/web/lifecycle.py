"""Pages of the archive lifecycle: 归档期限, 档案利用, 销户与保管期限, 法律保全, 销毁, 装盒, 质量指标."""

from __future__ import annotations

import os
import tempfile
from datetime import date

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for

from core import errors
from core.beijing_time import BEIJING
from core.policy import can
from models import Customer, User
from models.database import db
from models.lifecycle import DISPOSAL_STATES, OBLIGATION_STATES, USE_FORMS, USE_STATES
from server.auth import current_actor, require
from services import filing_scope
from services.customer_import import csv_text
from services.lifecycle import (
    borrowing,
    boxes,
    calendar_arrangements,
    charts,
    destruction,
    events_import,
    obligations,
    quality,
    retention,
    working_days,
)
from services.lifecycle.common import customer_by_account, local_date, user_label
from services.lifecycle.daily import recompute_deadlines, sweep_retention
from services.lifecycle.settings import EVENT_LABELS, settings_from
from services.ports_access import ports

bp = Blueprint("lifecycle", __name__, url_prefix="/lifecycle")
PER_PAGE = 50

# Page-specific wording where a form here says more than the catalogue's zh-CN message (code shown beside).
ZH = {
    "calendar.out_of_coverage": "节假日日历未覆盖该日期，无法计算工作日期限。",
    "user.unknown": "没有该用户名的责任人。",
    "request.validation_failed": "请填写必填项。",
    "import.missing_columns": "缺少必需的列（户号、业务类型、发生日期）。",
}


def _now():
    now = ports().clock.now()
    return now, local_date(now)


def _rules():
    return settings_from(current_app.config)


def _flash_error(exc: errors.DomainError) -> None:
    db.session.rollback()
    flash(f"{ZH.get(exc.code) or errors.zh_message(exc)}（{exc.code}）", "error")


def _back(default: str):
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/lifecycle/") else url_for(default))


def _page() -> int:
    value = request.args.get("page", "1")
    return max(int(value), 1) if value.isdigit() else 1


def _date_field(name: str, required: bool = True) -> date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw and not required:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise errors.DomainError(errors.VALIDATION_FAILED, details={"fields": {name: ["not a date"]}}) from None


def _int_list(raw: str) -> list[int]:
    out = []
    for part in (raw or "").replace("，", ",").replace(" ", ",").split(","):
        part = part.strip()
        if "-" in part:
            lo, _, hi = part.partition("-")
            if lo.isdigit() and hi.isdigit() and int(hi) - int(lo) < 1000:
                out.extend(range(int(lo), int(hi) + 1))
                continue
        if part.isdigit():
            out.append(int(part))
        elif part:
            raise errors.DomainError(errors.VALIDATION_FAILED, details={"fields": {"items": [part]}})
    return out


def _csv_response(rows: list[list[str]], filename: str) -> Response:
    # UTF-8 with BOM so that Excel on office PCs opens the Chinese text correctly
    return Response(
        "\ufeff" + csv_text(rows),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.app_template_filter("doc_label")
def doc_label(code) -> str:
    """The 中文名 of a document type code from the filing scope table."""
    return filing_scope.current().doc_label(code)


@bp.app_template_filter("local_time")
def local_time(value) -> str:
    """Render an aware timestamp in Beijing time, labelled."""
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M（北京时间）") if value else ""


@bp.app_context_processor
def lifecycle_labels():
    """Labels the lifecycle templates share."""
    return {
        "EVENT_LABELS": EVENT_LABELS,
        "OBLIGATION_STATES": OBLIGATION_STATES,
        "USE_FORMS": USE_FORMS,
        "USE_STATES": USE_STATES,
        "DISPOSAL_STATES": DISPOSAL_STATES,
        "VOLTAGE_LABELS": {"high": "高压", "low": "低压"},
    }


# --- 归档期限 ---------------------------------------------------------------------------------


@bp.route("/")
@require("lifecycle.manage")
def index():
    """The lifecycle area starts with the deadlines."""
    return redirect(url_for("lifecycle.deadlines"))


@bp.route("/deadlines")
@require("lifecycle.manage")
def deadlines():
    """Overdue and due-soon filing obligations per district and responsible person."""
    view = request.args.get("view", "urgent")
    states = {"urgent": ("overdue", "due_soon", "no_calendar"), "all": None}.get(
        view, (view,) if view in OBLIGATION_STATES else ("overdue", "due_soon", "no_calendar")
    )
    district = request.args.get("district") or None
    responsible = request.args.get("responsible") or None
    responsible_id = int(responsible) if responsible and responsible.isdigit() else None
    rows, total = obligations.list_obligations(
        db.session, states=states, district=district, responsible_id=responsible_id, page=_page(), per_page=PER_PAGE
    )
    _now_, today = _now()
    people = db.session.query(User).filter(User.active.is_(True)).order_by(User.username).all()
    return render_template(
        "lifecycle/deadlines.html",
        rows=rows,
        total=total,
        page=_page(),
        per_page=PER_PAGE,
        view=view,
        district=district,
        responsible_id=responsible_id,
        today=today,
        summary=obligations.summary(db.session),
        history=obligations.due_date_history(db.session, [r.obligation.id for r in rows]),
        calendar=calendar_arrangements.current(db.session).info(today),
        BASIS_LABELS=working_days.BASIS_LABELS,
        people=people,
    )


@bp.route("/deadlines.csv")
@require("lifecycle.manage")
def deadlines_csv():
    """Every filing obligation as CSV; a provisional due date is marked 暂定."""
    rows, _total = obligations.list_obligations(db.session, page=1, per_page=1_000_000)
    out = [
        [
            "户号",
            "户名",
            "供电单位",
            "业务类型",
            "业务单号",
            "发生日期",
            "期限（工作日）",
            "应归档日期",
            "期限依据",
            "需归档文件",
            "责任人",
            "状态",
            "归档日期",
        ]
    ]
    for row in rows:
        o = row.obligation
        out.append(
            [
                row.customer.account_no,
                row.customer.name,
                row.customer.district or "",
                EVENT_LABELS.get(o.kind, o.kind),
                row.event.reference or "",
                o.opened_on.isoformat(),
                str(o.working_days),
                o.due_on.isoformat() if o.due_on else "无法计算（日历未覆盖）",
                "暂定" if o.provisional else ("正式" if o.due_on else ""),
                "、".join(filing_scope.current().doc_label(d) for d in o.required_doc_types or []),
                user_label(row.responsible),
                OBLIGATION_STATES.get(o.state, o.state),
                o.met_on.isoformat() if o.met_on else "",
            ]
        )
    return _csv_response(out, "deadlines.csv")


@bp.route("/events", methods=["POST"])
@require("lifecycle.manage")
def record_event():
    """Record a business event by hand (opens its filing obligation)."""
    now, today = _now()
    try:
        outcome = obligations.record_event(
            db.session,
            current_actor(),
            account_no=request.form.get("account_no", ""),
            kind=request.form.get("kind", ""),
            occurred_on=_date_field("occurred_on"),
            today=today,
            now=now,
            settings=_rules(),
            reference=request.form.get("reference"),
            note=request.form.get("note"),
            responsible=request.form.get("responsible"),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        o = outcome.obligation
        due = o.due_on.isoformat() if o.due_on else "无法计算（日历未覆盖）"
        if o.provisional:
            due += "（暂定：该年放假安排尚未发布）"
        flash(
            f"已登记业务事件，归档期限 {o.working_days} 个工作日，应于 {due} 前归档。"
            if outcome.created
            else "该业务单号已登记过，未重复登记。"
        )
    return _back("lifecycle.deadlines")


@bp.route("/events/import", methods=["POST"])
@require("lifecycle.manage")
def import_events():
    """Import business events from a marketing-system export (CSV/XLSX)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的文件。", "error")
        return redirect(url_for("lifecycle.deadlines"))
    suffix = os.path.splitext(upload.filename)[1].lower()[:6]
    fd, path = tempfile.mkstemp(suffix=suffix, dir=current_app.config["DANGAN_DATA_DIR"])
    now, today = _now()
    try:
        with os.fdopen(fd, "wb") as fh:
            upload.save(fh)
        report = events_import.import_events(
            db.session,
            current_actor(),
            path,
            today=today,
            now=now,
            max_bytes=current_app.config["IMPORT_MAX_BYTES"],
            settings=_rules(),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("lifecycle.deadlines"))
    finally:
        os.unlink(path)
    flash(
        f"导入 {report.rows} 行：新登记 {report.created}，已存在 {report.unchanged}，出错 {len(report.errors)}。",
        "error" if report.errors else "info",
    )
    for err in report.errors[:20]:
        flash(f"第 {err['row']} 行 {err['column']}：{err['reason']}", "error")
    return redirect(url_for("lifecycle.deadlines"))


@bp.route("/recompute", methods=["POST"])
@require("lifecycle.manage")
def recompute():
    """Recompute all open obligations now."""

    now, today = _now()
    result = recompute_deadlines(db.session, current_actor(), today, now, _rules())
    flash(f"已重新计算 {result['checked']} 项未完成的归档事项，{result['changed']} 项状态有变化。")
    return redirect(url_for("lifecycle.deadlines"))


# --- 档案利用 / 借阅 ----------------------------------------------------------------------------


@bp.route("/use")
@require("lifecycle.manage")
def uses():
    """The use register with its actions (approve, sign out, return, complete)."""
    _now_, today = _now()
    state = request.args.get("state") or None
    overdue = request.args.get("overdue") == "1"
    rows, total = borrowing.list_uses(
        db.session,
        today,
        state=state if state in USE_STATES else None,
        overdue_only=overdue,
        account_no=request.args.get("account") or None,
        page=_page(),
        per_page=PER_PAGE,
    )
    return render_template(
        "lifecycle/uses.html",
        rows=rows,
        total=total,
        page=_page(),
        per_page=PER_PAGE,
        state=state,
        overdue=overdue,
        today=today,
        may_approve=can(g.role, "lifecycle.approve"),
    )


@bp.route("/use", methods=["POST"])
@require("lifecycle.manage")
def register_use():
    """Register a use of dossier items."""
    now, _today = _now()
    try:
        use = borrowing.register_use(
            db.session,
            current_actor(),
            account_no=request.form.get("account_no", ""),
            item_seqs=_int_list(request.form.get("items", "")),
            requester_name=request.form.get("requester_name", ""),
            purpose=request.form.get("purpose", ""),
            form=request.form.get("form", ""),
            now=now,
            requester_unit=request.form.get("requester_unit"),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash(
            f"已登记（登记号 {use.id}）。" + ("借出原件须经档案管理部门负责人批准。" if use.form == "original" else "")
        )
    return redirect(url_for("lifecycle.uses"))


@bp.route("/use/<int:request_id>/decide", methods=["POST"])
@require("lifecycle.approve")
def decide_use(request_id: int):
    """Approve or reject lending an original."""
    try:
        borrowing.decide(
            db.session,
            current_actor(),
            request_id,
            request.form.get("decision") == "approve",
            _now()[0],
            request.form.get("note"),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已审批。")
    return redirect(url_for("lifecycle.uses"))


@bp.route("/use/<int:request_id>/sign-out", methods=["POST"])
@require("lifecycle.manage")
def sign_out(request_id: int):
    """Hand out an approved original."""
    try:
        borrowing.sign_out(
            db.session, current_actor(), request_id, _now()[0], _rules(), _date_field("due_on", required=False)
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已办理借出。")
    return redirect(url_for("lifecycle.uses"))


@bp.route("/use/<int:request_id>/return", methods=["POST"])
@require("lifecycle.manage")
def receive_return(request_id: int):
    """Record the return of an original."""
    try:
        borrowing.receive_return(db.session, current_actor(), request_id, _now()[0])
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已登记归还。")
    return redirect(url_for("lifecycle.uses"))


@bp.route("/use/<int:request_id>/complete", methods=["POST"])
@require("lifecycle.manage")
def complete_use(request_id: int):
    """Close a registered view/copy/extract."""
    try:
        borrowing.complete(db.session, current_actor(), request_id, _now()[0])
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已完成。")
    return redirect(url_for("lifecycle.uses"))


@bp.route("/use.csv")
@require("lifecycle.manage")
def use_register_csv():
    """Download the complete use register (档案利用登记表) as CSV."""
    rows = borrowing.register_rows(db.session, _now()[1])
    return _csv_response(rows, "use-register.csv")


# --- 销户与保管期限、销毁 -------------------------------------------------------------------------


@bp.route("/retention")
@require("lifecycle.manage")
def retention_page():
    """Closed dossiers with eligibility dates; pick eligible ones for a disposal list."""
    _now_, today = _now()
    only = request.args.get("eligible") == "1"
    rows, total = retention.list_retention(db.session, today, only_eligible=only, page=_page(), per_page=PER_PAGE)
    lists, _ = destruction.list_disposals(db.session, 1, 10)
    records, _ = destruction.list_records(db.session, 1, 10)
    settings = _rules()
    return render_template(
        "lifecycle/retention.html",
        rows=rows,
        total=total,
        page=_page(),
        per_page=PER_PAGE,
        only=only,
        today=today,
        lists=lists,
        records=records,
        years=settings.retention_years,
    )


@bp.route("/close", methods=["POST"])
@require("lifecycle.manage")
def close_account():
    """Close an account (销户)."""
    now, today = _now()
    try:
        state = retention.close_account(
            db.session,
            current_actor(),
            request.form.get("account_no", ""),
            _date_field("closed_on"),
            today,
            now,
            _rules(),
            reference=request.form.get("reference"),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash(f"已销户，档案转入销户档案，{state.retention_years} 年保管期满后（{state.eligible_on}）方可销毁。")
    return redirect(url_for("lifecycle.retention_page"))


@bp.route("/sweep", methods=["POST"])
@require("lifecycle.manage")
def sweep():
    """Run the retention sweep now."""

    now, today = _now()
    result = sweep_retention(db.session, current_actor(), today, now, _rules())
    flash(f"已核查 {result['tracked']} 户销户档案，今日可销毁 {result['eligible']} 份。")
    return redirect(url_for("lifecycle.retention_page"))


@bp.route("/disposal", methods=["POST"])
@require("lifecycle.manage")
def propose_disposal():
    """Propose a disposal list from the selected eligible dossiers."""
    now, today = _now()
    try:
        disposal = destruction.propose_list(
            db.session,
            current_actor(),
            title=request.form.get("title", ""),
            reason=request.form.get("reason", ""),
            account_nos=request.form.getlist("accounts"),
            today=today,
            now=now,
        )
    except errors.DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("lifecycle.retention_page", eligible=1))
    flash("销毁清册已提交，等待档案管理部门负责人审批。")
    return redirect(url_for("lifecycle.disposal", list_id=disposal.id))


@bp.route("/disposal/<int:list_id>")
@require("lifecycle.manage")
def disposal(list_id: int):
    """One disposal list: entries, holds, approval and execution."""

    item = destruction.get_list(db.session, list_id)
    customers = {
        c.id: c for c in db.session.query(Customer).filter(Customer.id.in_([e.customer_id for e in item.entries]))
    }
    holds = destruction.holds_blocking(db.session, [e.customer_id for e in item.entries if not e.withdrawn])
    people = {
        u.id: u
        for u in db.session.query(User).filter(
            User.id.in_([i for i in (item.proposed_by_id, item.decided_by_id, item.executed_by_id) if i])
        )
    }
    return render_template(
        "lifecycle/disposal.html",
        item=item,
        customers=customers,
        holds=holds,
        people=people,
        may_approve=can(g.role, "lifecycle.approve"),
    )


@bp.route("/disposal/<int:list_id>/decide", methods=["POST"])
@require("lifecycle.approve")
def decide_disposal(list_id: int):
    """Approve or reject a disposal list."""
    try:
        destruction.decide_list(
            db.session,
            current_actor(),
            list_id,
            request.form.get("decision") == "approve",
            _now()[0],
            request.form.get("note"),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已审批销毁清册。")
    return redirect(url_for("lifecycle.disposal", list_id=list_id))


@bp.route("/disposal/<int:list_id>/withdraw", methods=["POST"])
@require("lifecycle.manage")
def withdraw(list_id: int):
    """Take one dossier off a list."""
    try:
        destruction.withdraw_entry(
            db.session,
            current_actor(),
            list_id,
            request.form.get("account_no", ""),
            _now()[0],
            request.form.get("reason"),
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已从清册中撤出。")
    return redirect(url_for("lifecycle.disposal", list_id=list_id))


@bp.route("/disposal/<int:list_id>/execute", methods=["POST"])
@require("lifecycle.manage")
def execute(list_id: int):
    """Execute an approved list."""
    now, today = _now()
    try:
        report = destruction.execute_list(
            db.session, current_actor(), list_id, today, now, ports().blobs, exports=ports().exports
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash(f"销毁已执行：{len(report.records)} 份档案，删除证据文件 {report.bytes_removed} 个；销毁记录永久保存。")
    return redirect(url_for("lifecycle.disposal", list_id=list_id))


@bp.route("/destruction/<int:record_id>")
@require("lifecycle.manage")
def destruction_record(record_id: int):
    """A destruction record with its verification."""
    record = destruction.get_record(db.session, record_id)
    check = destruction.verify_record(db.session, record_id, ports().blobs, ports().exports)
    return render_template("lifecycle/destruction.html", record=record, check=check, c=record.content)


# --- 法律保全 -----------------------------------------------------------------------------------


@bp.route("/holds")
@require("lifecycle.hold")
def holds():
    """Active legal holds; place and lift."""

    active = retention.active_holds(db.session)
    customers = (
        {c.id: c for c in db.session.query(Customer).filter(Customer.id.in_({h.customer_id for h in active}))}
        if active
        else {}
    )
    return render_template("lifecycle/holds.html", holds=active, customers=customers)


@bp.route("/holds", methods=["POST"])
@require("lifecycle.hold")
def place_hold():
    """Place a legal hold."""
    seq = (request.form.get("item_seq") or "").strip()
    try:
        retention.place_hold(
            db.session,
            current_actor(),
            request.form.get("account_no", ""),
            request.form.get("reason", ""),
            _now()[0],
            item_seq=int(seq) if seq.isdigit() else None,
        )
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已设置法律保全，解除前该档案不得销毁。")
    return redirect(url_for("lifecycle.holds"))


@bp.route("/holds/<int:hold_id>/lift", methods=["POST"])
@require("lifecycle.hold")
def lift_hold(hold_id: int):
    """Lift a legal hold."""
    try:
        retention.lift_hold(db.session, current_actor(), hold_id, request.form.get("reason", ""), _now()[0])
    except errors.DomainError as exc:
        _flash_error(exc)
    else:
        flash("已解除法律保全。")
    return redirect(url_for("lifecycle.holds"))


# --- 实物档案装盒 --------------------------------------------------------------------------------


@bp.route("/boxes")
@require("lifecycle.manage")
def boxes_page():
    """Box overview and where one customer's originals are."""
    account = (request.args.get("account") or "").strip()
    found = location = None
    if account:
        try:
            found = customer_by_account(db.session, account)
            location = boxes.location_of_customer(db.session, found.id)
        except errors.DomainError as exc:
            flash(f"{ZH.get(exc.code) or errors.zh_message(exc)}（{exc.code}）", "error")
    return render_template(
        "lifecycle/boxes.html",
        overview=boxes.box_overview(db.session),
        account=account,
        customer=found,
        location=location,
    )


@bp.route("/boxes/assign", methods=["POST"])
@require("lifecycle.manage")
def assign_boxes():
    """Assign a box position to one customer, or to every customer without one."""
    account = (request.form.get("account_no") or "").strip()
    now, _today = _now()
    try:
        if account:
            customer = customer_by_account(db.session, account)
            boxes.assign_box(db.session, current_actor(), customer, now, _rules())
        else:
            result = boxes.assign_all(db.session, current_actor(), now, _rules())
    except errors.DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("lifecycle.boxes_page"))
    if account:
        return redirect(url_for("lifecycle.boxes_page", account=account))
    flash(f"已为 {result['assigned']} 户分配盒位。")
    return redirect(url_for("lifecycle.boxes_page"))


# --- 质量指标 -----------------------------------------------------------------------------------


@bp.route("/quality", endpoint="quality")
@require("quality.read")
def quality_page():
    """Quality figures with server-drawn charts."""
    data = quality.figures(db.session, _now()[1])
    district_rows = data["by_district"][:20]
    svgs = [
        charts.bar_chart(
            "档案完整率（按供电单位）", [(r["district"], r["completeness_rate"]) for r in district_rows], maximum=100
        ),
        charts.bar_chart(
            "按期归档率（按供电单位）", [(r["district"], r["on_time_rate"]) for r in district_rows], maximum=100
        ),
        charts.bar_chart(
            "退回率（按检查员）",
            [(r["name"], r["rejection_rate"]) for r in data["by_person"] if r["captures"]][:20],
            maximum=100,
        ),
        charts.bar_chart(
            "平均审核用时（小时，按检查员）",
            [(r["name"], r["review_hours_avg"]) for r in data["by_person"] if r["captures"]][:20],
            unit="h",
        ),
    ]
    return render_template("lifecycle/quality.html", data=data, svgs=svgs)


@bp.route("/quality.csv")
@require("quality.read")
def quality_csv():
    """Download the quality figures as CSV."""
    return _csv_response(quality.csv_rows(quality.figures(db.session, _now()[1])), "quality.csv")
