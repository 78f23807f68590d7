"""Marshmallow schemas shared by API blueprints (and the OpenAPI document)."""

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    """The one error shape of the API."""

    code = fields.String(required=True, metadata={"example": "auth.token_revoked"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)
