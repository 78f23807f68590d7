"""``photos inspect FILE…``: print, as JSON lines, the evidence the server would extract (no database)."""

import click
from flask.cli import AppGroup

from core.inspect import inspect_bytes
from server.cli.output import emit

photos = AppGroup("photos", help="Photo evidence tools.")


@photos.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def inspect_command(files):
    """Print one JSON object per file: hashes, capture time and source, offset, GPS, make/model, flags."""
    missing = 0
    for name in files:
        try:
            with open(name, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            emit({"file": name, "error": {"code": "file.unreadable", "reason": exc.strerror or str(exc)}})
            missing += 1
            continue
        emit(inspect_bytes(data, name))
    if missing:
        raise SystemExit(1)


commands = [photos]
