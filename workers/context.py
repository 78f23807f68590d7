"""One app (config, database session, ports) per worker process, built once and reused by jobs."""

from __future__ import annotations

from flask import Flask

from server import create_app

_app: Flask | None = None


def get_app() -> Flask:
    """Return this process's app, building it on first use (jobs run inside its app context)."""
    global _app
    if _app is None:
        _app = create_app()
    return _app


def set_app(app: Flask | None) -> None:
    """Use an already built app (tests run jobs in-process against their own app)."""
    global _app
    _app = app
