"""Dangan: offline-first sync backend for power-supply customer dossiers.

Importing ``server`` (or ``server.models``) does not import Flask, so that ``sync/`` and
``workers/`` can use the models and the error catalogue without the web layer.
"""


def create_app(config=None):
    """Build the Flask application; ``config`` is a mapping or object overriding the defaults."""
    from server.app import build_app

    return build_app(config)
