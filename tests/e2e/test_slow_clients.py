"""Tablets on weak links against gunicorn started as ``make run`` starts it (``server.web_serving``).

Slow uploads do not stop the server answering others; a PATCH that lasts longer than the
server's timeout setting completes; a PATCH killed or left silent keeps what it had synced; an
over-long pull cursor gets the JSON error shape, never gunicorn's HTML page.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket

import pytest
import redis as redis_lib
import requests

from server.api.uploads import RequestBody
from tests.helpers.slow_clients import SlowPatch, create_upload, head_offset, raw_get
from tests.helpers.stack import LiveStack, seed, wait_until

pytestmark = pytest.mark.e2e

WEB_TIMEOUT = 2  # gunicorn's worker timeout, far below the length of the slow requests here
READ_TIMEOUT = 4


@pytest.fixture
def stack(database_factory, redis_url, tmp_path):
    """gunicorn with 2 processes (as the product had with sync workers), short timeouts, 3 tablets."""
    redis_lib.Redis.from_url(redis_url).flushdb()
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    tablets = seed(database_url, redis_url, data_dir, tablets=3)
    live = LiveStack(
        database_url,
        redis_url,
        data_dir,
        web_workers=2,
        extra_env={
            "WEB_TIMEOUT": str(WEB_TIMEOUT),
            "WEB_READ_TIMEOUT": str(READ_TIMEOUT),
            "DANGAN_UPLOAD_LOCK_TTL_SECONDS": "3",  # a killed PATCH's lock is a lease: keep it short
        },
    )
    live.tablets = tablets
    live.start_web()
    yield live
    live.stop()
    database_factory.drop(database_url)


def _token(stack, n: int = 0) -> str:
    return stack.tablets[n]["token"]


def test_two_slow_uploads_do_not_stop_health_or_sync(stack):
    data = os.urandom(10_000)
    slow = [
        SlowPatch(
            stack.url, _token(stack, n), create_upload(stack.url, _token(stack, n), data), data, piece=1, interval=2.0
        )
        for n in range(2)
    ]
    for patch in slow:
        patch.start()
    wait_until(lambda: all(p.sent >= 1 for p in slow), 10, "both slow bodies to start")
    try:
        for _ in range(5):
            health = requests.get(f"{stack.url}/api/v1/health", timeout=10)
            assert health.status_code == 200
            pull = requests.get(
                f"{stack.url}/api/v1/sync/pull", timeout=10, headers={"Authorization": f"Bearer {_token(stack, 2)}"}
            )
            assert pull.status_code == 200 and "cursor" in pull.json()
        assert all(p.is_alive() for p in slow)  # still trickling in meanwhile
    finally:
        for patch in slow:
            patch.cut()


def test_a_photo_in_one_patch_lasting_longer_than_the_server_timeout_completes(stack):
    data = b"\xff\xd8\xff\xe0" + os.urandom(60_000)
    path = create_upload(stack.url, _token(stack), data)
    patch = SlowPatch(stack.url, _token(stack), path, data, piece=4_000, interval=0.4)  # about 6 s
    patch.start()
    patch.join(timeout=120)
    assert patch.status == 204
    assert head_offset(stack.url, _token(stack), path) == len(data)
    stored = stack.data_dir / "blobs" / "objects"
    digest = hashlib.sha256(data).hexdigest()
    assert (stored / digest[:2] / digest[2:4] / digest).read_bytes() == data


def test_a_patch_whose_web_worker_is_killed_midway_keeps_what_it_had_synced(stack):
    data = os.urandom(400_000)
    token = _token(stack)
    path = create_upload(stack.url, token, data)
    patch = SlowPatch(stack.url, token, path, data, piece=2_000, interval=0.1)
    patch.start()
    wait_until(lambda: patch.sent >= 60_000, 30, "bytes to arrive for longer than the progress interval")
    for pid in stack.web_worker_pids():
        os.kill(pid, signal.SIGKILL)
    patch.join(timeout=30)
    offset = wait_until(lambda: _offset_or_none(stack.url, token, path), 30, "a restarted web worker")
    assert 0 < offset <= patch.sent

    def resume() -> int | None:
        # the killed PATCH's lock holds until its lease runs out (423 until then)
        resumed = SlowPatch(stack.url, token, path, data, piece=len(data), interval=0, offset=offset)
        resumed.start()
        resumed.join(timeout=60)
        return resumed.status if resumed.status != 423 else None

    assert wait_until(resume, 30, "the killed PATCH's lease to run out", interval=0.5) == 204
    assert head_offset(stack.url, token, path) == len(data)


def _offset_or_none(url: str, token: str, path: str) -> int | None:
    try:
        return head_offset(url, token, path)
    except (requests.RequestException, AssertionError):
        return None


def test_a_patch_that_falls_silent_is_ended_by_the_read_timeout_and_keeps_its_bytes(stack):
    data = os.urandom(50_000)
    token = _token(stack)
    path = create_upload(stack.url, token, data)
    patch = SlowPatch(stack.url, token, path, data, piece=5_000, interval=0.05, stop_after=20_000)
    patch.start()
    patch.join(timeout=READ_TIMEOUT * 5)
    assert not patch.is_alive()  # the server ended it: nothing came for READ_TIMEOUT seconds
    assert patch.status == 204
    # everything but the last, incomplete piece the server was reading when the link fell silent
    assert 20_000 - RequestBody.PIECE < head_offset(stack.url, token, path) <= 20_000


def test_a_connection_that_falls_silent_in_its_headers_is_closed_after_the_read_timeout(stack):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=READ_TIMEOUT * 5) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: dangan\r\n")  # and then nothing
        assert sock.recv(1024) == b""  # closed by the server, not by our own timeout
    assert requests.get(f"{stack.url}/api/v1/health", timeout=10).status_code == 200


def test_a_pull_cursor_of_any_length_gets_cursor_invalid_in_the_json_shape(stack):
    for length in (300, 4_000, 8_000, 8_200, 20_000, 100_000):
        status, body = raw_get(stack.url, "/api/v1/sync/pull?cursor=" + "x" * length, token=_token(stack))
        assert status == 400, length
        answer = json.loads(body)
        assert answer["code"] == "sync.cursor_invalid" and set(answer) == {"code", "message", "details"}
    # requests gunicorn refuses before the application sees them get the JSON shape too
    status, body = raw_get(stack.url, "/api/v1/health?" + "q" * 10_000)
    assert status == 414 and json.loads(body)["code"] == "request.uri_too_long"
    status, body = raw_get(stack.url, "/api/v1/health HTTP/9.9 junk")
    assert status == 400 and json.loads(body)["code"] == "request.bad"
