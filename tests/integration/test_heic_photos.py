"""A HEIC photo from a tablet goes through push, tus, stamping, review and export like a JPEG."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from PIL import Image

from models import Photo, PhotoEvidence
from models.database import db
from services.ports_access import ports
from tests.helpers.api_client import ApiClient
from tests.helpers.factories import PASSWORD
from tests.helpers.legal_world import export_bundle
from tests.helpers.pdf import text_of
from verifier import layout
from verifier.check import verify_bundle


def _blob(key: str) -> bytes:
    with ports().blobs.open(key) as stream:
        return stream.read()


def test_a_heic_photo_flows_through_push_tus_stamping_review_and_export(app, client, clock, tmp_path):
    export, photos = export_bundle(app, client, clock, tmp_path, count=1, fmt="HEIF")
    photo = db.session.get(Photo, photos[0])
    evidence = db.session.get(PhotoEvidence, photos[0])
    original = (tmp_path / photo.filename).read_bytes()

    # push declared it and tus carried it as HEIC; the stored original is the tablet's file, byte for byte
    assert photo.mime_type == "image/heic" and photo.filename.endswith(".heic")
    assert _blob(evidence.sha256) == original and evidence.sha256 == hashlib.sha256(original).hexdigest()

    # stamping read its metadata like a JPEG's and made JPEG copies
    assert evidence.metadata_status == "ok" and evidence.parsed["format"] == "HEIF"
    assert evidence.parsed["capture_local"] == "2026-03-02T09:10:30" and evidence.parsed["offset"] == "+08:00"
    assert (evidence.gps_latitude, evidence.gps_longitude) == (30.2741, 120.1551)
    assert evidence.time_analysis["basis_code"] == "exif"
    assert not {"metadata_unreadable", "exif_missing", "no_camera_metadata"} & set(evidence.flags)
    for key in (evidence.thumbnail_key, evidence.preview_key, evidence.stamped_key):
        assert Image.open(io.BytesIO(_blob(key))).format == "JPEG"
    assert evidence.derivatives_error is None and evidence.tsa_status == "granted"

    # review: the archivist's page shows the JPEG preview; the original is served as HEIC
    archivist = ApiClient(client)
    archivist.login("archivist1", PASSWORD)
    preview = archivist.get(f"/review/photos/{photo.id}/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    served = archivist.get(f"/review/photos/{photo.id}/original")
    assert served.status_code == 200 and served.mimetype == "image/heic" and served.data == original

    # export: the bundle carries the .heic original, verifies, and the report shows it in Chinese
    report = verify_bundle(export.bundle_path)
    assert report.ok, "\n".join(report.lines())
    with zipfile.ZipFile(export.bundle_path) as zf:
        item = json.loads(zf.read(layout.MANIFEST))["items"][0]
        assert item["files"]["original"].endswith(".heic") and zf.read(item["files"]["original"]) == original
        (tmp_path / "report.pdf").write_bytes(zf.read(layout.REPORT))
    text = text_of(tmp_path / "report.pdf")
    assert "户号" in text and "证据" in text and evidence.evidence_no in text
