"""The app's Redis connection: ``REDIS_URL`` or the embedded Redis under the data dir."""

from __future__ import annotations

import redis
from flask import Flask, current_app

from ports import embedded_redis


class RedisConnection:
    """Lazily opened Redis client, one per app; the embedded server is started on first use."""

    def __init__(self, app: Flask | None = None):
        self._client: redis.Redis | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register on the app."""
        app.extensions["dangan.redis"] = self

    def url(self, app: Flask) -> str:
        """Return the Redis URL in force, starting the embedded server if none is configured."""
        if not app.config.get("REDIS_URL"):
            app.config["REDIS_URL"] = embedded_redis.ensure_running(app.config["DANGAN_DATA_DIR"])
        return app.config["REDIS_URL"]

    def client(self, app: Flask) -> redis.Redis:
        """Return the shared Redis client (no response decoding: RQ needs bytes)."""
        if self._client is None:
            self._client = redis.Redis.from_url(
                self.url(app), socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
            )
        return self._client


def blocking_client(url: str, block_s: float) -> redis.Redis:
    """A client for commands that block up to ``block_s`` seconds (RQ's BLPOP): its read timeout is longer."""
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=block_s + 10, health_check_interval=30)


def get_redis() -> redis.Redis:
    """Return the current app's Redis client."""
    return current_app.extensions["dangan.redis"].client(current_app)
