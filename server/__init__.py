"""Dangan's web layer: the app factory, HTTP API, office pages, CLI and the `make run` supervisor."""

from server.app import build_app


def create_app(config=None):
    """Build the Flask application; ``config`` is a mapping or object overriding the defaults."""
    return build_app(config)
