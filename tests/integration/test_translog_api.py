"""The evidence log: append_event for other features, proofs over the API, ``log verify`` on the CLI."""

import base64
import json
from datetime import datetime, timezone

from sqlalchemy import select

from core import merkle
from models import LogCheckpoint, LogLeaf
from models.database import db
from ports.tsa import LocalTsa
from services import stamping_env, translog
from tests.helpers.api_client import ApiClient
from tests.helpers.factories import PASSWORD, make_user

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _fill(n: int) -> None:
    for i in range(n):
        translog.append_event(db.session, "approved", f"capture-{i}", {"by": "archivist", "at": NOW, "n": i}, NOW)
    db.session.commit()


def _legal(client) -> ApiClient:
    make_user("legal1", "legal")
    api = ApiClient(client)
    api.login("legal1", PASSWORD)
    return api


def test_append_event_hashes_canonical_json_and_numbers_leaves_in_order(app):
    first = translog.append_event(db.session, "approved", "c1", {"b": 2, "a": "审核"}, NOW)
    second = translog.append_event(db.session, "exported", "c1", {"bundle": "x"}, NOW)
    db.session.commit()
    assert (first.index, second.index) == (0, 1)
    assert (
        first.entry
        == '{"at":"2026-03-02T02:00:00Z","payload":{"a":"审核","b":2},"subject":"c1","type":"approved","v":1}'.encode()
    )
    assert first.leaf_hash == merkle.leaf_hash(first.entry).hex()


def test_rolled_back_events_leave_no_gap(app):
    translog.append_event(db.session, "approved", "c1", {}, NOW)
    db.session.rollback()
    leaf = translog.append_event(db.session, "approved", "c2", {}, NOW)
    db.session.commit()
    assert leaf.index == 0 and translog.tree_size(db.session) == 1


def test_proofs_from_the_api_verify_against_the_signed_checkpoint(app, client):
    _fill(5)
    env = stamping_env.env_for(app)
    translog.make_checkpoint(db.session, env.signer, NOW, env.tsa)
    db.session.commit()
    _fill(2)
    translog.make_checkpoint(db.session, env.signer, NOW, env.tsa)
    db.session.commit()
    api = _legal(client)
    key = api.get("/api/v1/evidence-log/public-key").json
    checkpoint = api.get("/api/v1/evidence-log/checkpoint").json
    signed = merkle.verify_checkpoint(checkpoint["note"], key["name"], base64.b64decode(key["public_key"]))
    assert signed.size == checkpoint["tree_size"] == 8  # 5 events, the first checkpoint's binding leaf, 2 events
    assert checkpoint["tsa_status"] == "granted" and checkpoint["tsa_kind"] == "local"

    proof = api.get("/api/v1/evidence-log/proofs/inclusion?leaf_index=3").json
    assert proof["tree_size"] == 8
    assert merkle.verify_inclusion(
        merkle.leaf_hash(proof["entry"].encode()), 3, 8, [bytes.fromhex(h) for h in proof["path"]], signed.root
    )
    consistency = api.get("/api/v1/evidence-log/proofs/consistency?old_size=5&new_size=8").json
    older = api.get("/api/v1/evidence-log/checkpoints").json["checkpoints"][1]
    assert merkle.verify_consistency(
        5, 8, bytes.fromhex(older["root_hash"]), signed.root, [bytes.fromhex(h) for h in consistency["path"]]
    )


def test_out_of_range_proofs_get_a_stable_error_and_anonymous_callers_401(app, client):
    _fill(2)
    assert client.get("/api/v1/evidence-log/proofs/inclusion?leaf_index=0").status_code == 401
    api = _legal(client)
    assert api.get("/api/v1/evidence-log/checkpoint").json["code"] == "evidence_log.no_checkpoint"
    bad = api.get("/api/v1/evidence-log/proofs/inclusion?leaf_index=5&tree_size=2")
    assert bad.status_code == 400 and bad.json["code"] == "evidence_log.bad_range"


def test_log_verify_passes_on_an_intact_log_and_names_a_tampered_leaf(app, runner):
    _fill(4)
    env = stamping_env.env_for(app)
    translog.make_checkpoint(db.session, env.signer, NOW, env.tsa)
    db.session.commit()
    result = runner.invoke(args=["log", "verify"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["leaves"] == 5 and report["checkpoints"][0]["signature"] == "ok"

    leaf = db.session.get(LogLeaf, 2)
    leaf.entry = leaf.entry.replace(b'"n":2', b'"n":9')
    db.session.commit()
    result = runner.invoke(args=["log", "verify"])
    assert result.exit_code == 1
    assert "leaf 2: stored hash does not match its entry" in result.output


def test_log_verify_checks_each_checkpoint_token_against_its_recorded_root_after_a_tsa_change(app, runner, tmp_path):
    env = stamping_env.env_for(app)
    first, second = LocalTsa(tmp_path / "tsa-one"), LocalTsa(tmp_path / "tsa-two")
    env.tsa = first
    _fill(3)
    translog.make_checkpoint(db.session, env.signer, NOW, env.tsa)
    db.session.commit()
    env.tsa = second  # the deployment moves to another TSA
    _fill(2)
    translog.make_checkpoint(db.session, env.signer, NOW, env.tsa)
    db.session.commit()
    result = runner.invoke(args=["log", "verify"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [c["timestamp"] for c in report["checkpoints"]] == ["verified (local)"] * 2

    oldest = db.session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size)).first()
    # the first checkpoint's token replaced by one the other TSA issued for the same note
    oldest.tsa_token = second.stamp(translog.checkpoint_digest(oldest)).response
    db.session.commit()
    result = runner.invoke(args=["log", "verify"])
    assert result.exit_code == 1
    assert "checkpoint 3" in result.output and "invalid" in result.output
