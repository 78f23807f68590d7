"""The registry of capture schemas: look up, validate, upgrade and describe every (kind, version)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from uuid import UUID

from marshmallow import Schema, ValidationError, fields, validate

from capture_schema.base import FormSpec, PhotoMetadataSchema
from capture_schema.forms import defect_notice, metering_check, site_survey, theft_evidence, usage_inspection

_MODULES = (usage_inspection, site_survey, metering_check, defect_notice, theft_evidence)
REGISTRY: dict[tuple[str, int], FormSpec] = {
    (spec.kind, spec.version): spec for module in _MODULES for spec in module.SPECS
}


class SchemaLookupError(LookupError):
    """Base of the lookup errors; ``details`` names what was asked for and what exists."""

    def __init__(self, message: str, details: dict):
        super().__init__(message)
        self.details = details


class UnknownKind(SchemaLookupError):
    """No form of this kind exists."""

    def __init__(self, kind):
        super().__init__(f"Unknown capture kind {kind!r}.", {"kind": kind, "known_kinds": kinds()})


class UnknownVersion(SchemaLookupError):
    """The kind exists but not in this version."""

    def __init__(self, kind: str, version):
        super().__init__(
            f"Unknown version {version!r} of capture kind {kind!r}.",
            {"kind": kind, "version": version, "known_versions": versions(kind)},
        )


class CaptureInvalid(ValueError):
    """Form data or photo declarations failed validation; ``fields`` maps names to messages."""

    def __init__(self, field_errors: dict):
        super().__init__("capture failed validation")
        self.fields = field_errors


def kinds() -> list[str]:
    """Every known kind, sorted."""
    return sorted({kind for kind, _ in REGISTRY})


def versions(kind: str) -> list[int]:
    """Every version of a kind, ascending (old versions stay accepted forever)."""
    return sorted(v for k, v in REGISTRY if k == kind)


def latest_version(kind: str) -> int:
    """The newest version of a kind."""
    known = versions(kind)
    if not known:
        raise UnknownKind(kind)
    return known[-1]


def get_spec(kind: str, version: int) -> FormSpec:
    """Return the form spec of (kind, version) or raise UnknownKind / UnknownVersion."""
    if not isinstance(kind, str) or kind not in kinds():
        raise UnknownKind(kind)
    if isinstance(version, bool) or not isinstance(version, int) or (kind, version) not in REGISTRY:
        raise UnknownVersion(kind, version)
    return REGISTRY[(kind, version)]


def get_schema(kind: str, version: int) -> Schema:
    """Return a fresh marshmallow schema instance for (kind, version)."""
    return get_spec(kind, version).schema()


def _check_photos(spec: FormSpec, photos: list) -> tuple[list[dict], dict]:
    errors: dict = {}
    if not isinstance(photos, list):
        return [], {"photos": ["Not a valid list."]}
    clean: list[dict] = []
    seen: set[str] = set()
    for index, raw in enumerate(photos):
        try:
            photo = PhotoMetadataSchema().load(raw if isinstance(raw, dict) else {})
        except ValidationError as exc:
            errors[str(index)] = exc.messages if isinstance(raw, dict) else ["Not an object."]
            continue
        problems = []
        if spec.slot(photo["slot"]) is None:
            problems.append(f"unknown slot {photo['slot']!r}; slots: {[s.name for s in spec.slots]}")
        if str(photo["id"]) in seen:
            problems.append("photo id declared twice")
        seen.add(str(photo["id"]))
        if problems:
            errors[str(index)] = {"slot" if "slot" in problems[0] else "id": problems}
        clean.append(photo)
    filled = {p["slot"] for p in clean}
    missing = [s.name for s in spec.slots if s.required and s.name not in filled]
    if missing:
        errors["_slots"] = [f"required photo slot(s) without a photo: {', '.join(missing)}"]
    return clean, ({"photos": errors} if errors else {})


def validate_capture(kind: str, version: int, data, photos) -> tuple[dict, list[dict]]:
    """Validate form data and photo declarations; return them loaded or raise CaptureInvalid."""
    spec = get_spec(kind, version)
    field_errors: dict = {}
    clean_data: dict = {}
    if not isinstance(data, dict):
        field_errors["data"] = ["Not an object."]
    else:
        try:
            clean_data = spec.schema().load(data)
        except ValidationError as exc:
            field_errors["data"] = exc.messages
    clean_photos, photo_errors = _check_photos(spec, photos if photos is not None else [])
    field_errors.update(photo_errors)
    if field_errors:
        raise CaptureInvalid(field_errors)
    return clean_data, clean_photos


def to_json(value):
    """Turn loaded values (datetimes, dates, UUIDs) back into JSON-ready values, recursively."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def upgrade(kind: str, version: int, data: dict) -> tuple[int, dict]:
    """Map stored data of any version to the latest version (for display); return (version, data)."""
    spec = get_spec(kind, version)
    while spec.upgrade_to_next is not None:
        data = spec.upgrade_to_next(data)
        spec = get_spec(kind, spec.version + 1)
    return spec.version, data


