"""SM3 is computed at stamping: before that a photo's blob has none, and nothing that shows it fails."""

from __future__ import annotations

from models import Blob, Photo
from models.database import db
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, make_capture, review_world
from tests.helpers.factories import PASSWORD


def _received_without_sm3():
    """A capture whose photo was received by upload and not stamped yet (its blob has no SM3)."""
    device, _ = review_world()
    capture = make_capture(device, HIGH)
    photo = db.session.query(Photo).filter_by(capture_id=capture.id).one()
    db.session.get(Blob, photo.blob_sha256).sm3 = None
    db.session.commit()
    return capture, photo


def test_a_received_photo_without_sm3_shows_none_in_the_review_api_and_the_capture_page(client):
    capture, photo = _received_without_sm3()
    api = ApiClient(client)
    assert api.login("archivist", PASSWORD).status_code == 302
    detail = api.get(f"/api/v1/review/captures/{capture.id}")
    assert detail.status_code == 200, detail.get_data(as_text=True)
    shown = {p["id"]: p for p in detail.get_json()["photos"]}[photo.id]
    assert shown["sm3"] is None and shown["sha256"] == photo.blob_sha256
    assert api.get(f"/api/v1/captures/{capture.id}").status_code == 200
    page = api.get(f"/review/captures/{capture.id}")
    assert page.status_code == 200
