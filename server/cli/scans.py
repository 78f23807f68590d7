"""``scans import FOLDER --manifest FILE``: scanned backlogs kept, stamped and filed in one run."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import errors
from core.actor import CLI
from models.database import db
from server.cli.output import emit, fail
from services import scan_import, scans
from services.lifecycle.settings import settings_from
from services.ports_access import ports

scans_group = AppGroup("scans", help="Scanned paper documents (电子扫描归档).")


@scans_group.command("import")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--manifest",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV (UTF-8 or GB18030) or XLSX: 户号, 文件类型, 文件日期, 文件名[, 业务单号, 页数, 备注].",
)
def import_command(folder, manifest):
    """Keep, stamp and file every scan the manifest lists; safe to run again after an interruption."""
    state = {"bar": None}

    def total(count):
        state["bar"] = click.progressbar(length=max(count, 1), label="导入扫描件", file=sys.stderr, show_pos=True)
        state["bar"].__enter__()

    def progress(step):
        if state["bar"] is not None:
            state["bar"].update(step)

    try:
        report = scan_import.import_scans(
            db.session,
            CLI,
            folder,
            manifest,
            ports().clock.now(),
            ports().blobs,
            settings_from(current_app.config),
            max_manifest_bytes=current_app.config["IMPORT_MAX_BYTES"],
            max_scan_bytes=scans.max_scan_bytes(current_app.config),
            on_progress=progress,
            on_total=total,
        )
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    summary = report.as_dict()
    click.echo(
        f"{summary['rows']} rows: {summary['kept']} kept, {summary['already_kept']} already kept, "
        f"{summary['filed']} filed, {summary['already_filed']} already filed, {summary['failed']} failed, "
        f"{len(summary['flagged'])} with quality flags",
        err=True,
    )
    for err in report.errors[:50]:
        click.echo(f"  row {err['row']} {err['file']}: {err['column']} {err['code']}: {err['reason']}", err=True)
    if len(report.errors) > 50:
        click.echo(f"  … {len(report.errors) - 50} more (see the JSON summary)", err=True)
    emit(summary)
    if report.errors:
        raise SystemExit(2 if report.rows > len(report.errors) else 1)


commands = [scans_group]
