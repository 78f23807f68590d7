"""GET /api/v1/health: is the service able to take captures right now."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from models.database import db
from ports.redis_connection import get_redis
from services import health

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class CheckSchema(Schema):
    ok = fields.Boolean(required=True)
    ms = fields.Float()
    error = fields.String()
    dialect = fields.String()
    outbox_backlog = fields.Integer()
    queues = fields.Dict(keys=fields.String(), values=fields.Integer())
    free_bytes = fields.Integer()
    total_bytes = fields.Integer()
    low = fields.Boolean()
    alive = fields.Integer(metadata={"description": "worker processes with a live heartbeat"})
    # stamping pipeline (failed runs need an operator; see /admin/jobs)
    failed = fields.Integer()
    retry_wait = fields.Integer()
    running = fields.Integer()
    queued = fields.Integer()
    done = fields.Integer()
    outbox_oldest_s = fields.Float(allow_none=True)
    timestamp_pending = fields.Integer()
    timestamp_failed = fields.Integer()
    last_checkpoint_age_s = fields.Float(allow_none=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded", "down"]})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema))


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
    def get(self):
        """Report database, Redis, the stamping worker, queue depth, outbox backlog and free disk."""
        result = health.report(
            db.session,
            get_redis,
            current_app.config["DANGAN_DATA_DIR"],
            current_app.config.get("MIN_FREE_DISK_BYTES", 512 * 1024 * 1024),
        )
        return result, (503 if result["status"] == "down" else 200)
