"""``events import FILE``, ``lifecycle recompute|sweep|expire-bundles|schedule|calendar|calendar-load FILE``,
``boxes assign``."""

import click
from flask import current_app
from flask.cli import AppGroup

from core import errors
from core.actor import CLI
from models.database import db
from server.cli.output import emit, fail
from services import evidence_export
from services.lifecycle import boxes, calendar_arrangements, events_import, obligations
from services.lifecycle.common import customer_by_account, local_date
from services.lifecycle.daily import recompute_deadlines, schedule_daily, sweep_retention
from services.lifecycle.settings import settings_from
from services.ports_access import ports

events = AppGroup("events", help="Business events of customers (业扩报装, 合同, 变更用电, 销户 …).")
lifecycle = AppGroup("lifecycle", help="Filing deadlines and retention.")
boxes_group = AppGroup("boxes", help="Box and shelf positions of paper originals.")


def _now():
    now = ports().clock.now()
    return now, local_date(now)


@events.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
def import_command(file):
    """Import business events from a CSV (UTF-8 or GB18030) or XLSX export; each opens a deadline."""
    now, today = _now()
    try:
        report = events_import.import_events(
            db.session,
            CLI,
            file,
            today=today,
            now=now,
            max_bytes=current_app.config["IMPORT_MAX_BYTES"],
            settings=settings_from(current_app.config),
        )
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    summary = report.as_dict()
    click.echo(
        f"{summary['rows']} rows: {summary['created']} recorded, {summary['unchanged']} already known, "
        f"{summary['failed']} failed",
        err=True,
    )
    for err in report.errors[:50]:
        click.echo(f"  row {err['row']}: {err['column']} ({err['field']}): {err['reason']}", err=True)
    emit(summary)
    if report.errors:
        raise SystemExit(2 if (summary["created"] or summary["unchanged"]) else 1)


@lifecycle.command("recompute")
def recompute_command():
    """Recompute every open filing obligation now (what the daily job does)."""

    now, today = _now()
    emit(recompute_deadlines(db.session, CLI, today, now, settings_from(current_app.config)))


@lifecycle.command("sweep")
def sweep_command():
    """Track closed accounts' retention and count the dossiers eligible for destruction today."""

    now, today = _now()
    emit(sweep_retention(db.session, CLI, today, now, settings_from(current_app.config)))


@lifecycle.command("expire-bundles")
def expire_bundles_command():
    """Remove evidence bundles kept on the server longer than EXPORT_BUNDLE_DAYS (the daily job does it too)."""

    emit({"expired": evidence_export.expire_bundles(db.session, ports().exports, ports().clock.now())})


@lifecycle.command("schedule")
def schedule_command():
    """Put the next daily lifecycle run into the RQ scheduler (a no-op if it is already there)."""

    connection = current_app.extensions["dangan.redis"].client(current_app)
    emit({"job_id": schedule_daily(connection, ports().clock.now())})


@lifecycle.command("calendar")
def calendar_command():
    """Show the working-day calendar in use: package years, loaded arrangements, provisional years."""
    _now_, today = _now()
    emit(calendar_arrangements.current(db.session).info(today))


@lifecycle.command("calendar-load")
@click.argument("file", type=click.Path(dir_okay=False))
def calendar_load_command(file):
    """Load a year's holiday arrangement file (JSON) and recompute every provisional deadline."""
    now, today = _now()
    try:
        arrangement = calendar_arrangements.read_file(file)
        result = obligations.load_arrangement(
            db.session, CLI, arrangement, today, now, settings_from(current_app.config)
        )
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit(result)


@boxes_group.command("assign")
@click.option("--account", "account_no", default=None, help="Only this 户号; default: every customer without a box.")
def assign_command(account_no):
    """Give paper originals box positions (high voltage one box each, low voltage shared boxes)."""
    now, _today = _now()
    settings = settings_from(current_app.config)
    try:
        if account_no:
            customer = customer_by_account(db.session, account_no)
            boxes.assign_box(db.session, CLI, customer, now, settings)
            result = boxes.location_of_customer(db.session, customer.id)
        else:
            result = boxes.assign_all(db.session, CLI, now, settings)
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    emit(result)


commands = [events, lifecycle, boxes_group]
