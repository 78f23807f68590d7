"""A small client for the JSON API in tests: bearer tokens, CSRF for session calls, JSON helpers."""

from __future__ import annotations

import re

from flask import has_app_context
from flask.testing import FlaskClient

from models.database import db


class FreshRequestClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The tests keep an app context open for their own database work. Without this, a request
    would reuse it: the same ``g`` (one client's cached user leaking into another's request) and
    the same database session, so a handler that forgot to commit would still look right to a
    test asserting through ``db.session``. Here the test's pending work is committed first (the
    request must see the set-up data), the request gets a fresh context and session that are
    torn down after it, and the test's session then starts a new transaction, so every
    assertion reads what was really committed.
    """

    def open(self, *args, **kwargs):
        outer = db.session() if has_app_context() else None
        if outer is not None and (outer.new or outer.dirty or outer.deleted):
            outer.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if outer is not None:
            outer.rollback()  # ends the read snapshot and expires cached rows
        return response


class ApiClient:
    """Wraps a Flask test client; ``token`` makes it a device, ``login`` makes it a user."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token
        self.csrf: str | None = None

    def _headers(self, headers: dict | None) -> dict:
        out = dict(headers or {})
        if self.token:
            out.setdefault("Authorization", f"Bearer {self.token}")
        if self.csrf:
            out.setdefault("X-CSRFToken", self.csrf)
        return out

    def login(self, username: str, password: str):
        """Log in through the web form (fetching its CSRF token first); returns the response."""
        page = self.client.get("/login")
        self.csrf = csrf_token_of(page.get_data(as_text=True))
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": self.csrf})

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def request(self, method: str, path: str, **kwargs):
        return self.client.open(path, method=method, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


def csrf_token_of(html: str) -> str:
    """Extract the CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    if not match:
        raise AssertionError("no csrf_token field on the page")
    return match.group(1)
