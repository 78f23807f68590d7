"""Customer dossier pages: search, the dossier with its 卷内目录 and completeness, printable index."""

from __future__ import annotations

from datetime import date

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
from core.policy import can
from models.database import db
from server.auth import current_actor, require
from services import dossier_print, dossiers, filing_scope, scans
from services.lifecycle.settings import settings_from
from services.ports_access import ports

bp = Blueprint("dossiers", __name__, url_prefix="/dossiers")


@bp.route("")
@require("dossier.read")
def search():
    """Find a dossier by 户号, 户名, address, meter number or archive number."""
    query = request.args.get("q", "").strip()
    results = dossiers.search(db.session, query)
    return render_template("dossiers/search.html", q=query, results=results)


@bp.route("/filing-scope")
@require("filing_scope.read")
def scope_table():
    """The filing scope table in force (客户档案归档范围表)."""
    return render_template("dossiers/filing_scope.html", scope=filing_scope.current())


@bp.route("/<account_no>")
@require("dossier.read")
def show(account_no):
    """One customer's dossier."""
    view = dossiers.dossier_view(db.session, current_actor(), account_no, ports().clock.now())
    scan_rows = scans.view_rows(db.session, scans.scans_of(db.session, view["customer"].id))
    return render_template("dossiers/show.html", v=view, scans=scan_rows, may_edit=can(g.user.role, "dossier.edit"))


SCAN_MESSAGES = {
    errors.SCAN_NO_FILE.code: "请选择要上传的扫描文件。",
    errors.SCAN_UNREADABLE.code: "文件“{filename}”无法读取：仅支持 PDF、TIFF、JPEG、PNG 扫描件。",
    errors.SCAN_TOO_LARGE.code: "文件“{filename}”过大（上限 {max} 字节）。",
    errors.SCAN_UNKNOWN_DOC_TYPE.code: "请选择归档范围表中的文件类型。",
    errors.SCAN_ALREADY_FILED.code: "该扫描件已归档。",
    errors.SCAN_INTEGRITY_FAILED.code: "该扫描件存储内容与哈希不符，不能归档。",
    errors.SCAN_UNKNOWN.code: "找不到该扫描件。",
    errors.UNKNOWN_BUSINESS_EVENT.code: "所选业务事项不属于该客户。",
    errors.VALIDATION_FAILED.code: "填写内容有误，请检查页数和日期。",
}


def _scan_message(exc: errors.DomainError) -> str:
    text = SCAN_MESSAGES.get(exc.code, exc.message)
    try:
        return text.format(**{"filename": "", "max": "", **exc.details})
    except (KeyError, IndexError, ValueError):
        return text


def _form_int(name: str) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise errors.DomainError(errors.VALIDATION_FAILED, details={name: "not a whole number"})
    return int(value)


def _form_date(name: str) -> date | None:
    value = (request.form.get(name) or "").strip()
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise errors.DomainError(errors.VALIDATION_FAILED, details={name: "not a date (YYYY-MM-DD)"})


@bp.route("/<account_no>/scans", methods=["POST"])
@require("dossier.edit")
def scan_upload(account_no):
    """Upload scanned paper documents for this customer; their quality flags show before filing."""
    back = url_for("dossiers.show", account_no=account_no) + "#scans"
    try:
        files = [(f.filename, f.read()) for f in request.files.getlist("files") if f.filename]
        request_ = scans.ScanRequest(
            doc_type=(request.form.get("doc_type") or "").strip(),
            doc_date=_form_date("doc_date"),
            business_event_id=_form_int("business_event_id"),
            declared_pages=_form_int("pages"),
            note=request.form.get("note"),
            title=request.form.get("title"),
        )
        done = scans.intake_many(
            db.session,
            current_actor(),
            g.user.id,
            account_no,
            files,
            request_,
            ports().clock.now(),
            ports().blobs,
            max_bytes=scans.max_scan_bytes(current_app.config),
        )
    except errors.DomainError as exc:
        db.session.rollback()
        flash(_scan_message(exc), "error")
        return redirect(back, code=303)
    new = sum(1 for d in done if d.created)
    flash(
        f"已接收 {new} 个扫描文件"
        + (f"（{len(done) - new} 个此前已上传）" if len(done) > new else "")
        + "，请核对质量提示后归档。",
        "success",
    )
    return redirect(back, code=303)


@bp.route("/<account_no>/scans/<scan_id>/file", methods=["POST"])
@require("dossier.edit")
def scan_file(account_no, scan_id):
    """File one scan into the 卷内目录."""
    try:
        item = scans.file_scan(
            db.session,
            current_actor(),
            g.user.id,
            scan_id,
            ports().clock.now(),
            settings_from(current_app.config),
            account_no,
        )
    except errors.DomainError as exc:
        db.session.rollback()
        flash(_scan_message(exc), "error")
    else:
        pages = dossiers.pages_label((item.extra["page_from"], item.extra["page_to"]))
        flash(f"已归档为第 {item.seq} 件（页号 {pages}）。", "success")
    return redirect(url_for("dossiers.show", account_no=account_no) + "#scans", code=303)


@bp.route("/<account_no>/scans/<scan_id>/<variant>")
@require("dossier.read")
def scan_bytes(account_no, scan_id, variant):
    """A scan's original (audited), or its first-page thumbnail or preview."""
    opened = scans.open_variant(
        db.session, current_actor(), ports().blobs, account_no, scan_id, variant, ports().clock.now()
    )

    def chunks():
        with opened.stream as stream:
            while block := stream.read(64 * 1024):
                yield block

    response = Response(stream_with_context(chunks()), mimetype=opened.mime_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    if variant == "original":
        response.headers.set("Content-Disposition", "inline", filename=opened.filename)
    return response


@bp.route("/<account_no>/index")
@require("dossier.read")
def index_print(account_no):
    """The 卷内目录 as a page made for printing."""
    view = dossiers.dossier_view(db.session, current_actor(), account_no, ports().clock.now())
    return render_template(
        "dossiers/index_print.html", v=view, rows=dossiers.index_rows(view), printed_at=ports().clock.now()
    )


@bp.route("/<account_no>/index.pdf")
@require("dossier.read")
def index_pdf(account_no):
    """The 卷内目录 as PDF."""
    pdf = dossier_print.index_pdf_for(db.session, current_actor(), account_no, ports().clock.now())
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="index-{account_no}.pdf"'}
    )
