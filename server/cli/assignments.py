"""``assignments add|remove|list``: which customers an inspector's tablets carry."""

import click
from flask.cli import AppGroup

from core import errors
from core.actor import CLI
from models.database import db
from server.cli.output import emit, fail
from services import sync_assignments
from services.ports_access import ports

assignments = AppGroup("assignments", help="Task assignments: customers per inspector.")


@assignments.command("add")
@click.option("--inspector", required=True, help="User name of the inspector.")
@click.argument("account_nos", nargs=-1, required=True)
def add(inspector, account_nos):
    """Assign customers (by 户号) to an inspector; the tablets get them on their next pull."""
    try:
        result = sync_assignments.assign(db.session, CLI, inspector, list(account_nos), ports().clock.now())
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit(result)


@assignments.command("remove")
@click.option("--inspector", required=True, help="User name of the inspector.")
@click.argument("account_nos", nargs=-1, required=True)
def remove(inspector, account_nos):
    """End assignments; the customers leave the inspector's tablets on their next pull."""
    try:
        result = sync_assignments.unassign(db.session, CLI, inspector, list(account_nos), ports().clock.now())
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit(result)


@assignments.command("list")
@click.option("--inspector", required=True, help="User name of the inspector.")
def list_command(inspector):
    """Print the 户号 currently assigned to an inspector."""
    try:
        emit({"inspector": inspector, "account_nos": sync_assignments.assigned_account_nos(db.session, inspector)})
    except errors.DomainError as exc:
        fail(exc)


commands = [assignments]
