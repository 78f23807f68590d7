"""The JSON API under /api/v1: thin flask-smorest blueprints that call one service each."""

from flask import Flask
from flask_smorest import Api

from server.extensions import csrf
from server.security import limit_refused_tokens

# Each module exposes ``blp``; new API areas add their module name here.
MODULES = ("health", "identity", "sync", "uploads", "lifecycle", "review", "dossiers", "evidence_log", "legal", "scans")


def register(app: Flask, api: Api) -> None:
    """Register every API blueprint; bearer-token APIs do their own CSRF decision (server.auth)."""
    import importlib

    api.spec.components.security_scheme(
        "deviceToken", {"type": "http", "scheme": "bearer", "description": "Device token"}
    )
    api.spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    for name in MODULES:
        module = importlib.import_module(f"server.api.{name}")
        csrf.exempt(module.blp)
        limit_refused_tokens(module.blp)
        api.register_blueprint(module.blp)
