"""``devices register`` / ``devices enrol`` / ``devices revoke``: tablets and their bearer tokens."""

import sys

import click
import segno
from flask.cli import AppGroup

from core import errors
from core.actor import CLI
from models.database import db
from server.cli.output import emit, fail
from services import devices as device_service
from services import enrolment
from services.ports_access import ports

devices = AppGroup("devices", help="Register and revoke inspector tablets.")


@devices.command("register")
@click.option("--inspector", required=True, help="User name of the inspector who carries the tablet.")
@click.option("--name", default="", help="A label for the tablet (e.g. asset number).")
def register(inspector, name):
    """Register a tablet; prints {"device_id", "token"} once (the token is not stored in clear)."""
    try:
        device, token = device_service.register_device(db.session, CLI, inspector, name)
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit({"device_id": device.id, "token": token})


@devices.command("enrol")
@click.option("--inspector", required=True, help="User name of the inspector who gets the tablet.")
@click.option("--name", default="", help="A label for the tablet (e.g. asset number).")
@click.option(
    "--url",
    "base_url",
    default="",
    help="The server's address as the tablets reach it "
    "(e.g. https://dangan.example.cn); with it the QR code is drawn on the terminal.",
)
def enrol(inspector, name, base_url):
    """Create a one-time enrolment code (24 h) for the capture app; prints {"code", "expires_at", …}."""
    try:
        row, code = enrolment.create_code(db.session, CLI, inspector, ports().clock.now(), name)
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    out = {"code": code, "inspector": inspector, "expires_at": row.expires_at.isoformat()}
    if base_url:
        out["enrol_url"] = base_url.rstrip("/") + "/capture/#enrol=" + code
        segno.make(out["enrol_url"], error="m").terminal(compact=True, border=2, out=sys.stderr)
    emit(out)


@devices.command("revoke")
@click.argument("device_id")
def revoke(device_id):
    """Revoke the token of tablet DEVICE_ID."""
    try:
        device = device_service.revoke_device(db.session, CLI, device_id, ports().clock.now())
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit({"device_id": device.id, "revoked_at": device.revoked_at.isoformat()})


commands = [devices]
