"""Review API: the queue, unlinked captures, capture detail, decisions, comments, linking."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.states import ReviewState
from models.database import db
from server.auth import current_actor, require
from services import capture_access, linking, review, review_detail, review_queue
from services.ports_access import ports

blp = Blueprint(
    "review_api",
    __name__,
    url_prefix="/api/v1",
    description="Archivist review: queue, decisions, linking; captures for inspectors",
)


# --- schemas ----------------------------------------------------------------------------------


class QueueQuery(Schema):
    state = fields.String(metadata={"enum": [str(s) for s in ReviewState]})
    flag = fields.String()
    kind = fields.String()
    category = fields.String()
    inspector_id = fields.String()
    district = fields.String()
    voltage_class = fields.String(metadata={"enum": ["high", "low"]})
    date_from = fields.String(metadata={"format": "date"})
    date_to = fields.String(metadata={"format": "date"})
    account_no = fields.String()
    sort = fields.String(metadata={"enum": ["received_asc", "received_desc"]})
    limit = fields.String(metadata={"enum": ["20", "50", "100"]})
    cursor = fields.String(validate=validate.Length(max=400))


class CursorQuery(Schema):
    cursor = fields.String(validate=validate.Length(max=400))


class QueueItemSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    kind_label = fields.String()
    account_no = fields.String(required=True)
    customer_name = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    voltage_class = fields.String(allow_none=True)
    inspector = fields.String()
    inspector_id = fields.Integer()
    device = fields.String()
    received_at = fields.DateTime()
    estimated_at = fields.DateTime(allow_none=True)
    estimate_basis = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    photo_count = fields.Integer()
    thumbnail_photo_id = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    summary = fields.List(fields.List(fields.String()))
    review_state = fields.String()
    review_version = fields.Integer()
    link_state = fields.String()


class QueuePageSchema(Schema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    next_cursor = fields.String(allow_none=True)
    total = fields.Integer(metadata={"description": "matching captures, counted up to a cap"})
    total_capped = fields.Boolean(metadata={"description": "true when more captures match than ``total``"})


class DecisionInBase(Schema):
    expected_version = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "the review_version the decision is based on"},
    )


class ApproveIn(DecisionInBase):
    doc_type = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=60),
        metadata={"description": "code from the filing scope table; default: suggested"},
    )
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    business_event_id = fields.Integer(load_default=None, allow_none=True)


class RejectIn(DecisionInBase):
    reason_code = fields.String(required=True, metadata={"enum": sorted(review.REJECT_REASONS)})
    reason_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class IssuesIn(DecisionInBase):
    reason_code = fields.String(metadata={"enum": sorted(review.REJECT_REASONS)})
    reason_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ItemSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    doc_type = fields.String()
    title = fields.String()
    doc_date = fields.Date(allow_none=True)
    pages = fields.Integer(allow_none=True)
    business_event_id = fields.Integer(allow_none=True)


class DecisionOut(Schema):
    capture_id = fields.String(attribute="capture.id")
    review_state = fields.String(attribute="capture.review_state")
    review_version = fields.Integer(attribute="capture.review_version")
    decision = fields.String(attribute="decision.decision")
    reason_code = fields.String(attribute="decision.reason_code", allow_none=True)
    reason_text = fields.String(attribute="decision.reason_text", allow_none=True)
    decided_at = fields.DateTime(attribute="decision.decided_at")
    dossier_item = fields.Nested(ItemSchema, attribute="item", allow_none=True)


class CommentIn(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class CommentOut(Schema):
    id = fields.Integer()
    capture_id = fields.String()
    body = fields.String()
    created_at = fields.DateTime()


class LinkIn(Schema):
    customer_id = fields.Integer(required=True)


class LinkOut(Schema):
    id = fields.String()
    link_state = fields.String()
    customer_id = fields.Integer()
    account_no = fields.String()


class BulkEntry(Schema):
    capture_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    expected_version = fields.Integer(load_default=None, allow_none=True)


class BulkIn(Schema):
    items = fields.List(fields.Nested(BulkEntry), required=True, validate=validate.Length(min=1, max=review.BULK_MAX))
    doc_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class BulkResult(Schema):
    capture_id = fields.String(required=True)
    ok = fields.Boolean(required=True)
    seq = fields.Integer()
    doc_type = fields.String()
    account_no = fields.String(allow_none=True)
    code = fields.String()
    message = fields.String()
    details = fields.Dict()


class BulkOut(Schema):
    results = fields.List(fields.Nested(BulkResult), required=True)


class CustomerQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CustomerHit(Schema):
    id = fields.Integer()
    account_no = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    meter_number = fields.String(allow_none=True)
    district = fields.String(allow_none=True)


class PhotoOut(Schema):
    id = fields.String()
    slot = fields.String(allow_none=True)
    category = fields.String()
    state = fields.String()
    mime_type = fields.String(allow_none=True)
    device_captured_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    stamped = fields.Boolean()
    sha256 = fields.String(allow_none=True)
    sm3 = fields.String(allow_none=True)
    estimated_at = fields.DateTime(allow_none=True)
    basis = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    tsa_status = fields.String()
    exif = fields.List(fields.List(fields.String()))
    destroyed = fields.Boolean(
        metadata={"description": "the bytes were destroyed with the dossier (image routes: 410)"}
    )


class FormRowOut(Schema):
    path = fields.String()
    label = fields.String()
    value = fields.String()
    depth = fields.Integer()


class RevisionOut(Schema):
    number = fields.Integer()
    schema_version = fields.Integer()
    received_at = fields.DateTime()
    conflict = fields.Boolean()
    current = fields.Boolean()
    sha256 = fields.String()


class HistoryOut(Schema):
    decision = fields.String()
    reason_code = fields.String(allow_none=True)
    reason_text = fields.String(allow_none=True)
    doc_type = fields.String(allow_none=True)
    by = fields.String(allow_none=True)
    decided_at = fields.DateTime()


class CaptureDetailOut(Schema):
    id = fields.String(required=True)
    kind = fields.String()
    kind_label = fields.String()
    schema_version = fields.Integer()
    account_no = fields.String()
    customer_id = fields.Integer(allow_none=True)
    link_state = fields.String()
    review_state = fields.String()
    review_version = fields.Integer()
    complete = fields.Boolean()
    has_conflict = fields.Boolean()
    received_at = fields.DateTime()
    estimated_at = fields.DateTime(allow_none=True)
    estimate_basis = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    inspector = fields.String()
    device = fields.String()
    form = fields.List(fields.Nested(FormRowOut))
    revisions = fields.List(fields.Nested(RevisionOut))
    revision_table = fields.List(fields.Dict())
    photos = fields.List(fields.Nested(PhotoOut))
    decisions = fields.List(fields.Nested(HistoryOut))
    comments = fields.List(fields.Nested(CommentOut))
    suggested_doc_type = fields.String(allow_none=True)
    record_state = fields.String(metadata={"enum": ["kept", "destroyed"]})
    destroyed = fields.Dict(allow_none=True, metadata={"description": "record_id, destroyed_on, text (已销毁…)"})
    closed_reason = fields.String(
        allow_none=True, metadata={"description": "why a capture was closed (review_state closed)"}
    )


class CaptureListQuery(Schema):
    cursor = fields.String(validate=validate.Length(max=400))
    state = fields.String(metadata={"enum": [str(s) for s in ReviewState]})


class CaptureListOut(Schema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    next_cursor = fields.String(allow_none=True)


# --- routes -------------------------------------------------------------------------------------


def _now():
    return ports().clock.now()


@blp.route("/review/queue")
class Queue(MethodView):
    @blp.arguments(QueueQuery, location="query")
    @blp.response(200, QueuePageSchema)
    @blp.alt_response(400, description="Bad filter or cursor (review.bad_filter, review.bad_cursor)")
    @require("queue.read")
    def get(self, args):
        """One keyset page of the review queue (filters, sort, cursor)."""
        page = review_queue.queue_page(db.session, review_queue.parse_filters(args), args.get("cursor"))
        return {
            "items": page.items,
            "next_cursor": page.next_cursor,
            "total": page.total,
            "total_capped": page.total_capped,
        }


@blp.route("/review/unlinked")
class Unlinked(MethodView):
    @blp.arguments(CursorQuery, location="query")
    @blp.response(200, QueuePageSchema)
    @require("queue.read")
    def get(self, args):
        """Captures naming an unknown 户号."""
        page = linking.unlinked_page(db.session, args.get("cursor"))
        return {"items": page.items, "next_cursor": page.next_cursor, "total": page.total}


@blp.route("/review/captures/<capture_id>")
class CaptureDetail(MethodView):
    @blp.response(200, CaptureDetailOut)
    @blp.alt_response(404, description="Unknown capture (capture.unknown)")
    @require("captures.read")
    def get(self, capture_id):
        """Everything about a capture (audited as an access to evidence)."""
        view = review_detail.capture_detail(db.session, current_actor(), capture_id, _now())
        return capture_access.detail_json(view)


@blp.route("/review/captures/<capture_id>/approve")
class Approve(MethodView):
    @blp.arguments(ApproveIn)
    @blp.response(200, DecisionOut)
    @blp.alt_response(
        409, description="review.conflict, review.not_pending, review.unlinked, review.incomplete, dossier.destroyed"
    )
    @require("queue.review")
    def post(self, data, capture_id):
        """Approve a capture and file it into the customer's 卷内目录 (never into a destroyed dossier)."""
        outcome = review.approve(db.session, current_actor(), g.user.id, capture_id, _now(), **data)
        return outcome


