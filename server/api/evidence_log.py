"""The evidence log for auditors and verifiers: checkpoints, inclusion and consistency proofs, public key."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from models.database import db
from server.auth import require
from services import evidence_log
from services.stamping_env import env_for

blp = Blueprint(
    "evidence_log",
    __name__,
    url_prefix="/api/v1/evidence-log",
    description="Tamper-evident evidence log (RFC 6962 Merkle tree, signed checkpoints)",
)


class CheckpointSchema(Schema):
    tree_size = fields.Integer(required=True)
    root_hash = fields.String(required=True, metadata={"description": "hex SHA-256 Merkle tree head"})
    note = fields.String(required=True, metadata={"description": "signed note (C2SP tlog-checkpoint), Ed25519"})
    key_name = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    tsa_status = fields.String(required=True, metadata={"enum": ["pending", "granted", "failed"]})
    tsa_kind = fields.String(allow_none=True, metadata={"enum": ["local", "external"]})
    tsa_gen_time = fields.DateTime(allow_none=True)
    tsa_token = fields.String(
        allow_none=True, metadata={"description": "base64 DER RFC 3161 TimeStampResp over SHA-256 of the note"}
    )


class CheckpointListSchema(Schema):
    checkpoints = fields.List(fields.Nested(CheckpointSchema), required=True)


class InclusionQuerySchema(Schema):
    leaf_index = fields.Integer(required=True, validate=validate.Range(min=0))
    tree_size = fields.Integer(validate=validate.Range(min=1))


class InclusionProofSchema(Schema):
    leaf_index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True)
    entry = fields.String(required=True, metadata={"description": "the canonical JSON the leaf hash covers"})
    root_hash = fields.String(required=True)
    path = fields.List(fields.String(), required=True)


class ConsistencyQuerySchema(Schema):
    old_size = fields.Integer(required=True, validate=validate.Range(min=1))
    new_size = fields.Integer(validate=validate.Range(min=1))


class ConsistencyProofSchema(Schema):
    old_size = fields.Integer(required=True)
    new_size = fields.Integer(required=True)
    old_root = fields.String(required=True)
    new_root = fields.String(required=True)
    path = fields.List(fields.String(), required=True)


class PublicKeySchema(Schema):
    name = fields.String(required=True)
    algorithm = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "base64 raw Ed25519 key"})
    public_key_pem = fields.String(required=True)
    key_hint = fields.String(required=True)


@blp.route("/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.response(200, CheckpointSchema)
    @blp.alt_response(404, description="No checkpoint yet")
    @require("evidence_log.read")
    def get(self):
        """The latest signed (and timestamped) checkpoint."""
        return evidence_log.latest(db.session)


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.response(200, CheckpointListSchema)
    @require("evidence_log.read")
    def get(self):
        """Recent checkpoints, newest first."""
        return {"checkpoints": evidence_log.all_checkpoints(db.session)}


@blp.route("/proofs/inclusion")
class Inclusion(MethodView):
    @blp.arguments(InclusionQuerySchema, location="query")
    @blp.response(200, InclusionProofSchema)
    @blp.alt_response(400, description="Index or size outside the log")
    @require("evidence_log.read")
    def get(self, query):
        """Inclusion proof of a leaf (RFC 9162 §2.1.3); size defaults to the latest checkpoint."""
        return evidence_log.inclusion(db.session, query["leaf_index"], query.get("tree_size"))


@blp.route("/proofs/consistency")
class Consistency(MethodView):
    @blp.arguments(ConsistencyQuerySchema, location="query")
    @blp.response(200, ConsistencyProofSchema)
    @blp.alt_response(400, description="Sizes outside the log")
    @require("evidence_log.read")
    def get(self, query):
        """Consistency proof between two tree sizes (RFC 9162 §2.1.4)."""
        return evidence_log.consistency(db.session, query["old_size"], query.get("new_size"))


@blp.route("/public-key")
class PublicKey(MethodView):
    @blp.response(200, PublicKeySchema)
    @require("evidence_log.read")
    def get(self):
        """The log's Ed25519 public key and note name, to verify checkpoints offline."""
        return evidence_log.public_key(env_for(current_app._get_current_object()).signer)
