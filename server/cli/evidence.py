"""``evidence export`` (a bundle, with a progress bar), ``evidence verify BUNDLE`` (offline) and ``evidence anchors``."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from core import errors
from core.actor import CLI
from models import User
from models.database import db
from server.cli.output import emit, fail
from services import evidence_export, export_approval, trust_anchors
from services.stamping_env import env_for
from verifier.__main__ import read_pins
from verifier.check import verify_bundle

evidence = AppGroup("evidence", help="Evidence bundles for legal use.")
EXIT_AWAITING_APPROVAL = 3


def _date(_ctx, _param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD") from exc


def _user(username: str | None) -> User | None:
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        fail(errors.DomainError(errors.UNKNOWN_USER, details={"username": username}))
    return user


def _build_with_progress(export_id: int, out: str) -> None:
    env = env_for(current_app._get_current_object())
    export = evidence_export.get_export(db.session, export_id)
    seen = {"bytes": 0}
    with click.progressbar(
        length=max(export.total_bytes, 1), label=f"导出 {export.item_count} 张照片", file=sys.stderr, show_pos=False
    ) as bar:

        def progress(current):
            bar.update(max(0, current.done_bytes - seen["bytes"]))
            seen["bytes"] = current.done_bytes

        export = evidence_export.build_bundle(db.session, env, export_id, out, on_progress=progress)
    emit(evidence_export.export_dict(export) | {"bundle": export.bundle_path})


@evidence.command("export")
@click.option("--customer", "account_no", help="户号 of the customer whose photos are exported.")
@click.option("--from", "date_from", callback=_date, help="First day (capture time, Beijing), YYYY-MM-DD.")
@click.option("--to", "date_to", callback=_date, help="Last day (capture time, Beijing), YYYY-MM-DD.")
@click.option("--ids", help="Comma-separated photo ids (alone, or narrowing --customer).")
@click.option("--purpose", help="Why the evidence is exported (case, dispute); registered in the use register.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), help="The ZIP to write.")
@click.option("--user", "username", help="The user on whose behalf the export is made (registered as requester).")
@click.option("--request", "request_id", type=int, help="Build an already approved export request instead.")
@click.option(
    "--skip-destroyed",
    is_flag=True,
    help="Leave photos destroyed with their dossier out (listed in the manifest) instead of refusing.",
)
def export_command(account_no, date_from, date_to, ids, purpose, out, username, request_id, skip_destroyed):
    """Export photos as an evidence bundle; exits 3 when the export first needs a manager's approval."""
    try:
        if request_id is None:
            criteria = evidence_export.Criteria(
                account_no=account_no,
                date_from=date_from,
                date_to=date_to,
                photo_ids=tuple(i.strip() for i in (ids or "").split(",") if i.strip()),
                skip_destroyed=skip_destroyed,
            )
            limits = export_approval.limits_from(current_app.config)
            export = evidence_export.request_export(
                db.session,
                CLI,
                _user(username),
                criteria,
                purpose,
                env_for(current_app._get_current_object()).clock.now(),
                limits,
            )
            if export.state == "awaiting_approval":
                emit(evidence_export.export_dict(export))
                click.echo(
                    f"export {export.id} needs a manager's approval ({export.item_count} photos, "
                    f"{export.total_bytes} bytes); once approved run: evidence export --request "
                    f"{export.id} --out {out}",
                    err=True,
                )
                sys.exit(EXIT_AWAITING_APPROVAL)
            request_id = export.id
        _build_with_progress(request_id, out)
    except errors.DomainError as exc:
        fail(exc)


@evidence.command("verify")
@click.argument("bundle", type=click.Path(exists=True))
@click.option(
    "--tsa-ca",
    "tsa_ca",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A TSA root certificate (PEM) obtained outside the bundle; repeat for several TSAs.",
)
@click.option(
    "--log-key",
    "log_key",
    type=click.Path(exists=True, dir_okay=False),
    help="The evidence log's Ed25519 public key (PEM) obtained outside the bundle.",
)
def verify_command(bundle, tsa_ca, log_key):
    """Check a bundle offline; exit 0 verified against pinned anchors, 2 consistent but not pinned, 1 failed."""
    report = verify_bundle(bundle, read_pins(list(tsa_ca), log_key))
    for line in report.lines():
        click.echo(line)
    for failure in report.all_failures:
        click.echo(f"FAILED {failure}", err=True)
    sys.exit(report.exit_code)


@evidence.command("anchors")
def anchors_command():
    """Print the trust anchors to publish: every TSA root tokens were verified against, and the log key."""
    env = env_for(current_app._get_current_object())
    emit(trust_anchors.describe(db.session, env))


commands = [evidence]
