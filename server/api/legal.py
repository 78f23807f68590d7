"""Legal retrieval API: search, open a result, download an original, evidence exports, the use register."""

from __future__ import annotations

from flask import Response, current_app, g, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.labels import FLAG_LABELS
from core.policy import can
from core.states import ReviewState
from models.database import db
from server.auth import current_actor, require
from services import evidence_export, export_approval, legal_search, use_register
from services.ports_access import ports

blp = Blueprint(
    "legal_api",
    __name__,
    url_prefix="/api/v1/legal",
    description="Legal retrieval: evidence search, evidence bundles, use register (档案利用登记)",
)

CHUNK = 1024 * 1024


def _chunks(stream):
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


class SearchQuery(Schema):
    account_no = fields.String(metadata={"description": "户号"})
    name = fields.String(metadata={"description": "户名 (part of it)"})
    captured_from = fields.AwareDateTime(metadata={"description": "estimated capture time from (ISO 8601 with zone)"})
    captured_to = fields.AwareDateTime()
    received_from = fields.AwareDateTime()
    received_to = fields.AwareDateTime()
    latitude = fields.Float(validate=validate.Range(-90, 90))
    longitude = fields.Float(validate=validate.Range(-180, 180))
    radius_m = fields.Float(validate=validate.Range(1, 100000))
    near_site = fields.Boolean(load_default=False, metadata={"description": "radius around the customer's site"})
    category = fields.String()
    inspector = fields.String(metadata={"description": "inspector's login name"})
    review_state = fields.String(validate=validate.OneOf(list(ReviewState)))
    flag = fields.String(
        metadata={
            "description": "a time/place flag code, one of "
            + ", ".join(FLAG_LABELS)
            + " (400 legal.bad_filter otherwise)"
        }
    )
    sort = fields.String(load_default="received", validate=validate.OneOf(legal_search.SORTS))
    limit = fields.Integer(load_default=25, validate=validate.Range(1, legal_search.MAX_LIMIT))
    cursor = fields.String()


class DestroyedSchema(Schema):
    record_id = fields.Integer(allow_none=True, metadata={"description": "number of the destruction record"})
    destroyed_on = fields.String(allow_none=True, metadata={"description": "Beijing date of the destruction"})
    text = fields.String(metadata={"description": "已销毁（销毁记录第 N 号，YYYY-MM-DD）"})


class HitSchema(Schema):
    photo_id = fields.String(required=True)
    evidence_no = fields.String(required=True)
    account_no = fields.String(allow_none=True)
    customer_name = fields.String(allow_none=True)
    inspector = fields.String(allow_none=True)
    category = fields.String()
    slot = fields.String(allow_none=True)
    received_at = fields.DateTime()
    estimated_capture_at = fields.DateTime(allow_none=True)
    estimate_basis = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    hash_ok = fields.Boolean(allow_none=True)
    tsa_status = fields.String()
    tsa_kind = fields.String(allow_none=True)
    review_state = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "photo state; destroyed once its dossier was destroyed"})
    destroyed = fields.Nested(
        DestroyedSchema, allow_none=True, metadata={"description": "set for destroyed photos (hash_ok is then null)"}
    )
    has_thumbnail = fields.Boolean()
    place = fields.List(fields.Float(), allow_none=True)
    distance_m = fields.Float(allow_none=True)


class PageSchema(Schema):
    items = fields.List(fields.Nested(HitSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class PurposeSchema(Schema):
    purpose = fields.String(required=True, metadata={"description": "why the original is needed (registered)"})


class ExportIn(Schema):
    account_no = fields.String(metadata={"description": "户号"})
    date_from = fields.Date()
    date_to = fields.Date()
    photo_ids = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list)
    purpose = fields.String(required=True)
    skip_destroyed = fields.Boolean(
        load_default=False,
        metadata={
            "description": "leave destroyed photos out (listed under left_out and in the manifest) instead of "
            "refusing with export.items_destroyed"
        },
    )


class ExportOut(Schema):
    id = fields.Integer(required=True)
    state = fields.String(
        required=True,
        metadata={
            "enum": ["awaiting_approval", "rejected", "queued", "running", "done", "failed", "expired", "destroyed"]
        },
    )
    state_label = fields.String()
    purpose = fields.String()
    requester = fields.String()
    criteria = fields.Dict()
    item_count = fields.Integer()
    total_bytes = fields.Integer()
    needs_approval = fields.Boolean()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    phase = fields.String(allow_none=True)
    done_items = fields.Integer()
    done_bytes = fields.Integer()
    percent = fields.Integer()
    bundle_sha256 = fields.String(allow_none=True)
    bundle_size = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "when the bundle is removed from the server"}
    )
    removed_at = fields.DateTime(allow_none=True)
    destruction_record_id = fields.Integer(allow_none=True)
    left_out = fields.List(fields.Dict(), metadata={"description": "destroyed photos left out of the bundle"})


class DecisionIn(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default=None, allow_none=True)


class UseOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    user = fields.String()
    action = fields.String()
    action_label = fields.String()
    photo_id = fields.String(allow_none=True)
    export_id = fields.Integer(allow_none=True)
    purpose = fields.String(allow_none=True)
    details = fields.Dict()


