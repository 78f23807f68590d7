"""The shapes of push requests and items (marshmallow), shared by the server and its docs."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

PROTOCOL_VERSIONS = (1,)
ACCOUNT_NO = r"^[0-9]{6,20}$"


class PushItemSchema(Schema):
    """One capture revision pushed by a tablet; ``revision_id`` is the exactly-once key."""

    class Meta:
        unknown = RAISE

    capture_id = fields.UUID(required=True)
    revision_id = fields.UUID(required=True)
    base_revision_id = fields.UUID(load_default=None, allow_none=True)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=40))
    schema_version = fields.Integer(required=True, strict=True)
    account_no = fields.String(required=True, validate=validate.Regexp(ACCOUNT_NO, error="户号 must be 6–20 digits"))
    device_time = fields.AwareDateTime(load_default=None, allow_none=True)
    data = fields.Dict(required=True)
    photos = fields.List(fields.Dict(), load_default=list)


class PushRequestSchema(Schema):
    """A batch of push items with the tablet's clock reading."""

    class Meta:
        unknown = RAISE

    protocol = fields.Integer(load_default=1, strict=True)
    device_time = fields.AwareDateTime(required=True)
    items = fields.List(fields.Raw(allow_none=True), required=True)  # a bad item is refused on its own
