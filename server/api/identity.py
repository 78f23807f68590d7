"""Who am I (for tablets checking their token) and device administration."""
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import errors
from server.auth import current_actor, require
from models.database import db
from services.ports_access import ports
from services import devices

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
            return {"kind": "device", "role": "device", "device_id": g.device.id,
                    "inspector": g.device.inspector.username}
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
        db.session.commit()
        return device
