"""``users create``: add office staff and inspectors."""

import os

import click
from flask.cli import AppGroup

from core import errors
from core.actor import CLI
from models import ROLES
from models.database import db
from server.cli.output import emit, fail
from services import accounts

users = AppGroup("users", help="Manage user accounts.")


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, help=f"One of: {', '.join(ROLES)}.")
@click.option("--display-name", default="", help="Name shown on pages (e.g. 张三).")
@click.option("--district", default=None, help="Supply district (供电单位) the user works for.")
@click.option("--password", default=None, help="Password; prompted for when omitted (or DANGAN_PASSWORD is used).")
@click.option("--no-password", is_flag=True, help="Create an account that cannot log in on the web.")
def create(name, role, display_name, district, password, no_password):
    """Create user NAME with a role."""
    if role not in ROLES:
        fail(errors.DomainError(errors.UNKNOWN_ROLE, f"Unknown role {role!r}; use one of {', '.join(ROLES)}."))
    if not no_password and password is None:
        password = os.environ.get("DANGAN_PASSWORD") or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
    try:
        user = accounts.create_user(
            db.session, CLI, name, role, None if no_password else password, display_name, district
        )
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit({"id": user.id, "username": user.username, "role": user.role})


commands = [users]
