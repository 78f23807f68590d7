"""Legal staff's pages: evidence search, a result, exports with progress, approvals, the use register."""

from __future__ import annotations

from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from core import errors
from core.beijing_time import BEIJING
from core.labels import BASIS_LABELS, FLAG_LABELS, TSA_KIND_LABELS, TSA_LABELS
from core.policy import can
from core.scans import FLAG_LABELS as SCAN_FLAG_LABELS
from models.captures import REVIEW_STATES
from models.database import db
from models.legal import EXPORT_STATES
from server.auth import current_actor, require
from services import (
    evidence_export,
    export_approval,
    filing_scope,
    legal_search,
    review_evidence,
    scans,
    trust_anchors,
    use_register,
)
from services.ports_access import ports
from services.stamping_env import env_for

bp = Blueprint("legal", __name__, url_prefix="/legal")
CHUNK = 1024 * 1024
REVIEW_LABELS = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "已退回",
    "has_issues": "有问题",
    "closed": "已关闭（档案已销毁）",
}


@bp.app_template_filter("lg_time")
def local_time(value) -> str:
    """An instant (datetime or ISO string) as Beijing time."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S（北京时间）")


@bp.app_template_filter("lg_size")
def size_text(value) -> str:
    """Bytes as a short human size."""
    value = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


# the search filters recorded in the use register, as the search form names them
FILTER_LABELS = {
    "account_no": "户号",
    "name": "户名",
    "captured_from": "拍摄时间从",
    "captured_to": "拍摄时间至",
    "received_from": "接收时间从",
    "received_to": "接收时间至",
    "latitude": "纬度",
    "longitude": "经度",
    "radius_m": "半径",
    "near_site": "客户现场附近",
    "category": "照片类别",
    "inspector": "检查员账号",
    "review_state": "审核状态",
    "flag": "标记",
    "sort": "排序",
}
# the steps of building an evidence bundle (EvidenceExport.phase)
EXPORT_PHASES = {
    "collecting": "收集照片",
    "originals": "复制原件",
    "log": "写入证据日志证明",
    "report": "生成报告",
    "done": "已完成",
}
SORT_LABELS = {"received": "按接收时间", "captured": "按推定拍摄时间"}


@bp.app_template_filter("lg_filters")
def filters_text(filters) -> str:
    """A recorded search's filters in words: 户号 3100012345；审核状态 已通过；排序 按接收时间."""
    parts = []
    for key, value in (filters or {}).items():
        if key in ("captured_from", "captured_to", "received_from", "received_to"):
            value = local_time(value)
        elif key == "review_state":
            value = REVIEW_LABELS.get(value, value)
        elif key == "flag":
            value = FLAG_LABELS.get(value, value)
        elif key == "sort":
            value = SORT_LABELS.get(value, value)
        elif key == "near_site":
            value = "是" if value else "否"
        elif key == "radius_m":
            value = f"{value} 米"
        parts.append(f"{FILTER_LABELS.get(key, key)} {value}")
    return "；".join(parts) or "（无筛选条件）"


def _labels() -> dict:
    return {
        "flags": FLAG_LABELS,
        "bases": BASIS_LABELS,
        "tsa": TSA_LABELS,
        "tsa_kinds": TSA_KIND_LABELS,
        "review": REVIEW_LABELS,
        "export_states": EXPORT_STATES,
        "export_phases": EXPORT_PHASES,
        "categories": review_evidence.photo_categories(),
    }


def _see_all() -> bool:
    return can(g.role, "evidence.export_approve")


def _chunks(stream):
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


# 中文 messages for the refusals that concern destroyed evidence (the code is shown beside them)
ZH = {
    errors.PHOTO_DESTROYED.code: "该照片已随档案销毁，原件不再提供。",
    errors.EXPORT_ITEMS_DESTROYED.code: "所选照片中有已销毁的照片：{ids}。请去掉它们，或勾选“略过已销毁的照片”。",
    errors.EXPORT_DESTROYED.code: "该证据包含已销毁档案的照片，已从服务器删除。",
    errors.EXPORT_EXPIRED.code: "该证据包已过保存期限并从服务器删除，请重新申请导出。",
    errors.EXPORT_FAILED.code: "证据包生成失败，错误已记录。",
}


