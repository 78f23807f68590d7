"""``log verify`` and ``log checkpoint``: the evidence log from the command line."""

import click
from flask import current_app
from flask.cli import AppGroup

from models.database import db
from server.cli.output import emit
from services import translog
from services.stamping_env import env_for

log_group = AppGroup("log", help="The tamper-evident evidence log.")


@log_group.command("verify")
@click.option("--from", "start", type=click.IntRange(min=0), help="Re-hash only the leaves from this index on.")
@click.option("--since-last", is_flag=True, help="Start where the last clean verification stopped.")
def verify_command(start, since_last):
    """Recompute leaves, stored subtrees and tree heads, check every checkpoint; exit 1 on a problem, 2 on bad usage."""
    if start is not None and since_last:
        raise click.UsageError("give --from or --since-last, not both")
    env = env_for(current_app._get_current_object())
    if since_last:
        start = translog.last_verified(db.session)
    size = translog.tree_size(db.session)
    if start is not None and start > size:
        raise click.BadParameter(f"the log has {size} leaves", param_hint="--from")
    report = translog.verify_log(db.session, env.signer.public_key_raw(), env.signer.name, env.tsa, start or 0)
    emit(report)
    for problem in report["problems"]:
        click.echo(f"problem: {problem}", err=True)
    if not report["ok"]:
        raise SystemExit(1)
    translog.record_verified(db.session, report["leaves"])


@log_group.command("checkpoint")
def checkpoint_command():
    """Sign (and timestamp) a checkpoint of the log now, if it grew since the last one."""
    env = env_for(current_app._get_current_object())
    checkpoint = translog.checkpoint_now(db.session, env.signer, env.clock.now(), env.tsa)
    emit(
        {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash, "tsa_status": checkpoint.tsa_status}
        if checkpoint
        else {"tree_size": translog.tree_size(db.session), "note": "no new leaves"}
    )


commands = [log_group]
