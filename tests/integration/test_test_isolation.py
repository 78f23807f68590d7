"""The test fixtures themselves: a request runs in its own app context, as it does in production."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from models import Customer
from models.database import db


def test_a_handler_that_forgets_to_commit_leaves_nothing_behind(app, client):
    """A handler that adds a row without committing must not look successful to a test."""

    @app.get("/_probe/forgets-commit")
    def forgets_commit():
        db.session.add(Customer(account_no="3199990001", name="未提交", voltage_class="low", usage_category="居民生活"))
        db.session.flush()
        return {"ok": True}

    assert client.get("/_probe/forgets-commit").status_code == 200
    assert db.session.scalar(select(Customer).where(Customer.account_no == "3199990001")) is None


def test_a_handler_that_commits_is_seen_by_the_test(app, client):
    """The same handler with a commit: the test's session reads the committed row."""

    @app.get("/_probe/commits")
    def commits():
        db.session.add(Customer(account_no="3199990002", name="已提交", voltage_class="low", usage_category="居民生活"))
        db.session.commit()
        return {"ok": True}

    assert client.get("/_probe/commits").status_code == 200
    assert db.session.scalar(select(Customer).where(Customer.account_no == "3199990002")) is not None


def test_each_request_has_its_own_g(app, client):
    """Values a request leaves on ``g`` do not reach the next request."""

    @app.get("/_probe/g")
    def probe_g():
        seen = getattr(g, "probe", None)
        g.probe = "set by an earlier request"
        return {"seen": seen}

    assert client.get("/_probe/g").get_json() == {"seen": None}
    assert client.get("/_probe/g").get_json() == {"seen": None}
