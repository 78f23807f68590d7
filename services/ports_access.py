"""Access to the current app's ports from request and CLI code."""

from flask import current_app

from ports import Ports


def ports() -> Ports:
    """Return the ports wired into the current app by the factory."""
    return current_app.extensions["dangan.ports"]
