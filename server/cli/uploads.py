"""``uploads sweep``: expire stale uploads, complete interrupted finishes, remove unclaimed blobs."""

from flask import current_app
from flask.cli import AppGroup

from models.database import db
from server.cli.output import emit
from services.ports_access import ports
from services.upload_sweep import sweep_uploads
from sync.uploads import settings_from

uploads = AppGroup("uploads", help="Resumable photo uploads (tus).")


@uploads.command("sweep")
def sweep():
    """Run the upload sweep once (idempotent; safe next to the web server); prints the counts as JSON."""
    emit(sweep_uploads(db.session, ports().blobs, ports().clock.now(), settings_from(current_app.config)))


commands = [uploads]
