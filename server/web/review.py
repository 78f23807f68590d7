"""The archivist's review pages: the queue, unlinked captures, the capture detail and its actions."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from core import errors
from models.database import db
from server.auth import current_actor, require
from server.web import review_text
from services import linking, review, review_detail, review_forms, review_photos, review_queue
from services.ports_access import ports

bp = Blueprint("review", __name__, url_prefix="/review")
# row density of the queue: standard rows with form summaries, or compact rows (15+ above the fold)
DENSITIES = {"standard": "标准", "compact": "紧凑"}
DENSITY_COOKIE = "rv_density"
bp.add_app_template_filter(review_text.local_time, "rv_time")
bp.add_app_template_filter(review_text.local_day, "rv_day")
bp.add_app_template_filter(review_text.beijing_time, "beijing")
bp.add_app_template_filter(review_text.utc_time, "utc")
bp.add_app_template_filter(review_text.stored_time, "stored_time")
bp.add_app_template_filter(review_text.duration_html, "duration")
bp.add_app_template_filter(review_text.format_distance, "distance")
bp.add_app_template_global(review_text.source_value, "source_value")
bp.add_app_template_global(review_text.basis_detail, "basis_detail")
bp.add_app_template_global(review_text.tsa_statement, "tsa_statement")
bp.add_app_template_global(review_forms.slot_label, "slot_label")
bp.add_app_template_filter(review_text.media_type, "media_type")


def _form_version() -> int | None:
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else None


def _back_to(capture_id: str):
    return redirect(url_for("review.detail", capture_id=capture_id), code=303)


def _refused(exc: errors.DomainError, capture_id: str):
    """Roll back, explain in Chinese and send the archivist back to the capture."""
    db.session.rollback()
    flash(review_text.message_for(exc), "error")
    return _back_to(capture_id)


@bp.route("/queue")
@require("queue.read")
def queue():
    """The review queue with filters, sort and keyset pages."""
    filters = review_queue.parse_filters(request.args)
    page = review_queue.queue_page(db.session, filters, request.args.get("cursor") or None)
    chosen = request.args.get("density")
    density = chosen if chosen in DENSITIES else request.cookies.get(DENSITY_COOKIE)
    density = density if density in DENSITIES else "standard"
    response = make_response(
        render_template(
            "review/queue.html",
            page=page,
            filters=filters,
            choices=review_queue.filter_choices(db.session),
            first_page=not request.args.get("cursor"),
            density=density,
            DENSITIES=DENSITIES,
        )
    )
    if chosen in DENSITIES:  # the archivist's choice is kept for the next visits
        response.set_cookie(
            DENSITY_COOKIE, chosen, max_age=365 * 86400, samesite="Lax", httponly=True, secure=request.is_secure
        )
    return response


@bp.route("/unlinked")
@require("queue.read")
def unlinked():
    """Captures naming an unknown 户号, waiting to be linked to a customer."""
    page = linking.unlinked_page(db.session, request.args.get("cursor") or None)
    return render_template("review/unlinked.html", page=page)


@bp.route("/captures/<capture_id>")
@require("captures.read")
def detail(capture_id):
    """One capture: photos and their evidence, form, revisions, history and the decision forms."""
    view = review_detail.capture_detail(db.session, current_actor(), capture_id, ports().clock.now())
    query = request.args.get("q", "").strip()
    matches = linking.search_customers(db.session, query) if query else []
    return render_template(
        "review/detail.html", v=view, q=query, matches=matches, queue_args=request.args.get("back", "")
    )


@bp.route("/captures/<capture_id>/approve", methods=["POST"])
@require("queue.review")
def approve(capture_id):
    """Approve and file into the dossier; go on to the next capture."""
    event = request.form.get("business_event_id", "")
    try:
        outcome = review.approve(
            db.session,
            current_actor(),
            g.user.id,
            capture_id,
            ports().clock.now(),
            doc_type=request.form.get("doc_type") or None,
            title=request.form.get("title") or None,
            business_event_id=int(event) if event.isdigit() else None,
            expected_version=_form_version(),
        )
    except errors.DomainError as exc:
        return _refused(exc, capture_id)
    flash(review_text.approved_message(outcome), "info")
    return _next(capture_id)


def _next(capture_id: str):
    following = request.form.get("next_id")
    if following:
        return redirect(url_for("review.detail", capture_id=following), code=303)
    return redirect(url_for("review.queue"), code=303)


@bp.route("/captures/<capture_id>/reject", methods=["POST"])
@require("queue.review")
def reject(capture_id):
    """Reject with a reason; the inspector's tablet receives a retake request."""
    try:
        review.reject(
            db.session,
            current_actor(),
            g.user.id,
            capture_id,
            ports().clock.now(),
            reason_code=request.form.get("reason_code"),
            reason_text=request.form.get("reason_text"),
            expected_version=_form_version(),
        )
    except errors.DomainError as exc:
        return _refused(exc, capture_id)
    flash("已退回，检查员的平板将在下次同步时收到重拍要求。", "info")
    return _next(capture_id)


