"""``users create``: roles, duplicates and passwords give clear messages and leave nothing behind."""

import json

from models import AuditEntry, User
from models.database import db


def test_creating_a_user_prints_it_and_audits_it(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "wang",
            "--role",
            "manager",
            "--password",
            "a long enough pw",
            "--display-name",
            "王主任",
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip())["role"] == "manager"
    assert db.session.query(User).filter_by(username="wang").one().display_name == "王主任"
    assert db.session.query(AuditEntry).filter_by(action="user.create").count() == 1


def test_unknown_role_is_named_and_nothing_is_created(runner):
    result = runner.invoke(args=["users", "create", "wang", "--role", "boss", "--password", "a long enough pw"])
    assert result.exit_code == 1
    assert "boss" in result.output and "user.unknown_role" in result.output
    assert db.session.query(User).count() == 0


def test_duplicate_user_is_refused(runner):
    args = ["users", "create", "wang", "--role", "legal", "--password", "a long enough pw"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert "user.duplicate" in again.output
    assert db.session.query(User).count() == 1


def test_short_password_is_refused(runner):
    result = runner.invoke(args=["users", "create", "wang", "--role", "legal", "--password", "short"])
    assert result.exit_code == 1
    assert "user.weak_password" in result.output
    assert db.session.query(User).count() == 0
