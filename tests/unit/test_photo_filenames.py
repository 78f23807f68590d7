"""A photo's file name is a label, never a path: one rule for push declarations and tus metadata."""

import uuid

import pytest
from marshmallow import ValidationError

from capture_schema.base import PhotoMetadataSchema
from core import errors
from sync import uploads as tus

REFUSED = [
    "../../../../tmp/x.jpg",
    "../etc/passwd",
    "a/b.jpg",
    "a\\b.jpg",
    "..\\..\\boot.ini",
    "..",
    ".",
    "x\x00.jpg",
    "line\nbreak.jpg",
    "x" * 252 + ".jpg",
]
ACCEPTED = ["IMG_0412.jpg", "电表 01.jpg", "meter.photo.jpg", ".hidden.jpg", "x" * 251 + ".jpg"]


def declaration(filename: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "slot": "meter",
        "category": "meter",
        "captured_at": "2026-03-02T09:25:00+08:00",
        "sha256": "0" * 64,
        "size": 10,
        "mime_type": "image/jpeg",
        "filename": filename,
    }


def push_accepts(filename: str) -> bool:
    try:
        PhotoMetadataSchema().load(declaration(filename))
    except ValidationError as exc:
        assert set(exc.messages) == {"filename"}
        return False
    return True


def tus_accepts(filename: str) -> bool:
    try:
        tus.photo_label({"photo_id": str(uuid.uuid4()), "sha256": "0" * 64, "filename": filename})
    except errors.DomainError as exc:
        assert exc.code == "upload.filename_invalid"
        return False
    return True


@pytest.mark.parametrize("filename", REFUSED)
def test_a_path_or_control_character_in_a_filename_is_refused_by_push_and_by_tus(filename):
    assert (push_accepts(filename), tus_accepts(filename)) == (False, False)


@pytest.mark.parametrize("filename", ACCEPTED)
def test_an_ordinary_filename_is_accepted_by_push_and_by_tus(filename):
    assert (push_accepts(filename), tus_accepts(filename)) == (True, True)
