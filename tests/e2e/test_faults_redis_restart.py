"""Redis stopped and restarted while captures arrive: tablets are still served, nothing is lost,
and every photo is stamped once Redis is back.

Uses its own embedded redis-server (``ports.embedded_redis``), never a shared one.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TusPhotoUploader
from ports import embedded_redis
from tests.helpers.device import sample_data
from tests.helpers.images import make_jpeg
from tests.helpers.stack import LiveStack, audit_photos, engine_for, seed, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def redis_dir():
    """A short directory for the embedded Redis (unix socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="dgf-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _photo(directory: Path, n: int) -> PhotoFile:
    path = directory / f"meter-{n}.jpg"
    path.write_bytes(make_jpeg(seed=n, width=160, height=120))
    return PhotoFile(str(path), "meter", "meter")


def _sync_captures(tablet: DeviceClient, account: str, directory: Path, first: int, count: int) -> list[str]:
    ids = []
    for n in range(first, first + count):
        ids.append(
            tablet.capture("usage_inspection", account, sample_data("usage_inspection", 2), [_photo(directory, n)])[0]
        )
    result = tablet.sync(attempts=2, base_delay=0.2)
    assert result["pushed"] == {"applied": count} and result["uploaded"] == count
    return ids


def _states(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT state, count(*) FROM photos GROUP BY state")).all())


def test_captures_arriving_while_redis_is_down_are_all_stamped_after_it_returns(database_factory, redis_dir, tmp_path):
    redis_proc = embedded_redis.start(redis_dir)
    url = embedded_redis.url_for(redis_dir)
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    tablets = seed(database_url, url, data_dir, tablets=1)
    stack = LiveStack(database_url, url, data_dir)
    engine = engine_for(database_url)
    try:
        stack.start_web()
        worker = stack.start_worker()
        token, account = tablets[0]["token"], tablets[0]["account_nos"][0]
        tablet = DeviceClient(
            str(tmp_path / "tablet.sqlite3"),
            HttpTransport(stack.url, token),
            uploader=TusPhotoUploader(stack.url, token),
        )
        before = _sync_captures(tablet, account, tmp_path, 0, 3)
        wait_until(lambda: _states(engine).get("ready") == 3, 90, "the first photos to be stamped")

        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        assert not embedded_redis.is_up(url)
        during = _sync_captures(tablet, account, tmp_path, 3, 5)  # served although Redis is gone
        assert _states(engine).get("ready") == 3  # waiting in the outbox, not lost

        redis_proc = embedded_redis.start(redis_dir)
        wait_until(
            lambda: _states(engine).get("ready") == 8,
            120,
            "every photo to be stamped after the restart",
            check=lambda: worker.poll() is None or pytest.fail("the worker died with Redis"),
        )
        after = _sync_captures(tablet, account, tmp_path, 8, 2)
        wait_until(lambda: _states(engine).get("ready") == 10, 90, "the photos sent after the restart")

        with engine.connect() as conn:
            captures = conn.execute(sa.text("SELECT id FROM captures")).scalars().all()
            leaves = conn.execute(
                sa.text("SELECT subject_id, count(*) FROM log_leaves WHERE event_type = 'stamped' GROUP BY subject_id")
            ).all()
        assert sorted(captures) == sorted(before + during + after)
        assert len(leaves) == 10 and all(n == 1 for _, n in leaves)  # each photo stamped exactly once
        audit = audit_photos(engine, data_dir / "blobs")
        assert audit["mismatched"] == [] and audit["states"] == {"ready": 10}
        assert stack.server_errors() == []
    finally:
        stack.stop()
        engine.dispose()
        if redis_proc.poll() is None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        database_factory.drop(database_url)


def test_a_worker_started_while_redis_is_down_waits_for_it_then_stamps_and_still_stops_on_sigterm(
    database_factory, redis_dir, tmp_path
):
    url = embedded_redis.url_for(redis_dir)
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    redis_proc = embedded_redis.start(redis_dir)
    tablets = seed(database_url, url, data_dir, tablets=1)
    redis_proc.terminate()
    redis_proc.wait(timeout=10)
    stack = LiveStack(database_url, url, data_dir)
    engine = engine_for(database_url)
    try:
        stack.start_web()
        worker = stack.start_worker()  # no Redis to register with: RQ's own loop would end here
        tablet = DeviceClient(
            str(tmp_path / "tablet.sqlite3"),
            HttpTransport(stack.url, tablets[0]["token"]),
            uploader=TusPhotoUploader(stack.url, tablets[0]["token"]),
        )
        _sync_captures(tablet, tablets[0]["account_nos"][0], tmp_path, 0, 2)
        time.sleep(5)  # several of the worker's retries
        assert worker.poll() is None, "the worker ended because Redis was down"
        assert _states(engine).get("ready") is None

        redis_proc = embedded_redis.start(redis_dir)
        wait_until(
            lambda: _states(engine).get("ready") == 2,
            120,
            "the photos to be stamped once Redis is up",
            check=lambda: worker.poll() is None or pytest.fail("the worker died"),
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0  # a stop request still ends the process, cleanly
    finally:
        stack.stop()
        engine.dispose()
        if redis_proc.poll() is None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        database_factory.drop(database_url)


def test_an_idle_worker_keeps_listening_without_redis_timeouts_and_stamps_what_comes(
    database_factory, redis_dir, tmp_path
):
    redis_proc = embedded_redis.start(redis_dir)
    url = embedded_redis.url_for(redis_dir)
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    tablets = seed(database_url, url, data_dir, tablets=1)
    stack = LiveStack(database_url, url, data_dir, extra_env={"DANGAN_LOG_LEVEL": "INFO"})
    engine = engine_for(database_url)
    try:
        stack.start_web()
        worker = stack.start_worker()
        time.sleep(15)  # idle: longer than the app client's 5 s read timeout, shorter than RQ's BLPOP
        log = (data_dir / "worker-0.log").read_text()
        assert worker.poll() is None
        assert "Redis connection timeout" not in log and log.count("Listening on") == 1
        tablet = DeviceClient(
            str(tmp_path / "tablet.sqlite3"),
            HttpTransport(stack.url, tablets[0]["token"]),
            uploader=TusPhotoUploader(stack.url, tablets[0]["token"]),
        )
        _sync_captures(tablet, tablets[0]["account_nos"][0], tmp_path, 0, 1)
        wait_until(lambda: _states(engine).get("ready") == 1, 90, "the photo to be stamped by the idle worker")
    finally:
        stack.stop()
        engine.dispose()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        database_factory.drop(database_url)
