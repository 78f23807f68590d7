"""Who am I (for tablets checking their token) and device administration."""

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core import errors
from core.actor import Actor
from models.database import db
from server.api.schemas import ErrorSchema
from server.auth import current_actor, require
from server.security import ENROL_LIMIT, limiter, refused_enrolment
from server.web.capture import enrol_url
from services import devices, enrolment
from services.ports_access import ports

blp = Blueprint("identity", __name__, url_prefix="/api/v1", description="Identity and devices")


class MeSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": ["device", "user"]})
    role = fields.String(required=True)
    device_id = fields.String()
    inspector = fields.String()
    username = fields.String()


class DeviceSchema(Schema):
    id = fields.String(required=True)
    name = fields.String()
    inspector = fields.String(attribute="inspector.username")
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @blp.alt_response(401, description="No or bad credentials")
    def get(self):
        """Return the authenticated device or user."""
        if g.device is not None:
            return {
                "kind": "device",
                "role": "device",
                "device_id": g.device.id,
                "inspector": g.device.inspector.username,
            }
        if g.user is not None:
            return {"kind": "user", "role": g.user.role, "username": g.user.username}
        raise errors.DomainError(errors.AUTH_REQUIRED)


@blp.route("/devices/<string:device_id>/revoke")
class RevokeDevice(MethodView):
    @blp.response(200, DeviceSchema)
    @blp.alt_response(404, description="Unknown device")
    @require("devices.manage")
    def post(self, device_id):
        """Revoke a device token; the tablet gets 401 from then on."""
        device = devices.revoke_device(db.session, current_actor(), device_id, ports().clock.now())
        return device


class EnrolmentRequestSchema(Schema):
    inspector = fields.String(
        required=True,
        validate=validate.Length(1, 64),
        metadata={"description": "user name of the inspector who gets the tablet"},
    )
    device_name = fields.String(
        load_default="",
        validate=validate.Length(max=128),
        metadata={"description": "label of the tablet (e.g. asset number)"},
    )


class EnrolmentCodeSchema(Schema):
    code = fields.String(
        required=True, metadata={"description": "8 characters, shown only in this answer", "example": "K7QD3MWX"}
    )
    enrol_url = fields.String(
        required=True, metadata={"description": "what the QR code holds: the capture app's address with the code"}
    )
    inspector = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class ExchangeRequestSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 40))
    device_name = fields.String(load_default="", validate=validate.Length(max=128))


class ExchangeResponseSchema(Schema):
    device_id = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "the device token, shown only in this answer"})
    inspector = fields.String(required=True)


@blp.route("/devices/enrolments")
class Enrolments(MethodView):
    @blp.arguments(EnrolmentRequestSchema)
    @blp.response(201, EnrolmentCodeSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="device.not_inspector")
    @blp.alt_response(404, schema=ErrorSchema, description="user.unknown")
    @require("devices.manage")
    def post(self, args):
        """Create a one-time enrolment code (valid 24 h) for an inspector's capture app."""
        row, code = enrolment.create_code(
            db.session,
            current_actor(),
            args["inspector"],
            ports().clock.now(),
            args["device_name"],
            created_by=g.user.username if g.user else "",
        )
        return {
            "code": code,
            "enrol_url": enrol_url(code),
            "inspector": args["inspector"],
            "expires_at": row.expires_at,
        }


@blp.route("/devices/enrol")
class Enrol(MethodView):
    @blp.arguments(ExchangeRequestSchema)
    @blp.response(201, ExchangeResponseSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="enrolment.code_unknown")
    @blp.alt_response(409, schema=ErrorSchema, description="enrolment.code_used")
    @blp.alt_response(410, schema=ErrorSchema, description="enrolment.code_expired")
    @blp.alt_response(429, schema=ErrorSchema, description="request.rate_limited")
    @limiter.limit(ENROL_LIMIT, deduct_when=refused_enrolment)
    def post(self, args):
        """Exchange a one-time enrolment code for a device token (no credentials needed: the code is one)."""
        actor = Actor("enrolment", None, request.remote_addr)
        device, token = enrolment.exchange(db.session, actor, args["code"], ports().clock.now(), args["device_name"])
        return {"device_id": device.id, "token": token, "inspector": device.inspector.username}