def _rules(field_obj: fields.Field) -> dict:
    """The field's validators as plain data, so a tablet checks the same rules before saving."""
    rules: dict = {}
    if field_obj.allow_none:
        rules["nullable"] = True
    for validator in field_obj.validators:
        if isinstance(validator, validate.Length):
            rules.update(
                {k: v for k, v in (("min_length", validator.min), ("max_length", validator.max)) if v is not None}
            )
        elif isinstance(validator, validate.Range):
            if validator.min is not None:
                rules.update({"min": validator.min, "min_inclusive": validator.min_inclusive})
            if validator.max is not None:
                rules.update({"max": validator.max, "max_inclusive": validator.max_inclusive})
        elif isinstance(validator, validate.Regexp):
            rules["pattern"] = validator.regex.pattern
        elif isinstance(validator, validate.OneOf):
            rules["one_of"] = list(validator.choices)
    return rules


def _describe_field(field_obj: fields.Field) -> dict:
    out: dict = {"type": type(field_obj).__name__, "required": field_obj.required}
    out.update({k: v for k, v in field_obj.metadata.items() if k in ("label", "choices")})
    rules = _rules(field_obj)
    if rules:
        out["rules"] = rules
    if isinstance(field_obj, fields.Nested):
        nested = field_obj.nested() if callable(field_obj.nested) else field_obj.nested
        nested = nested() if isinstance(nested, type) else nested
        assert isinstance(nested, Schema), "forms nest schema classes or instances only"
        out["fields"] = {name: _describe_field(f) for name, f in nested.fields.items()}
        out["order"] = list(nested.fields)  # JSON objects lose their order in some stores
    if isinstance(field_obj, fields.List):
        out["items"] = _describe_field(field_obj.inner)
    return out


def describe(spec: FormSpec) -> dict:
    """A JSON descriptor of a form version for tablets: fields, labels, choices, photo slots."""
    schema = spec.schema()
    return {
        "kind": spec.kind,
        "version": spec.version,
        "label": spec.label,
        "latest": spec.version == latest_version(spec.kind),
        "fields": {name: _describe_field(f) for name, f in schema.fields.items()},
        "order": list(schema.fields),  # the order the form shows its fields in
        "photo_slots": [
            {"name": s.name, "label": s.label, "category": s.category, "required": s.required} for s in spec.slots
        ],
        "photo_fields": {name: _describe_field(f) for name, f in PhotoMetadataSchema().fields.items()},
        # cross-field rules: each ``later`` date must not fall before its ``earlier`` date (same day is fine)
        "date_order": [{"later": later, "earlier": earlier} for later, earlier in getattr(schema, "DATE_ORDER", ())],
    }


def fingerprint(spec: FormSpec) -> str:
    """A short hash of a descriptor, so a changed schema is published again to tablets."""
    text = json.dumps(describe(spec), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
