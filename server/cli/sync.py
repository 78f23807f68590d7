"""``sync compact`` and ``sync reset-all``: operator maintenance of the tablets' change feed."""

import click
from flask.cli import AppGroup

from core.actor import CLI
from models.database import db
from server.cli.output import emit
from services import sync_maintenance
from services.ports_access import ports

sync = AppGroup("sync", help="Maintenance of the tablets' sync feed.")


@sync.command("compact")
@click.option(
    "--tombstone-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Keep deletions this long; tablets that stay offline longer must reset.",
)
def compact(tombstone_days):
    """Drop superseded feed rows and old tombstones (raising the reset floor)."""
    emit(sync_maintenance.compact(db.session, CLI, ports().clock.now(), tombstone_days))


@sync.command("reset-all")
@click.option("--reason", required=True, help="Why every tablet must start over (recorded).")
def reset_all(reason):
    """Start a new sync epoch: every tablet's next pull gets "reset required"."""
    emit(sync_maintenance.reset_all(db.session, CLI, ports().clock.now(), reason))


commands = [sync]
