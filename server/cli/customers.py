"""``customers import FILE``: master data from the marketing system."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import errors
from core.actor import CLI
from models.database import db
from server.cli.output import emit, fail
from services.customer_import import csv_text, import_customers
from services.ports_access import ports

customers = AppGroup("customers", help="Customer master data.")


@customers.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--errors-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the per-row error report to this CSV file.",
)
def import_command(file, errors_out):
    """Import customers from a CSV (UTF-8 or GB18030) or XLSX export, upserting by 户号."""
    state = {"bar": None, "total": 0}

    def total_hint(total):
        state["total"] = total

    def progress(step):
        if state["bar"] is None:
            state["bar"] = click.progressbar(
                length=state["total"] or 1, label="导入客户", file=sys.stderr, show_pos=True
            )
            state["bar"].__enter__()
        state["bar"].update(step)

    try:
        report = import_customers(
            db.session, CLI, file, ports().clock.now(), current_app.config["IMPORT_MAX_BYTES"], progress, total_hint
        )
    except errors.DomainError as exc:
        db.session.rollback()
        fail(exc)
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    summary = report.as_dict()
    click.echo(
        f"{summary['rows']} rows: {summary['created']} created, {summary['updated']} updated, "
        f"{summary['unchanged']} unchanged, {summary['failed']} failed",
        err=True,
    )
    for err in report.errors[:50]:
        click.echo(f"  row {err['row']}: {err['column']} ({err['field']}): {err['reason']}", err=True)
    if len(report.errors) > 50:
        click.echo(f"  … {len(report.errors) - 50} more (see --errors-out)", err=True)
    if errors_out:
        rows = [["row", "column", "field", "reason"]] + [
            [e["row"], e["column"], e["field"], e["reason"]] for e in report.errors
        ]
        with open(errors_out, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(csv_text(rows))
    emit(summary)
    if report.errors:
        raise SystemExit(2 if (summary["created"] or summary["updated"] or summary["unchanged"]) else 1)


commands = [customers]
