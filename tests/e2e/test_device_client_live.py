"""The reference client against a live gunicorn server: push, real tuspy upload with resume, pull."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

from clients.device_client import DeviceClient, HttpTransport, PhotoFile, TusPhotoUploader
from tests.helpers.device import sample_data
from tests.helpers.live import ROOT, free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(database_factory, redis_url, tmp_path_factory):
    """gunicorn on its own migrated database, with a customer assigned to a tablet's inspector."""
    import redis as redis_lib

    from core.actor import CLI
    from models.database import db
    from server import create_app
    from services import sync_assignments
    from services.ports_access import ports
    from tests.helpers.factories import make_customer, make_device

    redis_lib.Redis.from_url(redis_url).flushdb()
    database_url = database_factory.create()
    data_dir = tmp_path_factory.mktemp("live-sync")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "DANGAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "live-test",
        }
    )
    with app.app_context():
        make_customer("3100012345")
        _, token = make_device("inspector1")
        sync_assignments.assign(db.session, CLI, "inspector1", ["3100012345"], ports().clock.now())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DANGAN_DATA_DIR": str(data_dir),
        "SECRET_KEY": "live-test",
        "DANGAN_LOG_FORMAT": "text",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/v1/health", proc=proc)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    yield {"url": url, "token": token, "engine": engine}
    engine.dispose()
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=15)
    database_factory.drop(database_url)


def photo(tmp_path, name: str, size: int, slot="meter", category="meter") -> PhotoFile:
    path = tmp_path / name
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(size))
    return PhotoFile(str(path), slot, category)


def capture_row(engine, capture_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT complete FROM captures WHERE id = :id"), {"id": capture_id}).one()
        photos = conn.execute(sa.text("SELECT state FROM photos WHERE capture_id = :id"), {"id": capture_id}).all()
    return {"complete": bool(row[0]), "photo_states": sorted(p[0] for p in photos)}


def test_a_tablet_pushes_uploads_with_tuspy_and_pulls_over_http(live, tmp_path):
    client = DeviceClient(
        str(tmp_path / "tablet.sqlite3"),
        HttpTransport(live["url"], live["token"]),
        uploader=TusPhotoUploader(live["url"], live["token"], chunk_size=64 * 1024),
    )
    capture_id, _ = client.capture(
        "usage_inspection",
        "3100012345",
        sample_data("usage_inspection", 2),
        [photo(tmp_path, "meter.jpg", 300_000), photo(tmp_path, "seal.jpg", 90_000, "seal", "seal")],
    )
    result = client.sync(attempts=2, base_delay=0.2)
    assert result["pushed"] == {"applied": 1} and result["uploaded"] == 2
    state = capture_row(live["engine"], capture_id)
    assert state["complete"] is True and state["photo_states"] != ["awaiting_upload"] * 2
    assert set(client.local("dossier")) == {"3100012345"}
    assert client.photos_to_upload() == []


def test_an_upload_interrupted_by_a_client_kill_resumes_from_the_stored_url(live, tmp_path):
    db_path = str(tmp_path / "tablet.sqlite3")
    uploader = TusPhotoUploader(live["url"], live["token"], chunk_size=64 * 1024)
    first = DeviceClient(db_path, HttpTransport(live["url"], live["token"]), uploader=uploader)
    capture_id, _ = first.capture(
        "site_survey",
        "3100012345",
        sample_data("site_survey", 1),
        [photo(tmp_path, "site.jpg", 400_000, "site", "scene")],
    )
    first.push()
    wanted = first.photos_to_upload()
    assert len(wanted) == 1
    assert uploader.upload(first, wanted[0], stop_at=128 * 1024) is False  # killed after two chunks
    stored = first.db.execute("SELECT url FROM tus_urls").fetchall()
    first.close()
    assert len(stored) == 1
    head = requests.head(
        stored[0][0], headers={"Authorization": f"Bearer {live['token']}", "Tus-Resumable": "1.0.0"}, timeout=10
    )
    assert int(head.headers["Upload-Offset"]) == 128 * 1024

    reborn = DeviceClient(db_path, HttpTransport(live["url"], live["token"]), uploader=uploader)
    assert reborn.upload() == 1
    assert capture_row(live["engine"], capture_id)["complete"] is True
