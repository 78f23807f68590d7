"""The Redis the tests use: TEST_REDIS_URL, or the embedded redis-server in a temporary dir."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from ports import embedded_redis


@contextmanager
def redis_for_tests(root: Path):
    """Yield a Redis URL for the test session; an embedded server is stopped afterwards."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    proc = embedded_redis.start(root)
    try:
        yield embedded_redis.url_for(root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
