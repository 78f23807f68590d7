"""Versioned marshmallow schemas of the inspection forms and their photo metadata.

``get_schema(kind, version)`` returns the schema of one form version; every old version stays
accepted forever and ``upgrade`` maps stored data to the latest version for display.
"""

from capture_schema.base import PHOTO_CATEGORIES, FormSpec, PhotoMetadataSchema, Slot
from capture_schema.registry import (
    REGISTRY,
    CaptureInvalid,
    SchemaLookupError,
    UnknownKind,
    UnknownVersion,
    describe,
    fingerprint,
    get_schema,
    get_spec,
    kinds,
    latest_version,
    to_json,
    upgrade,
    validate_capture,
    versions,
)

__all__ = [
    "CaptureInvalid",
    "FormSpec",
    "PHOTO_CATEGORIES",
    "PhotoMetadataSchema",
    "REGISTRY",
    "SchemaLookupError",
    "Slot",
    "UnknownKind",
    "UnknownVersion",
    "describe",
    "fingerprint",
    "get_schema",
    "get_spec",
    "kinds",
    "latest_version",
    "to_json",
    "upgrade",
    "validate_capture",
    "versions",
]
