"""A small client for the JSON API in tests: bearer tokens, CSRF for session calls, JSON helpers."""
from __future__ import annotations

import re

from flask import g
from flask.testing import FlaskClient


class FreshRequestClient(FlaskClient):
    """A test client whose every request starts without the previous request's cached user.

    The tests keep one app context open for their database work, so ``g`` outlives a request:
    Flask-Login's cached user and Flask-WTF's cached CSRF token would otherwise carry one
    client's identity into another client's request.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


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
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": self.csrf})

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def request(self, method: str, path: str, **kwargs):
        return self.client.open(path, method=method, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


def csrf_token_of(html: str) -> str:
    """Extract the CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise AssertionError("no csrf_token field on the page")
    return match.group(1)