@blp.route("/review/captures/<capture_id>/reject")
class Reject(MethodView):
    @blp.arguments(RejectIn)
    @blp.response(200, DecisionOut)
    @blp.alt_response(409, description="review.conflict, review.not_pending")
    @require("queue.review")
    def post(self, data, capture_id):
        """Reject with a reason; the inspector's tablets get a retake request on their next pull."""
        outcome = review.reject(db.session, current_actor(), g.user.id, capture_id, _now(), **data)
        return outcome


@blp.route("/review/captures/<capture_id>/issues")
class Issues(MethodView):
    @blp.arguments(IssuesIn)
    @blp.response(200, DecisionOut)
    @blp.alt_response(409, description="review.conflict, review.not_pending")
    @require("queue.review")
    def post(self, data, capture_id):
        """Mark a capture as having issues."""
        outcome = review.mark_issues(db.session, current_actor(), g.user.id, capture_id, _now(), **data)
        return outcome


@blp.route("/review/captures/<capture_id>/comments")
class Comments(MethodView):
    @blp.arguments(CommentIn)
    @blp.response(201, CommentOut)
    @require("queue.review")
    def post(self, data, capture_id):
        """Add a comment to a capture."""
        comment = review.add_comment(db.session, current_actor(), g.user.id, capture_id, data["body"], _now())
        return comment


