"""Short soak in CI: 20 tablets push forms and upload photos concurrently for about 40 s against
gunicorn (several workers) and two RQ workers; afterwards every capture is present exactly once,
every photo's stored bytes match its hash, every photo is stamped once, and nothing answered 5xx.

The long version is ``bench/soak.py`` (see docs/reliability.md).
"""

from __future__ import annotations

import json
import os

import pytest
import redis as redis_lib

from tests.helpers import soak
from tests.helpers.stack import LiveStack, seed

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]
DEVICES = int(os.environ.get("DANGAN_SOAK_DEVICES", "20"))
SECONDS = float(os.environ.get("DANGAN_SOAK_SECONDS", "40"))


def test_tablets_syncing_concurrently_lose_nothing_duplicate_nothing_and_get_no_5xx(
    database_factory, redis_url, tmp_path
):
    redis_lib.Redis.from_url(redis_url).flushdb()
    database_url = database_factory.create()
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    tablets = seed(database_url, redis_url, data_dir, tablets=DEVICES)
    stack = LiveStack(database_url, redis_url, data_dir, web_workers=3)
    try:
        stack.start_web()
        for _ in range(2):
            stack.start_worker()
        figures = soak.run(stack, tablets, tmp_path / "tablets", SECONDS, think=1.0)
    finally:
        stack.stop()
        database_factory.drop(database_url)
    print("soak figures:", json.dumps(figures.as_dict(), ensure_ascii=False))
    assert figures.captures > 0 and figures.photos > figures.captures
    assert figures.client_errors == []
    assert figures.server_errors == []
    assert figures.missing_captures == [] and figures.unexpected_captures == [] and figures.not_sent == 0
    assert figures.bad_photos == []
    assert figures.not_stamped == {} and figures.stamped == figures.photos and figures.stamped_twice == []
    assert figures.errors() == 0
