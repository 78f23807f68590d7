"""The stamping pipeline end to end on the real database and Redis: outbox → dispatcher → RQ → ready."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from core import merkle
from models import AuditEntry, LogLeaf, OutboxEvent, Photo, PhotoEvidence, PipelineRun
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from ports.tsa import FakeTsa
from services import dispatch, stamping_env, translog
from services.stamping_env import env_for
from tests.helpers.images import bomb_jpeg, exif_loop_jpeg, make_image, make_jpeg, truncated_jpeg
from tests.helpers.received_photos import make_capture, received_photo
from workers import context

CAPTURED = "2026:03:02 09:15:30"  # +08:00 → 01:15:30 UTC


def work(app) -> None:
    """Dispatch the outbox, run every queued job in this process, then do the periodic housekeeping."""
    context.set_app(app)
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    dispatch.tick(app)


def evidence_of(photo_id: str) -> PhotoEvidence:
    db.session.expire_all()
    return db.session.get(PhotoEvidence, photo_id)


def test_received_photo_is_stamped_and_ready_for_review(app, clock):
    clock.current = datetime(2026, 3, 2, 1, 20, tzinfo=timezone.utc)
    capture = make_capture()
    data = make_jpeg(
        datetime_original=CAPTURED,
        offset="+08:00",
        gps=(31.2304, 121.4737),
        gps_date="2026:03:02",
        gps_time=(1, 15, 31),
    )
    photo = received_photo(data, capture, device_captured_at=datetime(2026, 3, 2, 1, 15, 29, tzinfo=timezone.utc))
    work(app)

    evidence = evidence_of(photo.id)
    assert db.session.get(Photo, photo.id).state == "ready"
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.sm3 == hashlib.new("sm3", data).hexdigest()
    assert evidence.hash_ok is True
    assert evidence.metadata_status == "ok" and evidence.reader.startswith("exifread ")
    assert evidence.exif_raw["EXIF DateTimeOriginal"] == CAPTURED
    assert evidence.estimated_capture_at == datetime(2026, 3, 2, 1, 15, 30, tzinfo=timezone.utc)
    assert evidence.flags == []
    assert "OffsetTimeOriginal" in evidence.estimate_basis
    for key in (evidence.thumbnail_key, evidence.preview_key, evidence.stamped_key):
        stored = app.extensions["dangan.ports"].blobs.open(key).read()
        assert hashlib.sha256(stored).hexdigest() == key
    assert evidence.tsa_status == "granted" and evidence.tsa_kind == "local"
    # the token's issuer is recorded with it: no URL (built-in), its chain, the root it was verified against
    local_root = env_for(app).tsa.roots_pem().decode()
    assert evidence.tsa_url is None and evidence.tsa_anchor_pem == local_root
    assert "BEGIN CERTIFICATE" in evidence.tsa_chain_pem and local_root not in evidence.tsa_chain_pem
    assert app.extensions["dangan.ports"].blobs.open(photo.blob_sha256).read() == data  # original untouched
    leaves = list(db.session.scalars(select(LogLeaf).where(LogLeaf.subject_id == photo.id).order_by(LogLeaf.index)))
    assert [leaf.event_type for leaf in leaves] == ["received", "timestamped", "stamped"]
    logged = json.loads(leaves[1].entry)["payload"]
    assert logged["tsa_token_sha256"] == hashlib.sha256(evidence.tsa_token).hexdigest()
    assert logged["tsa_kind"] == "local" and len(logged["tsa_anchor_sha256"]) == 64
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    assert (run.status, run.attempt) == ("done", 1)
    assert db.session.scalar(select(OutboxEvent.dispatched_at).where(OutboxEvent.subject_id == photo.id))
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == photo.id)))
    assert {"evidence.verify_hashes", "evidence.read_exif", "evidence.log_append"} <= actions


def test_running_the_same_job_again_changes_nothing(app):
    photo = received_photo(make_jpeg(), make_capture())
    work(app)
    before = evidence_of(photo.id)
    snapshot = (before.sha256, before.stamped_key, before.preview_key, before.tsa_token, before.stamped_leaf_index)
    leaves = db.session.scalar(select(func.count()).select_from(LogLeaf))
    from workers.jobs import run_event

    assert run_event("photo.received", photo.id, 1) == "skipped"
    after = evidence_of(photo.id)
    assert (after.sha256, after.stamped_key, after.preview_key, after.tsa_token, after.stamped_leaf_index) == snapshot
    assert db.session.scalar(select(func.count()).select_from(LogLeaf)) == leaves


@pytest.mark.parametrize(
    "make,reason", [(truncated_jpeg, "truncated"), (exif_loop_jpeg, "EXIF loop"), (bomb_jpeg, "decompression bomb")]
)
def test_hostile_files_are_recorded_as_metadata_unreadable_and_still_reach_review(app, make, reason):
    photo = received_photo(make(), make_capture())
    work(app)
    evidence = evidence_of(photo.id)
    assert evidence.metadata_status == "unreadable"
    assert reason in evidence.metadata_reason
    assert "metadata_unreadable" in evidence.flags
    assert db.session.get(Photo, photo.id).state == "ready"
    assert evidence.hash_ok is True and evidence.tsa_status == "granted"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_a_screenshot_without_camera_metadata_is_flagged_as_such_not_as_unreadable(app, fmt):
    photo = received_photo(make_image(fmt, exif=False), make_capture())
    work(app)
    evidence = evidence_of(photo.id)
    assert evidence.metadata_status == "absent" and evidence.parsed["format"] == fmt
    assert "no_camera_metadata" in evidence.flags
    assert not {"metadata_unreadable", "exif_missing"} & set(evidence.flags)
    assert evidence.stamped_key and evidence.derivatives_error is None
    assert db.session.get(Photo, photo.id).state == "ready"


def test_unreachable_tsa_leaves_the_timestamp_pending_without_blocking_review(app, clock):
    tsa = FakeTsa(clock)
    tsa.down = True
    app.extensions["dangan.ports"].tsa = tsa
    photo = received_photo(make_jpeg(), make_capture())
    work(app)
    evidence = evidence_of(photo.id)
    assert db.session.get(Photo, photo.id).state == "ready"
    assert evidence.tsa_status == "pending" and evidence.tsa_attempts == 1
    assert "down" in evidence.tsa_error

    tsa.down = False
    clock.advance(minutes=5)
    dispatch.tick(app)
    evidence = evidence_of(photo.id)
    assert evidence.tsa_status == "granted" and evidence.tsa_token == b"FAKE-TSR:" + bytes.fromhex(evidence.sha256)
    assert translog.find_event(db.session, "timestamped", photo.id) is not None


def test_stored_bytes_that_do_not_match_their_hash_halt_the_pipeline(app):
    photo = received_photo(make_jpeg(), make_capture())
    blobs = app.extensions["dangan.ports"].blobs
    path = blobs.path_for(photo.blob_sha256)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    work(app)
    evidence = evidence_of(photo.id)
    assert evidence.hash_ok is False
    assert db.session.get(Photo, photo.id).state == "integrity_failed"
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    assert run.status == "failed" and "do not match" in run.last_error


def test_a_failing_step_is_retried_with_backoff_and_gives_up_after_the_last_attempt(app, clock, monkeypatch):
    from services import pipeline

    calls = {"n": 0}

    def broken(ctx):
        calls["n"] += 1
        raise OSError("disk unavailable")

    steps = tuple(
        pipeline.Step(s.name, broken if s.name == "read_exif" else s.run, s.state_after)
        for s in pipeline.PHOTO_RECEIVED
    )
    monkeypatch.setitem(pipeline.PIPELINES, "photo.received", steps)
    app.config["STAMPING_MAX_ATTEMPTS"] = 3
    app.extensions.pop("dangan.stamping_env", None)
    photo = received_photo(make_jpeg(), make_capture())
    for _ in range(4):
        work(app)
        clock.advance(hours=1)
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    assert calls["n"] == 3
    assert (run.status, run.attempt) == ("failed", 3)
    assert "disk unavailable" in run.last_error
    assert db.session.get(Photo, photo.id).state == "hashed"  # progress up to the failing step is kept
    health = app.test_client().get("/api/v1/health").json
    assert health["checks"]["stamping"]["failed"] == 1


def test_checkpoints_are_signed_timestamped_and_proofs_verify(app, clock):
    for _ in range(3):
        received_photo(make_jpeg(seed=_), make_capture())
    work(app)
    env = stamping_env.env_for(app)
    checkpoint = translog.latest_checkpoint(db.session)
    assert checkpoint.tree_size == 9 and checkpoint.tsa_status == "granted"
    signed = merkle.verify_checkpoint(checkpoint.note, env.signer.name, env.signer.public_key_raw())
    proof = translog.inclusion_proof(db.session, 4, checkpoint.tree_size)
    leaf = db.session.get(LogLeaf, 4)
    assert merkle.verify_inclusion(
        merkle.leaf_hash(leaf.entry), 4, 9, [bytes.fromhex(h) for h in proof["path"]], signed.root
    )
    # the checkpoint's token is bound into the log by the next leaf
    binding = db.session.get(LogLeaf, 9)
    assert (binding.event_type, binding.subject_id) == ("timestamped", "checkpoint-9")
    bound = json.loads(binding.entry)["payload"]
    assert bound["tsa_token_sha256"] == hashlib.sha256(checkpoint.tsa_token).hexdigest()
    assert bound["note_sha256"] == hashlib.sha256(checkpoint.note.encode()).hexdigest()
    clock.advance(hours=1)
    work(app)  # only the binding leaf is new: no checkpoint is signed for it alone
    assert translog.latest_checkpoint(db.session).tree_size == 9
    received_photo(make_jpeg(seed=9), make_capture())
    clock.advance(hours=1)
    work(app)
    newer = translog.latest_checkpoint(db.session)
    assert newer.tree_size == 13
    consistency = translog.consistency_proof(db.session, 9, 13)
    assert merkle.verify_consistency(
        9,
        13,
        bytes.fromhex(checkpoint.root_hash),
        bytes.fromhex(newer.root_hash),
        [bytes.fromhex(h) for h in consistency["path"]],
    )
    report = translog.verify_log(db.session, env.signer.public_key_raw(), env.signer.name, env.tsa)
    assert report["ok"], report["problems"]
    assert [c["timestamp"] for c in report["checkpoints"]] == ["verified (local)"] * 2
