"""``demo``: load the demo data set."""

import json
import os

import click

from core.actor import CLI
from models.database import db
from server.cli.output import emit
from services import demo as demo_service
from services.ports_access import ports


@click.command("demo")
def demo():
    """Load demo users, tablets and customers of both voltage classes (safe to rerun)."""
    from flask import current_app

    result = demo_service.load(db.session, CLI, ports().clock.now())
    if result["devices"]:
        path = os.path.join(current_app.config["DANGAN_DATA_DIR"], "demo-devices.json")
        known = json.load(open(path)) if os.path.exists(path) else {}
        known.update(result["devices"])
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(known, fh, ensure_ascii=False, indent=2)
        result["devices_file"] = path
    click.echo(f"Demo users {', '.join(result['users'])} — password: {result['password']}", err=True)
    emit(result)


commands = [demo]