def _refused(exc: errors.DomainError, endpoint: str, **values):
    db.session.rollback()
    if exc.status == 410:  # bytes that are gone for good (destroyed, expired) answer 410 Gone, as in the API
        raise exc
    template = ZH.get(exc.code)
    text = template.format(ids="、".join(exc.details.get("photo_ids", []))) if template else errors.zh_message(exc)
    flash(f"{text}（{exc.code}）", "error")
    return redirect(url_for(endpoint, **values), code=303)


@bp.route("/")
@require("evidence.search")
def search():
    """The search form and one page of results with thumbnails and evidence status."""
    page, error = None, None
    if request.args:
        try:
            filters = legal_search.parse_filters(request.args)
            page = legal_search.search(
                db.session, current_actor(), g.user, filters, request.args.get("cursor") or None, ports().clock.now()
            )
        except errors.DomainError as exc:
            db.session.rollback()
            error = f"{errors.zh_message(exc)}（{exc.code}）"
    next_args = dict(request.args, cursor=page["next_cursor"]) if page and page["next_cursor"] else None
    return render_template(
        "legal/search.html",
        page=page,
        error=error,
        args=request.args,
        next_args=next_args,
        labels=_labels(),
        review_states=REVIEW_STATES,
    ), (400 if error else 200)


def _scan_filters(args) -> scans.ScanFilters:
    def day(name: str) -> date | None:
        value = (args.get(name) or "").strip()
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"filter": name})

    return scans.ScanFilters(
        account_no=(args.get("account_no") or "").strip() or None,
        doc_type=args.get("doc_type") or None,
        date_from=day("date_from"),
        date_to=day("date_to"),
        flag=args.get("flag") or None,
    )


@bp.route("/scans")
@require("evidence.search")
def scan_search():
    """Scanned paper documents of all customers by 户号, type, document date and quality flag."""
    page, error = None, None
    if request.args:
        try:
            page = scans.legal_search(
                db.session,
                current_actor(),
                g.user,
                _scan_filters(request.args),
                request.args.get("cursor") or None,
                ports().clock.now(),
            )
        except errors.DomainError as exc:
            db.session.rollback()
            error = f"{exc.message}（{exc.code}）"
    next_args = dict(request.args, cursor=page["next_cursor"]) if page and page["next_cursor"] else None
    return render_template(
        "legal/scans.html",
        page=page,
        error=error,
        args=request.args,
        next_args=next_args,
        doc_types=filing_scope.current().doc_types,
        flag_labels=SCAN_FLAG_LABELS,
    ), (400 if error else 200)


@bp.route("/photos/<photo_id>")
@require("evidence.search")
def photo(photo_id):
    """One result: every time source, place, hashes, timestamp, review and custody; opening is registered."""
    detail = legal_search.open_result(db.session, current_actor(), g.user, photo_id, ports().clock.now())
    return render_template("legal/photo.html", item=detail, labels=_labels())