@bp.route("/captures/<capture_id>/issues", methods=["POST"])
@require("queue.review")
def issues(capture_id):
    """Mark the capture as having issues."""
    try:
        review.mark_issues(
            db.session,
            current_actor(),
            g.user.id,
            capture_id,
            ports().clock.now(),
            reason_code=request.form.get("reason_code") or None,
            reason_text=request.form.get("reason_text"),
            expected_version=_form_version(),
        )
    except errors.DomainError as exc:
        return _refused(exc, capture_id)
    flash("已标记为“有问题”。", "info")
    return _back_to(capture_id)


@bp.route("/captures/<capture_id>/comment", methods=["POST"])
@require("queue.review")
def comment(capture_id):
    """Add a comment."""
    try:
        review.add_comment(
            db.session, current_actor(), g.user.id, capture_id, request.form.get("body", ""), ports().clock.now()
        )
    except errors.DomainError as exc:
        return _refused(exc, capture_id)
    flash("已添加备注。", "info")
    return _back_to(capture_id)


@bp.route("/captures/<capture_id>/link", methods=["POST"])
@require("queue.review")
def link(capture_id):
    """Link an unlinked capture to the chosen customer."""
    customer = request.form.get("customer_id", "")
    try:
        linking.link_capture(
            db.session,
            current_actor(),
            g.user.id,
            capture_id,
            int(customer) if customer.isdigit() else -1,
            ports().clock.now(),
        )
    except errors.DomainError as exc:
        return _refused(exc, capture_id)
    flash("已关联客户，该采集已进入客户档案的待审核队列。", "info")
    return _back_to(capture_id)


@bp.route("/bulk-approve", methods=["POST"])
@require("queue.review")
def bulk_approve():
    """Approve the selected captures, each with its suggested document type."""
    entries = review_text.parse_selection(request.form.getlist("capture"))
    try:
        results = review.bulk_approve(
            db.session,
            current_actor(),
            g.user.id,
            entries,
            ports().clock.now(),
            doc_type=request.form.get("doc_type") or None,
        )
    except errors.DomainError as exc:
        db.session.rollback()
        flash(review_text.message_for(exc), "error")
        return redirect(url_for("review.queue"), code=303)
    for category, message in review_text.bulk_messages(results):
        flash(message, category)
    return redirect(review_text.safe_back(request.form.get("back"), url_for("review.queue")), code=303)


@bp.route("/photos/<photo_id>/<variant>")
@require("captures.read")
def photo(photo_id, variant):
    """Stream a photo (thumbnail, preview or original) from the blob store; audited."""
    opened = review_photos.open_photo(
        db.session, current_actor(), ports().blobs, photo_id, variant, ports().clock.now()
    )
    response = Response(stream_with_context(review_text.chunks(opened.stream)), mimetype=opened.mime_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["ETag"] = f'"{opened.key}"'
    if variant == "original":
        response.headers["Content-Disposition"] = f'inline; filename="{photo_id}"'
    return response