@blp.route("/review/captures/<capture_id>/link")
class Link(MethodView):
    @blp.arguments(LinkIn)
    @blp.response(200, LinkOut)
    @blp.alt_response(409, description="link.already_linked, dossier.destroyed")
    @require("queue.review")
    def post(self, data, capture_id):
        """Link an unlinked capture to a customer (the choice is audited)."""
        capture = linking.link_capture(db.session, current_actor(), g.user.id, capture_id, data["customer_id"], _now())
        return capture


@blp.route("/review/bulk-approve")
class BulkApprove(MethodView):
    @blp.arguments(BulkIn)
    @blp.response(200, BulkOut)
    @require("queue.review")
    def post(self, data):
        """Approve a selection; each item succeeds or fails on its own."""
        results = review.bulk_approve(
            db.session,
            current_actor(),
            g.user.id,
            [(e["capture_id"], e["expected_version"]) for e in data["items"]],
            _now(),
            doc_type=data["doc_type"],
        )
        return {"results": results}


@blp.route("/review/customers")
class CustomerSearch(MethodView):
    @blp.arguments(CustomerQuery, location="query")
    @blp.response(200, CustomerHit(many=True))
    @require("queue.review")
    def get(self, args):
        """Find customers to link a capture to (户号, 户名, address, meter number)."""
        return linking.search_customers(db.session, args["q"])


@blp.route("/captures")
class Captures(MethodView):
    @blp.arguments(CaptureListQuery, location="query")
    @blp.response(200, CaptureListOut)
    @require("captures.list")
    def get(self, args):
        """Captures, newest first: inspectors see only their own, office roles see all."""
        return capture_access.list_captures(
            db.session, g.role, g.user.id if g.user else None, args.get("state"), args.get("cursor")
        )


@blp.route("/captures/<capture_id>")
class CaptureOwn(MethodView):
    @blp.response(200, CaptureDetailOut)
    @blp.alt_response(404, description="Unknown capture, or another inspector's (capture.unknown)")
    @require("captures.list")
    def get(self, capture_id):
        """One capture: inspectors only their own (others are 404), office roles any."""
        view = capture_access.capture_for(
            db.session, current_actor(), g.role, g.user.id if g.user else None, capture_id, _now()
        )
        return capture_access.detail_json(view)
