"""``log verify`` checks the stored subtrees too, and can re-hash only the part of the log added since a point."""

import json
from datetime import datetime, timezone

from sqlalchemy import update

from models import LogLeaf, LogNode
from models.database import db
from services import stamping_env, translog

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _fill(n: int) -> None:
    start = translog.tree_size(db.session)
    for i in range(start, start + n):
        translog.append_event(db.session, "approved", f"capture-{i}", {"n": i}, NOW)
    db.session.commit()


def _checkpoint(app) -> None:
    env = stamping_env.env_for(app)
    translog.make_checkpoint(db.session, env.signer, NOW)
    db.session.commit()


def _report(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def _tamper_entry(index: int) -> None:
    leaf = db.session.get(LogLeaf, index)
    leaf.entry = leaf.entry.replace(b'"n":', b'"n":9')
    db.session.commit()


def test_a_stored_subtree_that_differs_from_its_leaves_is_named_by_a_full_verify(app, runner):
    _fill(8)
    _checkpoint(app)
    db.session.execute(update(LogNode).where(LogNode.level == 2, LogNode.index == 1).values(hash=b"\x00" * 32))
    db.session.commit()
    result = runner.invoke(args=["log", "verify"])
    assert result.exit_code == 1
    assert "node (2, 1): stored hash differs from the leaves under it" in result.output


def test_a_planted_subtree_beyond_the_last_leaf_is_found(app, runner):
    _fill(5)
    db.session.add(LogNode(level=1, index=3, hash=b"\x01" * 32))
    db.session.commit()
    result = runner.invoke(args=["log", "verify"])
    assert result.exit_code == 1 and "node (1, 3): beyond the 5 leaves of the log" in result.output


def test_verify_from_an_index_rehashes_only_the_leaves_after_it(app, runner):
    _fill(6)
    _checkpoint(app)  # size 6
    _fill(5)
    _checkpoint(app)  # size 11
    _tamper_entry(2)  # before the starting point: left to the full check
    result = runner.invoke(args=["log", "verify", "--from", "6"])
    assert result.exit_code == 0, result.output
    report = _report(result)
    assert report["from"] == 6 and report["leaves"] == 11
    assert [c["root"] for c in report["checkpoints"]] == ["ok", "ok"]
    assert runner.invoke(args=["log", "verify"]).exit_code == 1

    _tamper_entry(8)
    result = runner.invoke(args=["log", "verify", "--from", "6"])
    assert result.exit_code == 1 and "leaf 8: stored hash does not match its entry" in result.output


def test_verify_from_an_index_still_binds_the_earlier_subtrees_to_the_signed_roots(app, runner):
    _fill(8)
    _checkpoint(app)
    _fill(4)
    _checkpoint(app)
    # the subtree over leaves 0..7 is what --from 9 trusts for the prefix: changing it breaks the signed roots
    db.session.execute(update(LogNode).where(LogNode.level == 3, LogNode.index == 0).values(hash=b"\x02" * 32))
    db.session.commit()
    result = runner.invoke(args=["log", "verify", "--from", "9"])
    assert result.exit_code == 1
    assert "checkpoint 8" in result.output and "checkpoint 12" in result.output


def test_since_last_starts_where_the_last_clean_verification_stopped(app, runner):
    _fill(5)
    _checkpoint(app)
    assert runner.invoke(args=["log", "verify"]).exit_code == 0
    assert translog.last_verified(db.session) == 5
    _fill(3)
    result = runner.invoke(args=["log", "verify", "--since-last"])
    assert result.exit_code == 0, result.output
    assert _report(result)["from"] == 5 and translog.last_verified(db.session) == 8

    _fill(2)
    _tamper_entry(9)
    result = runner.invoke(args=["log", "verify", "--since-last"])
    assert result.exit_code == 1 and "leaf 9" in result.output
    assert translog.last_verified(db.session) == 8  # a failed run moves nothing


def test_a_start_beyond_the_log_or_two_starting_points_is_a_usage_error(app, runner):
    _fill(3)
    assert runner.invoke(args=["log", "verify", "--from", "4"]).exit_code == 2
    assert runner.invoke(args=["log", "verify", "--from", "1", "--since-last"]).exit_code == 2
    assert runner.invoke(args=["log", "verify", "--from", "3"]).exit_code == 0
