"""Building blocks shared by every capture form: labelled choices, photo slots, photo metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

SHA256_HEX = r"^[0-9a-f]{64}$"
RATIO = r"^\d+(\.\d+)?/\d+(\.\d+)?$"
MAX_PHOTO_BYTES = 200 * 1024 * 1024
MAX_FILENAME_LENGTH = 255
_UNSAFE_FILENAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.{1,2}$|\.\.")

PHOTO_CATEGORIES = {
    "meter": "电能表",
    "seal": "封印",
    "wiring": "接线",
    "transformer": "变压器/互感器",
    "nameplate": "铭牌",
    "scene": "现场",
    "document": "文书/签名",
}
PHOTO_MIME_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif", "image/webp")
SEVERITIES = {"general": "一般", "serious": "严重", "critical": "危急"}


def is_safe_filename(name: str) -> bool:
    """Whether a photo's file name is a plain label (push declarations and tus metadata alike).

    At most 255 characters; no ``/`` or ``\\``, no ``..``, not ``.``, no control character.
    """
    return len(name) <= MAX_FILENAME_LENGTH and not _UNSAFE_FILENAME.search(name)


def _check_filename(name: str) -> None:
    if not is_safe_filename(name):
        raise ValidationError(
            f"a file name only: at most {MAX_FILENAME_LENGTH} characters, "
            "no path separator, no '..', no control character"
        )


def choice(choices: dict[str, str], label: str, **kwargs) -> fields.String:
    """A string field limited to the keys of ``choices``; the Chinese labels travel in metadata."""
    return fields.String(
        validate=validate.OneOf(list(choices), labels=list(choices.values())),
        metadata={"label": label, "choices": dict(choices)},
        **kwargs,
    )


def text(label: str, max_length: int = 200, **kwargs) -> fields.String:
    """A bounded free-text field with a Chinese label."""
    return fields.String(validate=validate.Length(max=max_length), metadata={"label": label}, **kwargs)


def labelled(field_obj: fields.Field, label: str) -> fields.Field:
    """Attach a Chinese label to a field."""
    field_obj.metadata = {**field_obj.metadata, "label": label}
    return field_obj


class GpsFixSchema(Schema):
    """The device's GPS fix when the photo was taken (as the device reports it)."""

    latitude = labelled(fields.Float(required=True, validate=validate.Range(-90, 90)), "纬度")
    longitude = labelled(fields.Float(required=True, validate=validate.Range(-180, 180)), "经度")
    accuracy_m = labelled(
        fields.Float(validate=validate.Range(min=0), load_default=None, allow_none=True), "精度（米）"
    )
    fix_time = labelled(fields.AwareDateTime(load_default=None, allow_none=True), "定位时间")


class PhotoMetadataSchema(Schema):
    """Metadata a form declares for each attached photo; the bytes travel separately (tus)."""

    id = labelled(fields.UUID(required=True), "照片编号")
    slot = text("照片位置", 40, required=True)
    category = choice(PHOTO_CATEGORIES, "照片类别", required=True)
    captured_at = labelled(fields.AwareDateTime(required=True), "拍摄时间（设备时钟）")
    gps = fields.Nested(GpsFixSchema, load_default=None, allow_none=True, metadata={"label": "GPS 定位"})
    sha256 = labelled(fields.String(required=True, validate=validate.Regexp(SHA256_HEX)), "SHA-256")
    size = labelled(fields.Integer(required=True, validate=validate.Range(1, MAX_PHOTO_BYTES)), "字节数")
    mime_type = labelled(fields.String(required=True, validate=validate.OneOf(PHOTO_MIME_TYPES)), "文件类型")
    filename = fields.String(validate=_check_filename, load_default=None, allow_none=True, metadata={"label": "文件名"})


class DefectSchema(Schema):
    """One defect found on site."""

    description = text("缺陷描述", 500, required=True)
    severity = choice(SEVERITIES, "严重程度", required=True)


@dataclass(frozen=True)
class Slot:
    """A named place for photos on a form (e.g. 电能表照片); ``required`` slots need one photo."""

    name: str
    label: str
    category: str
    required: bool = False


@dataclass(frozen=True)
class FormSpec:
    """One version of one form: its data schema, photo slots and the upgrade to the next version."""

    kind: str
    version: int
    label: str
    schema: type[Schema]
    slots: tuple[Slot, ...]
    upgrade_to_next: Callable[[dict], dict] | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def slot(self, name: str) -> Slot | None:
        """Return the slot called ``name``, or None."""
        return next((s for s in self.slots if s.name == name), None)


def date_not_before(data: dict, later: str, earlier: str) -> None:
    """Raise a field error on ``later`` when it precedes ``earlier`` (both optional)."""
    a, b = data.get(later), data.get(earlier)
    if a is not None and b is not None:
        a_day = a.date() if hasattr(a, "date") and callable(a.date) else a
        b_day = b.date() if hasattr(b, "date") and callable(b.date) else b
        if a_day < b_day:
            raise ValidationError(f"must not be before {earlier}", later)


__all__ = [
    "DefectSchema",
    "FormSpec",
    "GpsFixSchema",
    "PHOTO_CATEGORIES",
    "PhotoMetadataSchema",
    "RATIO",
    "SEVERITIES",
    "Slot",
    "choice",
    "date_not_before",
    "labelled",
    "text",
    "validates_schema",
]
