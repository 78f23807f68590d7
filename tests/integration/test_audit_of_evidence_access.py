"""Every access to evidence (captures, photos, dossiers, originals) leaves an audit entry naming who,
what and from where; refused attempts leave no access record."""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from models import AuditEntry, Customer, Dossier, User
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from services import dispatch
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, make_capture, review_world
from tests.helpers.factories import PASSWORD
from tests.helpers.images import make_jpeg
from tests.helpers.received_photos import received_photo
from workers import context

PURPOSE = {"purpose": "窃电案件取证"}
# (role, method, path template, object type, object key); {c} capture, {p} photo, {a} 户号
ACCESSES = [
    ("archivist", "GET", "/review/captures/{c}", "capture", "c"),
    ("archivist", "GET", "/api/v1/review/captures/{c}", "capture", "c"),
    ("archivist", "GET", "/review/photos/{p}/original", "photo", "p"),
    ("archivist", "GET", "/review/photos/{p}/preview", "photo", "p"),
    ("inspector1", "GET", "/api/v1/captures/{c}", "capture", "c"),
    ("archivist", "GET", "/dossiers/{a}", "dossier", "a"),
    ("legal", "GET", "/api/v1/dossiers/{a}", "dossier", "a"),
    ("legal", "GET", "/legal/photos/{p}", "photo", "p"),
    ("legal", "POST", "/legal/photos/{p}/original", "photo", "p"),
    ("legal", "GET", "/api/v1/legal/photos/{p}", "photo", "p"),
    ("legal", "POST", "/api/v1/legal/photos/{p}/original", "photo", "p"),
]


def _stamp(app) -> None:
    context.set_app(app)
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    dispatch.tick(app)


def _world(app) -> dict:
    device, _ = review_world()
    capture = make_capture(device, HIGH, photos=0)
    photo = received_photo(make_jpeg(seed=3), capture)
    _stamp(app)
    customer = db.session.scalar(select(Customer).where(Customer.account_no == HIGH))
    archive_no = db.session.scalar(select(Dossier.archive_no).where(Dossier.customer_id == customer.id))
    return {"c": capture.id, "p": photo.id, "a": HIGH, "archive_no": archive_no}


def _entries_after(last_id: int) -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)).all()


@pytest.mark.parametrize(
    "role,method,template,object_type,key", ACCESSES, ids=[f"{m} {t}" for _, m, t, _, _ in ACCESSES]
)
def test_each_evidence_access_is_in_the_audit_log(app, client, role, method, template, object_type, key):
    world = _world(app)
    user = ApiClient(client)
    assert user.login(role, PASSWORD).status_code == 302
    user_id = str(db.session.scalar(select(User.id).where(User.username == role)))
    last = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) or 0
    path = template.format(**world)
    if method == "GET":
        response = user.get(path)
    elif path.startswith("/api/"):
        response = user.post(path, json=PURPOSE)
    else:
        response = user.client.post(path, data={**PURPOSE, "csrf_token": user.csrf})
    assert response.status_code == 200, (path, response.status_code)
    object_ids = {world[key], world["archive_no"]} if object_type == "dossier" else {world[key]}
    accesses = [
        e
        for e in _entries_after(last)
        if e.actor_kind == "user"
        and e.actor_id == user_id
        and e.object_id in object_ids
        and (e.action.startswith("evidence.") or e.action == "dossier.view")
    ]
    assert accesses, f"no audit entry for {method} {path}: {[(e.action, e.object_id) for e in _entries_after(last)]}"
    assert accesses[0].ip == "127.0.0.1"


def test_a_refused_access_leaves_no_access_record(app, client):
    world = _world(app)
    inspector = ApiClient(client)
    assert inspector.login("inspector1", PASSWORD).status_code == 302
    last = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) or 0
    assert inspector.get(f"/review/photos/{world['p']}/original").status_code == 403
    assert inspector.get(f"/dossiers/{HIGH}").status_code == 403
    assert [e for e in _entries_after(last) if e.action.startswith("evidence.")] == []
