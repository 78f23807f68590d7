"""Small tus calls against the Flask test client, for tests that need an upload as a step."""

from __future__ import annotations

import base64
import hashlib
import uuid

from models import Photo
from models.database import db

OCTETS = "application/offset+octet-stream"


def tus_metadata(photo_id: str, sha256: str, filename: str = "meter.jpg") -> str:
    """An Upload-Metadata header value for a photo."""
    pairs = {"photo_id": photo_id, "sha256": sha256, "filename": filename, "filetype": "image/jpeg"}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def _headers(token: str, extra: dict | None = None) -> dict:
    return {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0", **(extra or {})}


def tus_create(client, token: str, data: bytes, photo_id: str | None = None) -> str:
    """Create an upload for ``data`` (declared by its SHA-256); return its location path."""
    response = client.post(
        "/api/v1/uploads",
        headers=_headers(
            token,
            {
                "Upload-Length": str(len(data)),
                "Upload-Metadata": tus_metadata(photo_id or str(uuid.uuid4()), hashlib.sha256(data).hexdigest()),
            },
        ),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["Location"]


def tus_patch(client, token: str, location: str, offset: int, chunk: bytes):
    """PATCH ``chunk`` at ``offset``."""
    return client.open(
        location,
        method="PATCH",
        data=chunk,
        headers=_headers(token, {"Upload-Offset": str(offset), "Content-Type": OCTETS}),
    )


def tus_head(client, token: str, location: str):
    """HEAD the upload (its offset)."""
    return client.head(location, headers=_headers(token))


def declare_photo(device, data: bytes, photo_id: str | None = None) -> Photo:
    """A photo as a push declares it (awaiting its bytes), committed."""
    photo = Photo(
        id=photo_id or str(uuid.uuid4()),
        device_id=device.id,
        category="site",
        declared_sha256=hashlib.sha256(data).hexdigest(),
        declared_size=len(data),
    )
    db.session.add(photo)
    db.session.commit()
    return photo