class UseQuery(Schema):
    photo_id = fields.String()
    export_id = fields.Integer()
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


def _see_all() -> bool:
    return can(g.role, "evidence.export_approve")


@blp.route("/photos")
class Search(MethodView):
    @blp.arguments(SearchQuery, location="query")
    @blp.response(200, PageSchema)
    @blp.alt_response(400, description="legal.bad_filter, legal.bad_cursor")
    @require("evidence.search")
    def get(self, args):
        """Search stamped photos (keyset pages, newest first); the search is registered."""
        cursor = args.pop("cursor", None)
        return legal_search.search(
            db.session, current_actor(), g.user, legal_search.Filters(**args), cursor, ports().clock.now()
        )


@blp.route("/photos/<photo_id>")
class Result(MethodView):
    @blp.response(200, description="Everything known about the photo, as an evidence bundle carries it")
    @blp.alt_response(404, description="photo.unknown")
    @require("evidence.search")
    def get(self, photo_id):
        """Open one result (registered, and logged as an access in the photo's custody log)."""
        return legal_search.open_result(db.session, current_actor(), g.user, photo_id, ports().clock.now())


@blp.route("/photos/<photo_id>/original")
class Original(MethodView):
    @blp.arguments(PurposeSchema)
    @blp.response(200, description="The original bytes, exactly as received", content_type="application/octet-stream")
    @blp.alt_response(400, description="legal.purpose_required")
    @blp.alt_response(404, description="photo.unknown")
    @blp.alt_response(410, description="photo.destroyed")
    @require("evidence.export")
    def post(self, body, photo_id):
        """Download one original after stating the purpose (registered)."""
        stream, name, mime = legal_search.open_original(
            db.session, current_actor(), g.user, photo_id, body["purpose"], ports().clock.now(), ports().blobs
        )
        response = Response(stream_with_context(_chunks(stream)), mimetype=mime)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@blp.route("/exports")
class Exports(MethodView):
    @blp.response(200, ExportOut(many=True))
    @require("evidence.export")
    def get(self):
        """The user's exports, newest first (managers see all)."""
        return [evidence_export.export_dict(e) for e in evidence_export.list_exports(db.session, g.user, _see_all())]

    @blp.arguments(ExportIn)
    @blp.response(201, ExportOut)
    @blp.alt_response(400, description="legal.purpose_required, export.empty, export.unknown_photo")
    @blp.alt_response(409, description="export.photo_not_ready, export.items_destroyed")
    @require("evidence.export")
    def post(self, body):
        """Ask for an evidence bundle; large exports wait for a manager's approval, the rest are queued."""
        criteria = evidence_export.Criteria(
            account_no=body.get("account_no"),
            date_from=body.get("date_from"),
            date_to=body.get("date_to"),
            photo_ids=tuple(body["photo_ids"]),
            skip_destroyed=body["skip_destroyed"],
        )
        export = evidence_export.request_export(
            db.session,
            current_actor(),
            g.user,
            criteria,
            body["purpose"],
            ports().clock.now(),
            export_approval.limits_from(current_app.config),
        )
        return evidence_export.export_dict(export)


@blp.route("/exports/<int:export_id>")
class ExportStatus(MethodView):
    @blp.response(200, ExportOut)
    @blp.alt_response(404, description="export.unknown")
    @require("evidence.export")
    def get(self, export_id):
        """State and progress of an export."""
        return evidence_export.export_dict(evidence_export.get_export(db.session, export_id, g.user, _see_all()))


@blp.route("/exports/<int:export_id>/decision")
class ExportDecision(MethodView):
    @blp.arguments(DecisionIn)
    @blp.response(200, ExportOut)
    @blp.alt_response(409, description="export.invalid_transition")
    @blp.alt_response(403, description="export.self_approval")
    @require("evidence.export_approve")
    def post(self, body, export_id):
        """A manager approves or rejects an export waiting for approval."""
        export = evidence_export.decide(
            db.session, current_actor(), g.user, export_id, body["approve"], body["note"], ports().clock.now()
        )
        return evidence_export.export_dict(export)


@blp.route("/exports/<int:export_id>/bundle")
class ExportBundle(MethodView):
    @blp.response(200, description="The evidence bundle (ZIP)", content_type="application/zip")
    @blp.alt_response(409, description="export.not_finished, export.failed")
    @blp.alt_response(410, description="export.destroyed, export.expired")
    @require("evidence.export")
    def get(self, export_id):
        """Download a finished bundle (registered)."""
        stream, name = evidence_export.open_bundle(
            db.session, current_actor(), g.user, export_id, _see_all(), ports().clock.now(), ports().exports
        )
        response = Response(stream_with_context(_chunks(stream)), mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@blp.route("/uses")
class Uses(MethodView):
    @blp.arguments(UseQuery, location="query")
    @blp.response(200, UseOut(many=True))
    @require("evidence.uses_read")
    def get(self, args):
        """The use register (档案利用登记), newest first."""
        return [
            use_register.use_dict(u)
            for u in use_register.list_uses(db.session, args["limit"], args.get("photo_id"), args.get("export_id"))
        ]
