"""One app (config, database session, ports) per worker process, built once and reused by jobs."""
from __future__ import annotations

_app = None


def get_app():
    """Return this process's app, building it on first use (jobs run inside its app context)."""
    global _app
    if _app is None:
        from server import create_app

        _app = create_app()
    return _app


def set_app(app) -> None:
    """Use an already built app (tests run jobs in-process against their own app)."""
    global _app
    _app = app
