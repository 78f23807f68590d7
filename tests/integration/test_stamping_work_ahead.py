"""Stamping near the bare libraries: bytes read once, TSA asked while copies are drawn, SM3 computed once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from core import derivatives
from models import Blob, Photo, PhotoEvidence, PipelineRun
from models.database import db
from ports.tsa import FakeTsa
from services import stamping
from services.stamping_env import env_for
from tests.helpers.images import make_jpeg
from tests.helpers.received_photos import make_capture, received_photo
from workers import context
from workers.jobs import run_event

# how long the drawing of the stamped copy waits for the TSA request before noting it was not sent
WAIT_FOR_REQUEST_S = 20


@pytest.fixture(autouse=True)
def worker_app(app):
    """Jobs run in this process on the test's app, as the worker runs them on its own."""
    context.set_app(app)
    yield app
    context.set_app(None)


class RecordingTsa(FakeTsa):
    """The fake TSA, noting when a request arrives."""

    def __init__(self, clock):
        super().__init__(clock)
        self.asked = threading.Event()

    def stamp(self, digest: bytes):
        self.asked.set()
        return super().stamp(digest)


def test_the_timestamp_request_is_on_its_way_before_the_stamped_copy_is_drawn(app, clock, monkeypatch):
    tsa = RecordingTsa(clock)
    app.extensions["dangan.ports"].tsa = tsa
    seen: list[bool] = []
    drawn = derivatives.stamped_copy

    def drawing(image, band):
        seen.append(tsa.asked.wait(WAIT_FOR_REQUEST_S))
        return drawn(image, band)

    monkeypatch.setattr(derivatives, "stamped_copy", drawing)
    photo = received_photo(make_jpeg(), make_capture())
    assert run_event("photo.received", photo.id, 1) == "done"
    assert seen == [True]
    db.session.expire_all()
    evidence = db.session.get(PhotoEvidence, photo.id)
    assert evidence.tsa_status == "granted" and evidence.tsa_attempts == 1
    assert evidence.tsa_token == b"FAKE-TSR:" + bytes.fromhex(evidence.sha256)


def test_a_run_reads_the_stored_bytes_once_and_its_evidence_row_once(app):
    photo = received_photo(make_jpeg(), make_capture())
    blobs = app.extensions["dangan.ports"].blobs
    opened: list[str] = []
    original_open = blobs.open

    def counting_open(key):
        opened.append(key)
        return original_open(key)

    blobs.open = counting_open
    evidence_reads: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM photo_evidence" in statement:
            evidence_reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert run_event("photo.received", photo.id, 1) == "done"
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
        del blobs.open
    assert opened == [photo.blob_sha256]
    assert len(evidence_reads) == 1  # not reloaded after each step's commit


def test_a_blob_whose_sm3_is_not_yet_computed_gets_it_from_the_hashing_step(app):
    data = make_jpeg()
    photo = received_photo(data, make_capture())
    ctx = stamping.open_context(db.session, env_for(app), photo.id)
    assert ctx is not None
    blob = db.session.get(Blob, photo.blob_sha256)
    recorded = blob.sm3
    blob.sm3 = None  # as uploads leave it once they stream SHA-256 only
    stamping.verify_hashes(ctx)
    assert ctx.evidence.hash_ok is True
    assert blob.sm3 == ctx.evidence.sm3 == recorded
    db.session.rollback()


def test_a_recorded_sm3_that_does_not_match_the_stored_bytes_halts_the_pipeline(app):
    photo = received_photo(make_jpeg(), make_capture())
    db.session.get(Blob, photo.blob_sha256).sm3 = "0" * 64
    db.session.commit()
    assert run_event("photo.received", photo.id, 1) == "halted"
    db.session.expire_all()
    assert db.session.get(Photo, photo.id).state == "integrity_failed"
    assert db.session.get(PhotoEvidence, photo.id).hash_ok is False
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    assert run.status == "failed" and "do not match" in run.last_error


def test_stored_bytes_that_cannot_be_read_fail_the_hashing_step_which_waits_for_a_retry(app):
    photo = received_photo(make_jpeg(), make_capture())
    app.extensions["dangan.ports"].blobs.path_for(photo.blob_sha256).unlink()
    with pytest.raises(OSError):
        run_event("photo.received", photo.id, 1)
    db.session.expire_all()
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    assert run.status == "retry_wait" and run.last_error.startswith("verify_hashes: FileNotFoundError")
