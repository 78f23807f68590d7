"""``deploy/nginx.conf`` as shipped, with Debian's nginx in front of gunicorn started as ``make run`` does.

Tablets sync and upload through it; slow request bodies are held by nginx and never reach a
gunicorn thread; photo uploads stream through, so a cut PATCH keeps what it had synced; a long
pull cursor still gets ``sync.cursor_invalid``.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import redis as redis_lib
import requests

from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TusPhotoUploader
from tests.helpers.device import sample_data
from tests.helpers.nginx import nginx_in_front, require_nginx
from tests.helpers.slow_clients import SlowPatch, create_upload, head_offset, raw_get
from tests.helpers.stack import LiveStack, seed, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def proxied(database_factory, redis_url, tmp_path):
    """gunicorn (one process, 4 threads: few on purpose) behind nginx; yields (stack, nginx URL)."""
    require_nginx()
    redis_lib.Redis.from_url(redis_url).flushdb()
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    tablets = seed(database_url, redis_url, data_dir, tablets=2)
    stack = LiveStack(database_url, redis_url, data_dir, web_workers=1, extra_env={"WEB_THREADS": "4"})
    stack.tablets = tablets
    stack.start_web()
    try:
        with nginx_in_front(stack.port, tmp_path / "nginx") as url:
            yield stack, url
    finally:
        stack.stop()
        database_factory.drop(database_url)


def test_a_tablet_syncs_and_uploads_through_nginx(proxied, tmp_path):
    stack, url = proxied
    tablet = stack.tablets[0]
    photo = tmp_path / "meter.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(300_000))
    client = DeviceClient(
        str(tmp_path / "tablet.sqlite3"),
        HttpTransport(url, tablet["token"], timeout=30),
        uploader=TusPhotoUploader(url, tablet["token"], chunk_size=64 * 1024, retries=0),
    )
    client.capture(
        "usage_inspection",
        tablet["account_nos"][0],
        sample_data("usage_inspection", 2),
        [PhotoFile(str(photo), "meter", "meter")],
        schema_version=2,
    )
    client.sync(attempts=2, base_delay=0.5)
    assert client.pending() == [] and client.photos_to_upload() == []
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    assert (stack.data_dir / "blobs" / "objects" / digest[:2] / digest[2:4] / digest).read_bytes() == photo.read_bytes()
    client.close()


def test_slow_request_bodies_wait_in_nginx_and_never_take_a_gunicorn_thread(proxied):
    stack, url = proxied
    token = stack.tablets[0]["token"]
    body = json.dumps({"protocol": 1, "items": []}).encode()
    # twice as many as gunicorn has threads
    slow = [SlowPatch(url, token, "/api/v1/sync/push", body, piece=1, interval=1.0, json=True) for _ in range(8)]
    for patch in slow:
        patch.start()
    try:
        wait_until(lambda: all(p.sent >= 2 for p in slow), 20, "the slow bodies to start")
        for _ in range(5):
            assert requests.get(f"{url}/api/v1/health", timeout=10).status_code == 200
        assert not any("/api/v1/sync/push" in path for _s, _m, path in stack.statuses())  # none reached gunicorn
    finally:
        for patch in slow:
            patch.cut()


def test_a_photo_upload_streams_through_so_a_cut_patch_keeps_what_it_had_synced(proxied):
    stack, url = proxied
    token = stack.tablets[1]["token"]
    data = os.urandom(200_000)
    path = create_upload(url, token, data)
    patch = SlowPatch(url, token, path, data, piece=2_000, interval=0.1)
    patch.start()
    wait_until(lambda: patch.sent >= 80_000, 30, "bytes for longer than the progress interval")
    patch.cut()
    patch.join(timeout=30)
    offset = wait_until(lambda: head_offset(url, token, path), 30, "the cut PATCH to be recorded")
    assert 0 < offset <= patch.sent


def test_a_long_pull_cursor_through_nginx_is_cursor_invalid(proxied):
    stack, url = proxied
    for length in (300, 9_000, 30_000):
        status, body = raw_get(url, "/api/v1/sync/pull?cursor=" + "x" * length, token=stack.tablets[0]["token"])
        assert status == 400 and json.loads(body)["code"] == "sync.cursor_invalid", (length, body[:200])


def test_what_nginx_refuses_itself_gets_the_json_error_shape(proxied):
    stack, url = proxied
    status, body = raw_get(url, "/api/v1/sync/pull?cursor=" + "x" * 70_000, token=stack.tablets[0]["token"])
    assert status == 414 and json.loads(body)["code"] == "request.uri_too_long"
    too_big = requests.post(
        f"{url}/api/v1/sync/push",
        data=b"x" * (65 * 1024 * 1024),
        timeout=60,
        headers={"Authorization": f"Bearer {stack.tablets[0]['token']}", "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413 and too_big.json()["code"] == "request.too_large"
