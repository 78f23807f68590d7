"""Photos for legal retrieval tests: pushed by a tablet, uploaded over tus, stamped by the real pipeline.

The tablet is the reference device client speaking to the app in-process; its photos travel
through ``POST /api/v1/sync/push`` and the tus endpoint at ``/api/v1/uploads`` exactly as on a
real device. RQ jobs run in this process with ``SimpleWorker(...).work(burst=True)``.
"""

from __future__ import annotations

import base64
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from rq import SimpleWorker
from sqlalchemy import select

from clients.device_client import PhotoFile
from core.actor import Actor
from models import Capture, Photo, User
from models.database import db
from ports.job_queue import queue
from ports.redis_connection import get_redis
from services import dispatch, review, stamping_env
from tests.helpers.device import sample_data, tablet
from tests.helpers.factories import make_customer, make_device, make_user
from tests.helpers.images import PhotoSpec, make_image, make_jpeg
from verifier.__main__ import read_pins
from workers import context

ACCOUNT = "3100012345"


class FlaskTusUploader:
    """The tablet's uploader over the test client: tus creation, then PATCH chunks."""

    def __init__(self, client, token: str, chunk_size: int = 64 * 1024):
        self.client = client
        self.token = token
        self.chunk_size = chunk_size

    def _headers(self, extra: dict) -> dict:
        return {"Authorization": f"Bearer {self.token}", "Tus-Resumable": "1.0.0", **extra}

    def upload(self, _device, photo: dict, stop_at: int | None = None) -> bool:
        """Upload one photo file completely; True when the server took every byte."""
        with open(photo["path"], "rb") as fh:
            data = fh.read()

        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        meta = (
            f"photo_id {b64(photo['photo_id'])},sha256 {b64(photo['sha256'])},"
            f"filename {b64(os.path.basename(photo['path']))},filetype {b64(photo['mime_type'])}"
        )
        created = self.client.post(
            "/api/v1/uploads", headers=self._headers({"Upload-Length": str(len(data)), "Upload-Metadata": meta})
        )
        assert created.status_code == 201, created.get_json()
        location, offset = created.headers["Location"], 0
        while offset < len(data):
            answer = self.client.open(
                location,
                method="PATCH",
                data=data[offset : offset + self.chunk_size],
                headers=self._headers(
                    {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
                ),
            )
            assert answer.status_code == 204, answer.get_json()
            offset = int(answer.headers["Upload-Offset"])
        return True


def run_jobs(app, *queues: str) -> None:
    """Dispatch the outbox and run every queued job of these queues in this process."""
    context.set_app(app)
    dispatch.tick(app)
    connection = get_redis()
    SimpleWorker([queue(name, connection) for name in (queues or ("stamping",))], connection=connection).work(
        burst=True
    )


PHOTO_EXTENSIONS = {"JPEG": "jpg", "HEIF": "heic", "PNG": "png", "WEBP": "webp"}


def push_photos(
    app,
    client,
    directory,
    count: int = 2,
    account_no: str = ACCOUNT,
    size: tuple = (640, 480),
    inspector: str = "inspector1",
    name: str = "测试客户有限公司",
    fmt: str = "JPEG",
) -> list[str]:
    """A tablet captures an inspection with ``count`` meter photos, pushes, uploads; the pipeline stamps them.

    ``fmt`` is the file format the tablet's camera writes (JPEG, HEIF as ``.heic``, PNG, WEBP).
    """
    if db.session.scalar(select(Capture).where(Capture.account_no == account_no).limit(1)) is None:
        from models import Customer

        if db.session.scalar(select(Customer).where(Customer.account_no == account_no)) is None:
            make_customer(account_no, name=name, address="杭州市西湖区文三路 100 号")
            customer = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
            customer.latitude, customer.longitude = 30.2741, 120.1551
            db.session.commit()
    device, token = make_device(inspector)
    device_client = tablet(
        client, token, directory, name=f"tablet-{uuid.uuid4().hex[:6]}", uploader=FlaskTusUploader(client, token)
    )
    files = []
    for number in range(count):
        spec = PhotoSpec(
            width=size[0],
            height=size[1],
            seed=number + 3,
            datetime_original=f"2026:03:02 09:{10 + number:02d}:30",
            offset="+08:00",
            gps=(30.2741, 120.1551),
            image_unique_id=uuid.uuid4().hex,
        )
        data = make_jpeg(spec) if fmt == "JPEG" else make_image(fmt, spec)
        path = os.path.join(str(directory), f"meter-{uuid.uuid4().hex[:8]}.{PHOTO_EXTENSIONS[fmt]}")
        with open(path, "wb") as fh:
            fh.write(data)
        files.append(
            PhotoFile(
                path,
                "meter",
                "meter",
                captured_at=datetime(2026, 3, 2, 1, 10 + number, 31, tzinfo=timezone.utc),
                gps={"latitude": 30.2742, "longitude": 120.1552, "accuracy_m": 4.0},
            )
        )
    device_client.capture("usage_inspection", account_no, sample_data("usage_inspection", 2), files)
    outcome = device_client.sync(attempts=0)
    assert outcome["uploaded"] == count, outcome
    run_jobs(app)
    device_client.close()
    ids = [f.photo_id for f in files]
    states = {p.state for p in db.session.scalars(select(Photo).where(Photo.id.in_(ids)))}
    assert states == {"ready"}, states
    return ids


def approve_capture_of(photo_id: str, now, archivist: str = "archivist1") -> User:
    """An archivist approves the capture a photo belongs to (so the bundle carries a review decision)."""
    user = db.session.scalar(select(User).where(User.username == archivist)) or make_user(archivist, "archivist")
    photo = db.session.get(Photo, photo_id)
    review.approve(db.session, Actor("user", str(user.id), None, "archivist"), user.id, photo.capture_id, now)
    db.session.commit()
    return user


def export_bundle(app, client, clock, directory, count: int = 2, fmt: str = "JPEG"):
    """Pushed, uploaded, stamped and reviewed photos exported by the export job; returns (export, photo ids)."""
    from models import EvidenceExport
    from services import evidence_export, export_approval
    from services import export_queue as export_jobs

    photos = push_photos(app, client, directory, count=count, fmt=fmt)
    clock.advance(minutes=30)
    approve_capture_of(photos[0], clock.now())
    clock.advance(minutes=5)
    lawyer = db.session.scalar(select(User).where(User.username == "lawyer")) or make_user(
        "lawyer", "legal", display_name="李律师"
    )
    export = evidence_export.request_export(
        db.session,
        Actor("user", str(lawyer.id), None, "legal"),
        lawyer,
        evidence_export.Criteria(account_no=ACCOUNT),
        "张三窃电案（2026）浙0106民初123号",
        clock.now(),
        export_approval.ApprovalLimits(),
    )
    assert export.state == "queued" and export.job_id == export_jobs.job_id(export.id)
    run_jobs(app, "exports")
    db.session.expire_all()
    export = db.session.get(EvidenceExport, export.id)
    assert export.state == "done", export.error
    return export, photos


class UserApi:
    """An API client for one logged-in user (the test client forgets the previous request's user)."""

    def __init__(self, client):
        from tests.helpers.api_client import ApiClient

        self.api = ApiClient(client)
        self.client = client

    def login(self, username: str, password: str):
        return self.api.login(username, password)

    def get(self, *args, **kwargs):
        return self.api.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        return self.api.post(*args, **kwargs)

    def page(self, path: str):
        """GET a page with this user's cookies."""
        return self.client.get(path)


def pinned_anchor_files(app, directory) -> tuple[str, str]:
    """The server's TSA root and log public key written to files, as an operator publishes them."""
    env = stamping_env.env_for(app)
    root, key = Path(directory) / "pinned-tsa-root.pem", Path(directory) / "pinned-log-key.pem"
    root.write_bytes(env.tsa.roots_pem())
    key.write_text(env.signer.public_key_pem())
    return str(root), str(key)


def pins_of(app, directory):
    """The server's anchors as the verifier's pins."""
    root, key = pinned_anchor_files(app, directory)
    return read_pins([root], key)
