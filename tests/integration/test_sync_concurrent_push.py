"""Identical pushes racing each other (threads and processes, same database) are answered exactly once.

A tablet whose first request timed out while the server was still applying it sends the same
batch again; both requests may run at the same moment, on two threads of one web process or in
two processes (two nodes behind a load balancer). Whatever the interleaving, every copy gets
the stored answer of the one that applied it, never ``sync.id_reused``, and each revision is
recorded once. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

import json
import multiprocessing
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import CaptureRevision, Photo
from models.database import db
from tests.helpers.device import sample_data
from tests.helpers.factories import make_customer, make_device

KINDS = [("usage_inspection", 2), ("site_survey", 1)]
SLOTS = {"usage_inspection": ("meter", "meter"), "site_survey": ("site", "scene")}


def new_item(kind: str, version: int) -> dict:
    slot, category = SLOTS[kind]
    return {
        "capture_id": str(uuid.uuid4()),
        "revision_id": str(uuid.uuid4()),
        "base_revision_id": None,
        "kind": kind,
        "schema_version": version,
        "account_no": "3100012345",
        "device_time": "2026-03-02T09:31:00+08:00",
        "data": sample_data(kind, version),
        "photos": [
            {
                "id": str(uuid.uuid4()),
                "slot": slot,
                "category": category,
                "captured_at": "2026-03-02T09:25:00+08:00",
                "sha256": uuid.uuid4().hex * 2,
                "size": 1000,
                "mime_type": "image/jpeg",
                "filename": "IMG_0001.jpg",
            }
        ],
    }


def amendment_of(item: dict) -> dict:
    """A new revision of a stored item (same capture and photos, edited findings)."""
    data = dict(item["data"], findings="复查：已整改") if "findings" in item["data"] else dict(item["data"])
    return {**item, "revision_id": str(uuid.uuid4()), "base_revision_id": item["revision_id"], "data": data}


def push_body(items: list[dict]) -> bytes:
    return json.dumps({"device_time": "2026-03-02T09:40:00+08:00", "items": items}).encode()


def _post(app, token: str, body: bytes):
    with app.app_context():  # its own database session, as a request of a server thread has
        response = app.test_client().post(
            "/api/v1/sync/push",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        db.session.remove()
        return response.status_code, response.get_json()


def fire_in_threads(app, tokens: list[str], body: bytes) -> list:
    barrier = threading.Barrier(len(tokens))
    answers = [None] * len(tokens)

    def run(index):
        barrier.wait()
        answers[index] = _post(app, tokens[index], body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _child(app, token, body, barrier, answers, index):
    db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    barrier.wait()
    answers.put((index, _post(app, token, body)))


def fire_in_processes(app, tokens: list[str], body: bytes) -> list:
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(len(tokens)), context.Queue()
    db.session.remove()
    children = [
        context.Process(target=_child, args=(app, token, body, barrier, answers, i)) for i, token in enumerate(tokens)
    ]
    for child in children:
        child.start()
    collected = dict(answers.get(timeout=120) for _ in children)
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    return [collected[i] for i in range(len(tokens))]


FIRE = {"threads": fire_in_threads, "processes": fire_in_processes}


@pytest.fixture
def inspector_tablets(app):
    """Two tablets of one inspector plus the same tablet's token again (one request per copy)."""
    make_customer("3100012345")
    first, first_token = make_device("inspector1")
    _, second_token = make_device("inspector1")
    return first_token, second_token


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
    copies=st.integers(2, 4),
    how=st.sampled_from(sorted(FIRE)),
    other_tablet=st.booleans(),
    amendments=st.booleans(),
)
def test_identical_pushes_racing_each_other_all_get_the_stored_answer_never_id_reused(
    app, inspector_tablets, kinds, copies, how, other_tablet, amendments
):
    first_token, second_token = inspector_tablets
    items = [new_item(kind, version) for kind, version in kinds]
    if amendments:  # the captures are stored; their amendments race
        assert _post(app, first_token, push_body(items))[0] == 200
        items = [amendment_of(item) for item in items]
    tokens = [second_token if other_tablet and i % 2 else first_token for i in range(copies)]
    answers = FIRE[how](app, tokens, push_body(items))

    for status, body in answers:
        assert status == 200, body
        codes = [r["error"]["code"] for r in body["results"] if "error" in r]
        assert codes == [], codes
    for index, item in enumerate(items):
        results = [body["results"][index] for _, body in answers]
        assert all(r == results[0] for r in results), results  # one stored answer for every copy
        assert results[0]["status"] == "applied"
        assert results[0]["revision"] == (2 if amendments else 1) and results[0]["conflict"] is False
        assert db.session.scalar(
            select(func.count()).select_from(CaptureRevision).where(CaptureRevision.capture_id == item["capture_id"])
        ) == (2 if amendments else 1)
        assert (
            db.session.scalar(select(func.count()).select_from(Photo).where(Photo.capture_id == item["capture_id"]))
            == 1
        )
    db.session.remove()
