"""Simulated tablets for tests: the reference client on a Flask test client, with injectable faults.

``FlaskTransport`` speaks to the app in-process; ``fail_next`` makes the next call lose its
request (the server never sees it) or its answer (the server applied it, the tablet never
hears), which is how the tests reproduce bad links.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import datetime, timezone

from capture_schema.examples import SAMPLE_DATA
from clients.device_client import DeviceClient, PhotoFile, Response, TransportError

REQUIRED_SLOTS = {
    "usage_inspection": [("meter", "meter")],
    "site_survey": [("site", "scene")],
    "metering_check": [("meter", "meter")],
    "defect_notice": [("defect", "scene"), ("customer_signature", "document")],
    "theft_evidence": [("scene", "scene")],
}


def sample_data(kind: str, version: int) -> dict:
    """Valid form data of (kind, version)."""
    return json.loads(json.dumps(SAMPLE_DATA[(kind, version)]))


def photo_files(directory, kind: str, seed: str | None = None) -> list[PhotoFile]:
    """Small distinct JPEG-named files for the required slots of a kind."""
    out = []
    for slot, category in REQUIRED_SLOTS[kind]:
        data = b"\xff\xd8\xff\xe0" + (seed or uuid.uuid4().hex).encode() + slot.encode() + os.urandom(64)
        path = os.path.join(str(directory), f"{uuid.uuid4().hex}.jpg")
        with open(path, "wb") as fh:
            fh.write(data)
        out.append(
            PhotoFile(
                path,
                slot,
                category,
                captured_at=datetime(2026, 3, 2, 1, 25, tzinfo=timezone.utc),
                gps={"latitude": 30.21, "longitude": 120.21, "accuracy_m": 5.0},
            )
        )
    return out


class FlaskTransport:
    """The reference client's transport over a Flask test client, with fault injection."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.faults: list[str] = []  # queue of 'lose_request' | 'lose_answer'
        self.calls = 0

    def fail_next(self, *faults: str) -> None:
        """Make the next calls fail: 'lose_request' (server never sees it) or 'lose_answer'."""
        self.faults.extend(faults)

    def _answer(self, response) -> Response:
        self.calls += 1
        fault = self.faults.pop(0) if self.faults else None
        if fault == "lose_answer":
            raise TransportError("connection reset after the server answered")
        return Response(response.status_code, response.get_json(silent=True) or {})

    def _lost(self) -> bool:
        if self.faults and self.faults[0] == "lose_request":
            self.faults.pop(0)
            self.calls += 1
            return True
        return False

    def post_json(self, path: str, body: bytes) -> Response:
        """POST through the test client (unless the request is to be lost)."""
        if self._lost():
            raise TransportError("no network")
        return self._answer(self.client.post(path, data=body, headers=self.headers, content_type="application/json"))

    def get_json(self, path: str, params: dict) -> Response:
        """GET through the test client (unless the request is to be lost)."""
        if self._lost():
            raise TransportError("no network")
        return self._answer(self.client.get(path, query_string=params, headers=self.headers))


class DirectBlobUploader:
    """Stands in for tus inside in-process tests: stores the bytes and announces the blob."""

    def __init__(self, app):
        self.app = app
        self.uploaded: list[str] = []

    def upload(self, client, photo: dict, stop_at=None) -> bool:
        """Store the file's bytes the way a finished upload does."""
        store_blob(open(photo["path"], "rb").read())
        self.uploaded.append(photo["photo_id"])
        return True


def store_blob(data: bytes):
    """Put bytes in the blob store, add the Blob row and complete waiting photos (as uploads do)."""
    from models import Blob
    from models.database import db
    from services.ports_access import ports
    from sync.photos import blob_arrived

    sha256 = hashlib.sha256(data).hexdigest()
    ports().blobs.put_bytes(sha256, data)
    blob = db.session.get(Blob, sha256)
    if blob is None:
        blob = Blob(sha256=sha256, sm3="0" * 64, size=len(data), stored_at=ports().clock.now())
        db.session.add(blob)
        db.session.flush()
    blob_arrived(db.session, blob, ports().clock.now())
    db.session.commit()
    return blob


def tablet(client, token: str, directory, name: str = "tablet", **kwargs) -> DeviceClient:
    """A reference client with its SQLite file in ``directory``, talking to the test app."""
    return DeviceClient(os.path.join(str(directory), f"{name}.sqlite3"), FlaskTransport(client, token), **kwargs)
