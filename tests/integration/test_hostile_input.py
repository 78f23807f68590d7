"""Hostile and bad input: the corpus of bad images and bad requests.

Each gets a clear 4xx with a stable code or a recorded "unreadable" state; no 5xx; the stored
bytes stay exactly as sent; text that reaches a page is escaped (and pages forbid inline scripts).
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from rq import SimpleWorker
from sqlalchemy import func, inspect, select

from models import Capture, CaptureRevision, Photo, PhotoEvidence, PipelineRun
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from services import dispatch
from tests.corpus.make_corpus import HOSTILE_TEXTS, SCRIPT, write_images
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, make_capture, review_world
from tests.helpers.device import sample_data
from tests.helpers.factories import PASSWORD, make_customer, make_device
from tests.helpers.received_photos import received_photo
from tests.helpers.uploads import tus_metadata
from workers import context

NOW = "2026-03-02T01:00:00+00:00"


def _strict_json(text: str):
    """Parse JSON the way strict clients do: Infinity and NaN are not JSON."""
    return json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def _stamp_all(app) -> None:
    context.set_app(app)
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    dispatch.tick(app)


def _item(**overrides) -> dict:
    item = {
        "capture_id": str(uuid.uuid4()),
        "revision_id": str(uuid.uuid4()),
        "base_revision_id": None,
        "kind": "usage_inspection",
        "schema_version": 2,
        "account_no": HIGH,
        "device_time": NOW,
        "data": sample_data("usage_inspection", 2),
        "photos": [
            {
                "id": str(uuid.uuid4()),
                "slot": "meter",
                "category": "meter",
                "captured_at": NOW,
                "gps": None,
                "sha256": "ab" * 32,
                "size": 10,
                "mime_type": "image/jpeg",
                "filename": "meter.jpg",
            }
        ],
    }
    item.update(overrides)
    return item


def _push(client, token, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        "/api/v1/sync/push", data=data, content_type=content_type, headers={"Authorization": f"Bearer {token}"}
    )


# --- bad images ---------------------------------------------------------------------------------


def test_every_corpus_image_is_stored_untouched_stamped_with_a_recorded_state_and_reviewable(app, client, tmp_path):
    device, _ = review_world()
    capture = make_capture(device, HIGH, photos=0)
    files = write_images(tmp_path / "corpus")
    photos = {name: received_photo(path.read_bytes(), capture) for name, path in files.items()}
    _stamp_all(app)
    db.session.expire_all()
    blobs = app.extensions["dangan.ports"].blobs
    for name, photo in photos.items():
        photo = db.session.get(Photo, photo.id)
        evidence = db.session.get(PhotoEvidence, photo.id)
        run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
        assert photo.state == "ready" and run.status == "done", name
        assert evidence.hash_ok is True, name
        assert evidence.metadata_status in ("ok", "absent", "unreadable"), name
        with blobs.open(photo.blob_sha256) as stored:
            assert stored.read() == files[name].read_bytes(), name  # never re-encoded
    for name in (
        "zero_bytes.jpg",
        "truncated.jpg",
        "not_an_image.jpg",
        "exif_loop.jpg",
        "jpeg_bomb.jpg",
        "png_bomb_named_jpg.jpg",
        "huge_ifd_count.jpg",
    ):
        evidence = db.session.get(PhotoEvidence, photos[name].id)
        assert evidence.metadata_status == "unreadable" and "metadata_unreadable" in evidence.flags, name

    archivist = ApiClient(client)
    assert archivist.login("archivist", PASSWORD).status_code == 302
    page = archivist.get(f"/review/captures/{capture.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert SCRIPT not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    detail = archivist.get(f"/api/v1/review/captures/{capture.id}")
    assert detail.status_code == 200
    for photo in photos.values():
        for variant in ("original", "preview", "thumbnail"):
            response = archivist.get(f"/review/photos/{photo.id}/{variant}")
            assert response.status_code in (200, 404), (variant, response.status_code)
            if response.status_code == 200:
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert not response.mimetype.startswith("text/html")
            response.close()  # streamed bodies: end the stream


def test_the_inspect_command_reports_every_corpus_file_without_crashing(runner, tmp_path):
    files = write_images(tmp_path / "corpus")
    result = runner.invoke(args=["photos", "inspect", *map(str, files.values())])
    assert result.exit_code in (0, 1)
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == len(files)
    for line in lines:
        assert "error" in line or "flags" in line


def test_a_zero_byte_photo_uploads_and_a_bad_filename_is_refused(client):
    _, token = make_device()
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0", "Upload-Length": "0"}
    empty = client.post(
        "/api/v1/uploads",
        headers={**headers, "Upload-Metadata": tus_metadata(str(uuid.uuid4()), hashlib.sha256(b"").hexdigest())},
    )
    assert empty.status_code == 201 and empty.headers["Upload-Offset"] == "0"
    for name in ("../../etc/passwd", "..\\..\\boot.ini", "a/b.jpg", "x\x00.jpg"):
        refused = client.post(
            "/api/v1/uploads",
            headers={**headers, "Upload-Metadata": tus_metadata(str(uuid.uuid4()), "ab" * 32, filename=name)},
        )
        assert refused.status_code == 400, name
        assert refused.get_json()["code"] == "upload.filename_invalid", name


# --- bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,status,code",
    [
        (b"{not json", 400, "request.invalid_json"),
        (b"\xff\xfe\x00{", 400, "request.invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "request.invalid_json"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "request.invalid_json"),
        (b"[]", 422, "request.validation_failed"),
        (b'{"protocol": 1, "device_time": "yesterday", "items": "x"}', 422, "request.validation_failed"),
        (b'{"protocol": 99, "device_time": "2026-03-02T01:00:00Z", "items": []}', 400, "sync.protocol_unsupported"),
        (b'{"protocol": 1e999, "device_time": "2026-03-02T01:00:00Z", "items": []}', 400, "sync.protocol_unsupported"),
        (
            b'{"protocol": 1, "device_time": "2026-03-02T01:00:00Z", "items": [' + b"{}," * 300 + b"{}]}",
            413,
            "sync.batch_too_large",
        ),
        (b" " * (1024 * 1024 + 1), 413, "sync.batch_too_large"),
    ],
    ids=[
        "malformed",
        "not_utf8",
        "deep_arrays",
        "deep_objects",
        "array_envelope",
        "wrong_types",
        "unknown_protocol",
        "infinite_protocol",
        "too_many_items",
        "oversized_body",
    ],
)
def test_a_bad_push_envelope_gets_a_clear_4xx_with_a_stable_code(client, body, status, code):
    _, token = make_device()
    response = _push(client, token, body)
    assert response.status_code == status
    assert _strict_json(response.get_data(as_text=True))["code"] == code


@pytest.mark.parametrize(
    "overrides,code",
    [
        ({"schema_version": 99}, "sync.unknown_version"),
        ({"kind": "no_such_form"}, "sync.unknown_kind"),
        ({"schema_version": "two"}, "sync.capture_invalid"),
        ({"data": []}, "sync.capture_invalid"),
        ({"data": {"meter_reading": {"$gt": ""}}}, "sync.capture_invalid"),
        ({"account_no": "../../etc/passwd"}, "sync.capture_invalid"),
        ({"account_no": "3100012345' OR '1'='1"}, "sync.capture_invalid"),
        ({"capture_id": "../../x"}, "sync.capture_invalid"),
        ({"photos": [{"id": "not-a-uuid", "sha256": "../../x"}]}, "sync.capture_invalid"),
    ],
    ids=[
        "unknown_version",
        "unknown_kind",
        "version_wrong_type",
        "data_wrong_type",
        "operator_injection",
        "account_traversal",
        "account_sql",
        "capture_id_traversal",
        "photo_garbage",
    ],
)
def test_one_bad_item_is_rejected_with_its_code_and_never_blocks_the_good_one(client, overrides, code):
    make_customer(HIGH)
    _, token = make_device()
    good, bad = _item(), _item(**overrides)
    response = _push(client, token, {"protocol": 1, "device_time": NOW, "items": [bad, good]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results[0]["status"] == "rejected" and results[0]["error"]["code"] in (code, "sync.capture_invalid"), (
        results[0]
    )
    if code != "sync.capture_invalid":
        assert results[0]["error"]["code"] == code
    assert results[1]["status"] == "applied"
    assert db.session.scalar(select(func.count()).select_from(Capture)) == 1


def test_injection_strings_in_every_text_field_are_stored_verbatim_and_escaped_on_pages(app, client):
    _, token = review_world()
    make_customer(
        "3100099999", SCRIPT + "有限公司", "高压", "大工业用电", address=HOSTILE_TEXTS[1], phone="13800138001"
    )
    items = []
    for n, text in enumerate(HOSTILE_TEXTS):
        data = sample_data("usage_inspection", 2)
        data.update(findings=text, seal_numbers=[text[:30]], defects=[{"description": text, "severity": "general"}])
        items.append(_item(data=data, account_no="3100099999" if n % 2 else HIGH))
    pushed = _push(client, token, {"protocol": 1, "device_time": NOW, "items": items})
    assert pushed.status_code == 200
    assert [r["status"] for r in pushed.get_json()["results"]] == ["applied"] * len(items)
    stored = sorted(r.payload["findings"] for r in db.session.scalars(select(CaptureRevision)))
    assert stored == sorted(HOSTILE_TEXTS)  # verbatim: nothing lost, nothing "cleaned"
    assert {"captures", "photos", "customers"} <= set(inspect(db.engine).get_table_names())

    archivist = ApiClient(client)
    assert archivist.login("archivist", PASSWORD).status_code == 302
    pages = [f"/review/captures/{item['capture_id']}" for item in items]
    pages += [
        "/review/queue",
        "/review/unlinked",
        "/dossiers/3100099999",
        f"/dossiers/{HIGH}",
        "/dossiers?q=" + SCRIPT,
        "/review/queue?account_no=" + SCRIPT,
    ]
    for path in pages:
        page = archivist.get(path)
        assert page.status_code < 500, path
        html = page.get_data(as_text=True)
        assert SCRIPT not in html and "<img src=x" not in html, path
        assert "script-src 'self'" in page.headers["Content-Security-Policy"], path
    legal = ApiClient(client)
    assert legal.login("legal", PASSWORD).status_code == 302
    page = legal.get("/legal/?q=" + SCRIPT)
    assert page.status_code < 500 and SCRIPT not in page.get_data(as_text=True)


def test_path_traversal_in_urls_reaches_no_file(client):
    _, token = make_device()
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    assert client.get("/static/../server/config.py").status_code == 404
    assert client.get("/static/%2e%2e/%2e%2e/etc/passwd").status_code == 404
    assert client.head("/api/v1/uploads/..%2f..%2fetc%2fpasswd", headers=auth).status_code == 404
    make_device("inspector2")
    archivist_free = client.get("/review/photos/..%2f..%2fetc%2fpasswd/original")
    assert archivist_free.status_code in (302, 404)


def test_huge_ids_in_urls_are_404_not_a_database_overflow(client):
    from tests.helpers.factories import make_user

    make_user("manager", "manager")
    manager = ApiClient(client)
    assert manager.login("manager", PASSWORD).status_code == 302
    for path in (
        "/api/v1/lifecycle/disposal-lists/99999999999999999999999999",
        "/api/v1/legal/exports/99999999999999999999999999",
        "/lifecycle/disposal/99999999999999999999999999",
    ):
        assert manager.get(path).status_code == 404, path
    approve = manager.post("/api/v1/lifecycle/disposal-lists/99999999999999999999999999/approve", json={})
    assert approve.status_code == 404


def test_numbers_beyond_the_database_range_in_queries_and_bodies_are_422(client):
    from tests.helpers.factories import make_user

    make_user("manager", "manager")
    manager = ApiClient(client)
    assert manager.login("manager", PASSWORD).status_code == 302
    huge = 99999999999999999999999999
    for response in (
        manager.get(f"/api/v1/legal/uses?export_id={huge}"),
        manager.get(f"/api/v1/lifecycle/obligations?page={huge}"),
        manager.get(f"/api/v1/lifecycle/retention?page={huge}"),
    ):
        assert response.status_code == 422, response.request.path
        assert response.get_json()["code"] == "request.validation_failed"
        assert response.get_json()["details"] == {"reason": "out_of_range"}


def test_deeply_nested_json_to_any_api_route_is_a_4xx(client):
    from tests.helpers.factories import make_user

    make_user("archivist", "archivist")
    archivist = ApiClient(client)
    assert archivist.login("archivist", PASSWORD).status_code == 302
    deep = b"[" * 100_000 + b"]" * 100_000
    response = archivist.post("/api/v1/review/bulk-approve", data=deep, content_type="application/json")
    assert 400 <= response.status_code < 500


def test_a_rate_limited_answer_says_when_to_come_back(client):
    for i in range(31):
        client.get("/api/v1/me", headers={"Authorization": f"Bearer dgn_guess{i}"})
    limited = client.get("/api/v1/me", headers={"Authorization": "Bearer dgn_guess"})
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "Retry-After" not in client.get("/api/v1/health").headers
