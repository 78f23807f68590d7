"""The admin jobs page: failed stamping jobs and the outbox backlog are visible, and retry works."""

from rq import SimpleWorker
from sqlalchemy import select

from models import AuditEntry, PipelineRun
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from services import dispatch
from tests.helpers.api_client import ApiClient, csrf_token_of
from tests.helpers.factories import PASSWORD, make_user
from tests.helpers.images import make_jpeg
from tests.helpers.received_photos import make_capture, received_photo
from workers import context


def _failed_run(app, monkeypatch):
    from services import pipeline

    def broken(ctx):
        raise OSError("preview disk full")

    steps = tuple(
        pipeline.Step(s.name, broken if s.name == "make_derivatives" else s.run, s.state_after)
        for s in pipeline.PHOTO_RECEIVED
    )
    monkeypatch.setitem(pipeline.PIPELINES, "photo.received", steps)
    app.config["STAMPING_MAX_ATTEMPTS"] = 1
    app.extensions.pop("dangan.stamping_env", None)
    context.set_app(app)
    photo = received_photo(make_jpeg(), make_capture())
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    return photo


def test_admin_sees_the_failed_job_and_retries_it_successfully(app, client, monkeypatch):
    photo = _failed_run(app, monkeypatch)
    make_user("admin1", "admin")
    admin = ApiClient(client)
    admin.login("admin1", PASSWORD)
    page = client.get("/admin/jobs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert photo.id in html and "preview disk full" in html and "重试" in html

    monkeypatch.undo()
    app.config["STAMPING_MAX_ATTEMPTS"] = 1
    app.extensions.pop("dangan.stamping_env", None)
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    answer = client.post(f"/admin/jobs/{run.id}/retry", data={"csrf_token": csrf_token_of(html)})
    assert answer.status_code == 302
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    db.session.expire_all()
    run = db.session.get(PipelineRun, run.id)
    assert (run.status, run.attempt) == ("done", 2)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.pipeline_retry"))


def test_jobs_page_needs_the_system_jobs_permission(app, client):
    make_user("arch", "archivist")
    ApiClient(client).login("arch", PASSWORD)
    assert client.get("/admin/jobs").status_code == 403


def test_retrying_a_finished_job_is_refused(app, client):
    context.set_app(app)
    photo = received_photo(make_jpeg(), make_capture())
    dispatch.tick(app)
    SimpleWorker([queue("stamping", get_redis())], connection=get_redis()).work(burst=True)
    make_user("mgr", "manager")
    ApiClient(client).login("mgr", PASSWORD)
    run = db.session.scalar(select(PipelineRun).where(PipelineRun.subject_id == photo.id))
    html = client.get("/admin/jobs").get_data(as_text=True)
    answer = client.post(f"/admin/jobs/{run.id}/retry", data={"csrf_token": csrf_token_of(html)}, follow_redirects=True)
    assert "只有失败或等待重试的任务可以重试。" in answer.get_data(as_text=True)  # the zh-CN catalogue text