@bp.route("/photos/<photo_id>/thumbnail")
@require("evidence.search")
def thumbnail(photo_id):
    """The result's thumbnail (a derived copy)."""
    stream = legal_search.open_thumbnail(db.session, photo_id, ports().blobs)
    response = Response(stream_with_context(_chunks(stream)), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/photos/<photo_id>/original", methods=["POST"])
@require("evidence.export")
def original(photo_id):
    """Download the original after the purpose is stated (registered)."""
    try:
        stream, name, mime = legal_search.open_original(
            db.session,
            current_actor(),
            g.user,
            photo_id,
            request.form.get("purpose"),
            ports().clock.now(),
            ports().blobs,
        )
    except errors.DomainError as exc:
        return _refused(exc, "legal.photo", photo_id=photo_id)
    response = Response(stream_with_context(_chunks(stream)), mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/exports", methods=["GET", "POST"])
@require("evidence.export")
def exports():
    """The user's exports and the form to ask for a new one (purpose asked first)."""
    if request.method == "POST":
        form = request.form
        try:
            criteria = evidence_export.Criteria(
                account_no=form.get("account_no", "").strip() or None,
                date_from=_form_day(form.get("date_from")),
                date_to=_form_day(form.get("date_to")),
                photo_ids=tuple(p for p in form.getlist("photo_id") if p),
                skip_destroyed=form.get("skip_destroyed") == "1",
            )
            export = evidence_export.request_export(
                db.session,
                current_actor(),
                g.user,
                criteria,
                form.get("purpose"),
                ports().clock.now(),
                export_approval.limits_from(current_app.config),
            )
        except errors.DomainError as exc:
            return _refused(exc, "legal.exports")
        flash("已提交导出申请，等待审批。" if export.state == "awaiting_approval" else "已开始生成证据包。", "info")
        return redirect(url_for("legal.export", export_id=export.id), code=303)
    rows = [evidence_export.export_dict(e) for e in evidence_export.list_exports(db.session, g.user, _see_all())]
    return render_template(
        "legal/exports.html", exports=rows, labels=_labels(), preset=request.args.get("account_no", "")
    )


def _form_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "date"}) from exc


@bp.route("/exports/<int:export_id>")
@require("evidence.export")
def export(export_id):
    """An export's state and progress (the page refreshes itself while the bundle is built)."""
    row = evidence_export.export_dict(evidence_export.get_export(db.session, export_id, g.user, _see_all()))
    return render_template(
        "legal/export.html", export=row, labels=_labels(), refresh=row["state"] in ("queued", "running")
    )


@bp.route("/exports/<int:export_id>/progress.json")
@require("evidence.export")
def export_progress(export_id):
    """The same progress as JSON, for scripts and the page."""
    row = evidence_export.export_dict(evidence_export.get_export(db.session, export_id, g.user, _see_all()))
    return {
        k: row[k]
        for k in ("id", "state", "phase", "done_items", "item_count", "done_bytes", "total_bytes", "percent", "error")
    }


@bp.route("/exports/<int:export_id>/bundle")
@require("evidence.export")
def bundle(export_id):
    """Download the finished bundle (registered)."""
    try:
        stream, name = evidence_export.open_bundle(
            db.session, current_actor(), g.user, export_id, _see_all(), ports().clock.now(), ports().exports
        )
    except errors.DomainError as exc:
        return _refused(exc, "legal.export", export_id=export_id)
    response = Response(stream_with_context(_chunks(stream)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/approvals")
@require("evidence.export_approve")
def approvals():
    """Exports waiting for a manager's approval."""
    rows = [evidence_export.export_dict(e) for e in export_approval.waiting(db.session)]
    return render_template("legal/approvals.html", exports=rows, labels=_labels())


@bp.route("/approvals/<int:export_id>", methods=["POST"])
@require("evidence.export_approve")
def decide(export_id):
    """Approve or reject one waiting export."""
    try:
        evidence_export.decide(
            db.session,
            current_actor(),
            g.user,
            export_id,
            request.form.get("decision") == "approve",
            request.form.get("note"),
            ports().clock.now(),
        )
    except errors.DomainError as exc:
        return _refused(exc, "legal.approvals")
    flash("已处理导出申请。", "info")
    return redirect(url_for("legal.approvals"), code=303)


@bp.route("/anchors")
@require("evidence.search")
def anchors():
    """The trust anchors a court's expert pins: TSA roots with their fingerprints, and the evidence log key."""
    described = trust_anchors.describe(db.session, env_for(current_app._get_current_object()))
    return render_template("legal/anchors.html", anchors=described)


@bp.route("/uses")
@require("evidence.uses_read")
def uses():
    """The use register (档案利用登记)."""
    rows = [use_register.use_dict(u) for u in use_register.list_uses(db.session, 300)]
    return render_template("legal/uses.html", uses=rows)
