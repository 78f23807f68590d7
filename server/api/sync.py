"""POST /api/v1/sync/push and GET /api/v1/sync/pull: the tablets' sync protocol.

The wire format is documented in docs/sync-protocol.md; these handlers only read the request
(the push body with a byte cap, before any JSON parsing), call one service and answer.
"""

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from models.database import db
from server.api.schemas import ErrorSchema
from server.auth import current_actor, require
from services import capture_status, sync_pull, sync_push
from services.ports_access import ports

blp = Blueprint(
    "sync", __name__, url_prefix="/api/v1/sync", description="Offline sync for tablets (see docs/sync-protocol.md)"
)


class SyncErrorSchema(ErrorSchema):
    """The one error shape, as answered by the sync routes."""


class PushItemDoc(Schema):
    capture_id = fields.UUID(required=True)
    revision_id = fields.UUID(required=True, metadata={"description": "exactly-once key"})
    base_revision_id = fields.UUID(allow_none=True, metadata={"description": "null for a new capture"})
    kind = fields.String(required=True, metadata={"example": "usage_inspection"})
    schema_version = fields.Integer(required=True, metadata={"example": 2})
    account_no = fields.String(required=True, metadata={"example": "3100012345"})
    device_time = fields.DateTime(allow_none=True)
    data = fields.Dict(required=True)
    photos = fields.List(fields.Dict())


class PushRequestDoc(Schema):
    protocol = fields.Integer(metadata={"example": 1})
    device_time = fields.DateTime(required=True)
    items = fields.List(fields.Nested(PushItemDoc), required=True)


class UploadWantedSchema(Schema):
    photo_id = fields.String(required=True)
    sha256 = fields.String(required=True)
    capture_id = fields.String(required=True)


class PushResponseSchema(Schema):
    server_time = fields.DateTime(required=True)
    clock_offset_ms = fields.Integer(allow_none=True)
    results = fields.List(fields.Dict(), required=True, metadata={"description": "one per item, in request order"})
    uploads = fields.List(fields.Nested(UploadWantedSchema), required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    limits = fields.Dict(keys=fields.String(), values=fields.Integer())


class PullArgsSchema(Schema):
    # any length: a cursor that does not decode is sync.cursor_invalid (sync.cursor caps its length)
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 1000))
    device_time = fields.AwareDateTime(load_default=None)


class ChangeSchema(Schema):
    entity = fields.String(required=True, metadata={"enum": ["dossier", "schema", "review"]})
    id = fields.String(required=True)
    op = fields.String(required=True, metadata={"enum": ["upsert", "delete"]})
    data = fields.Dict()


class PullResponseSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)
    server_time = fields.DateTime(required=True)
    clock_offset_ms = fields.Integer(allow_none=True)


def _limits() -> sync_push.PushLimits:
    defaults = sync_push.PushLimits()
    return sync_push.PushLimits(
        current_app.config.get("SYNC_MAX_PUSH_BYTES", defaults.max_bytes),
        current_app.config.get("SYNC_MAX_PUSH_ITEMS", defaults.max_items),
    )


def _capped_body(limits: sync_push.PushLimits) -> bytes:
    """Read at most one byte more than the cap, so an oversized body is never held in memory."""
    if request.content_length is not None and request.content_length > limits.max_bytes:
        raise sync_push.too_large(limits)
    return request.stream.read(limits.max_bytes + 1)


@blp.route("/push")
class Push(MethodView):
    @blp.doc(
        requestBody={"required": True, "content": {"application/json": {"schema": PushRequestDoc}}},
        security=[{"deviceToken": []}],
    )
    @blp.response(200, PushResponseSchema)
    @blp.alt_response(401, schema=SyncErrorSchema, description="Unknown or revoked device token")
    @blp.alt_response(413, schema=SyncErrorSchema, description="sync.batch_too_large (details give the limits)")
    @blp.alt_response(422, schema=SyncErrorSchema, description="The envelope is invalid")
    @require("sync")
    def post(self):
        """Push captured form revisions; each item gets its own result."""
        limits = _limits()
        body = _capped_body(limits)
        return sync_push.push(db.session, g.device, current_actor(), body, ports().clock.now(), limits)


@blp.route("/pull")
class Pull(MethodView):
    @blp.doc(security=[{"deviceToken": []}])
    @blp.arguments(PullArgsSchema, location="query")
    @blp.response(200, PullResponseSchema)
    @blp.alt_response(400, schema=SyncErrorSchema, description="sync.cursor_invalid")
    @blp.alt_response(401, schema=SyncErrorSchema, description="Unknown or revoked device token")
    @blp.alt_response(410, schema=SyncErrorSchema, description="sync.reset_required")
    @require("sync")
    def get(self, args):
        """Pull the next page of this tablet's scope after the cursor."""
        return sync_pull.pull(
            db.session,
            g.device,
            args["cursor"],
            args["limit"],
            ports().clock.now(),
            args["device_time"],
            current_app.config["SECRET_KEY"].encode(),
        )


class StatusArgsSchema(Schema):
    id = fields.List(
        fields.String(validate=validate.Length(max=36)),
        required=True,
        validate=validate.Length(1, capture_status.MAX_IDS),
        metadata={"description": "capture ids (repeat the parameter, at most 200)"},
    )


class PhotoStatusSchema(Schema):
    id = fields.String(required=True)
    slot = fields.String(allow_none=True)
    state = fields.String(
        required=True, metadata={"enum": ["awaiting_upload", "received", "stamped", "integrity_failed"]}
    )


class CaptureStatusSchema(Schema):
    capture_id = fields.String(required=True)
    revision = fields.Integer(required=True)
    conflict = fields.Boolean(required=True)
    link_state = fields.String(required=True, metadata={"enum": ["linked", "unlinked"]})
    complete = fields.Boolean(required=True)
    stamped = fields.Boolean(required=True, metadata={"description": "every photo stamped"})
    photos = fields.List(fields.Nested(PhotoStatusSchema), required=True)
    review_state = fields.String(required=True, metadata={"enum": ["pending", "approved", "rejected", "has_issues"]})
    reason_code = fields.String(allow_none=True)
    reason_text = fields.String(allow_none=True)
    dossier_item_seq = fields.Integer(allow_none=True, metadata={"description": "卷内目录 number once filed"})


class StatusResponseSchema(Schema):
    captures = fields.List(fields.Nested(CaptureStatusSchema), required=True)


@blp.route("/status")
class Status(MethodView):
    @blp.doc(security=[{"deviceToken": []}])
    @blp.arguments(StatusArgsSchema, location="query")
    @blp.response(200, StatusResponseSchema)
    @blp.alt_response(401, schema=SyncErrorSchema, description="Unknown or revoked device token")
    @require("sync")
    def get(self, args):
        """Where this inspector's captures stand: photos received/stamped, review outcome, 卷内目录 number."""
        return {"captures": capture_status.statuses(db.session, g.device, args["id"])}
