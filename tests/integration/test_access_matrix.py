"""Every route of the app × every principal: the permission named by each view and the policy decide.

Principals: anonymous, the five office/field roles logged in through the web form, the inspector's
tablet, a revoked tablet, and another inspector's tablet. "Allowed" is derived from the view's
``required_permission`` (set by ``server.auth.require``) and ``core.policy``; a route without one
must be listed in ``tests.helpers.routes.PUBLIC``. After each principal has called every route
(with every write it is allowed), the stored evidence is byte for byte what it was.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import uuid

import pytest
from sqlalchemy import select

from core.actor import CLI
from core.policy import PERMISSIONS, can
from models import Blob, CaptureRevision, Photo
from models.database import db
from services import devices, sync_assignments
from services.ports_access import ports
from tests.helpers.api_client import ApiClient, csrf_token_of
from tests.helpers.captures import HIGH, LOW, make_capture, review_world
from tests.helpers.device import sample_data
from tests.helpers.factories import PASSWORD, make_device
from tests.helpers.routes import PUBLIC, all_routes

ROLES = ("inspector", "archivist", "legal", "manager", "admin")
PRINCIPALS = ("anonymous", *ROLES, "device", "revoked_device", "other_inspector_device")
_ADDRESSES = itertools.count(1)


def _address() -> str:
    """A distinct client address per request, so the per-address rate limits never mix in."""
    n = next(_ADDRESSES)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _tus_metadata(photo_id: str, sha256: str) -> str:
    pairs = {"photo_id": photo_id, "sha256": sha256, "filename": "meter.jpg"}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def build_world(client) -> dict:
    """Two inspectors with tablets and captures, an upload in progress, a revoked and a spare tablet."""
    device, token = review_world()
    other_device, other_token = make_device("inspector2")
    revoked, revoked_token = make_device("inspector1")
    devices.revoke_device(db.session, CLI, revoked.id, ports().clock.now())
    spare, _ = make_device("inspector2")
    now = ports().clock.now()
    sync_assignments.assign(db.session, CLI, "inspector1", [HIGH], now)
    sync_assignments.assign(db.session, CLI, "inspector2", [LOW], now)
    db.session.commit()
    mine = make_capture(device, HIGH)
    theirs = make_capture(other_device, LOW)
    data = b"\xff\xd8\xff\xe0 partial upload"
    created = client.post(
        "/api/v1/uploads",
        headers={
            "Authorization": f"Bearer {token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": _tus_metadata(str(uuid.uuid4()), hashlib.sha256(data).hexdigest()),
        },
        environ_base={"REMOTE_ADDR": _address()},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    theirs_upload = client.post(
        "/api/v1/uploads",
        headers={
            "Authorization": f"Bearer {other_token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": _tus_metadata(str(uuid.uuid4()), hashlib.sha256(data).hexdigest()),
        },
        environ_base={"REMOTE_ADDR": _address()},
    )
    assert theirs_upload.status_code == 201
    return {
        "other_upload": theirs_upload.headers["Location"].rsplit("/", 1)[1],
        "token": token,
        "other_token": other_token,
        "revoked_token": revoked_token,
        "mine": mine.id,
        "mine_photo": mine.photos[0].id,
        "theirs": theirs.id,
        "theirs_photo": theirs.photos[0].id,
        "upload": created.headers["Location"].rsplit("/", 1)[1],
        "spare_device": spare.id,
        "device": device.id,
    }


def _values(world: dict, principal: str) -> dict:
    # each tablet addresses its own upload: another tablet's is object-level (tested below)
    upload = world["other_upload"] if principal == "other_inspector_device" else world["upload"]
    return {
        "capture_id": world["mine"],
        "photo_id": world["mine_photo"],
        "variant": "original",
        "account_no": HIGH,
        "device_id": world["spare_device"],
        "upload_id": upload,
        "filename": "app.css",
        "scan_id": "no-such-scan",
    }


def concrete(rule: str, values: dict) -> str:
    """Fill a URL rule's placeholders: known names from ``values``, integers with 1."""

    def fill(match):
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            return "1"
        return values[name]

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


def evidence_snapshot() -> dict:
    """Every photo's blob key, every stored blob's actual digest, every revision's payload hash."""
    blobs = ports().blobs
    stored = {}
    for key in db.session.scalars(select(Blob.sha256)):
        with blobs.open(key) as fh:
            stored[key] = hashlib.sha256(fh.read()).hexdigest()
    return {
        "photos": dict(db.session.execute(select(Photo.id, Photo.blob_sha256)).all()),
        "blobs": stored,
        "revisions": dict(db.session.execute(select(CaptureRevision.id, CaptureRevision.payload_sha256)).all()),
    }


class Caller:
    """Makes requests as one principal, with CSRF token and tus header where needed."""

    def __init__(self, client, principal: str, world: dict):
        self.client = client
        self.token = {
            "device": world["token"],
            "revoked_device": world["revoked_token"],
            "other_inspector_device": world["other_token"],
        }.get(principal)
        self.api = ApiClient(client, self.token)
        username = {"inspector": "inspector1"}.get(principal, principal)
        if principal in ROLES:
            assert self.api.login(username, PASSWORD).status_code == 302
        else:
            self.api.csrf = csrf_token_of(client.get("/login").get_data(as_text=True))

    def call(self, method: str, path: str):
        """Send ``method`` to ``path`` with a harmless body and the principal's credentials."""
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if path.startswith("/api/v1/uploads"):
            headers["Tus-Resumable"] = "1.0.0"
        environ = {"REMOTE_ADDR": _address()}
        if path.startswith("/api/"):
            if self.api.csrf:
                headers["X-CSRFToken"] = self.api.csrf
            kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") and "/uploads" not in path else {}
            return self.client.open(path, method=method, headers=headers, environ_base=environ, **kwargs)
        data = {"csrf_token": self.api.csrf or ""} if method == "POST" else None
        return self.client.open(path, method=method, headers=headers, data=data, environ_base=environ)


def _has_code(response, code: str) -> bool:
    """True when the JSON error carries ``code`` (HEAD answers have no body: status only)."""
    if response.request.method == "HEAD":
        return True
    body = response.get_json(silent=True)
    return isinstance(body, dict) and body.get("code") == code


def _refused(response) -> bool:
    """True when the answer is an authorisation refusal (not a business-rule 403)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    if response.request.method == "HEAD":
        return True  # no body to read the code from; object-level 403s are tested separately
    return _has_code(response, "auth.forbidden") or "auth.forbidden" in response.get_data(as_text=True)


def test_every_route_names_a_permission_or_is_declared_public(app):
    unchecked = [
        f"{r.method} {r.rule} ({r.endpoint})"
        for r in all_routes(app)
        if r.permission is None and (r.method, r.rule) not in PUBLIC
    ]
    assert unchecked == [], "routes without a permission check: " + ", ".join(unchecked)
    stale = set(PUBLIC) - {(r.method, r.rule) for r in all_routes(app)}
    assert stale == set(), f"public entries for routes that no longer exist: {stale}"
    assert {r.permission for r in all_routes(app) if r.permission} <= set(PERMISSIONS)


def test_no_route_can_change_or_delete_stored_evidence(app):
    """Only tus uploads (bytes not yet evidence) take PATCH/DELETE/PUT; no permission edits evidence."""
    writers = {(r.method, r.rule) for r in all_routes(app) if r.method in ("PUT", "PATCH", "DELETE")}
    assert writers == {
        ("PATCH", "/api/v1/uploads/<string:upload_id>"),
        ("DELETE", "/api/v1/uploads/<string:upload_id>"),
    }
    words = ("delete", "replace", "overwrite", "edit_evidence", "evidence.edit", "photo.edit", "blob")
    assert not [p for p in PERMISSIONS if any(w in p for w in words)]
    for rule in (r.rule for r in all_routes(app)):
        assert not re.search(r"/(edit|replace|overwrite|delete)\b", rule), rule


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_each_principal_gets_exactly_what_the_policy_allows_on_every_route(app, client, principal):
    world = build_world(client)
    caller = Caller(client, principal, world)
    before = evidence_snapshot()
    values = _values(world, principal)
    role = {"device": "device", "other_inspector_device": "device"}.get(principal, principal)
    failures = []
    # logging out last, so the session holds for every other route
    for route in sorted(all_routes(app), key=lambda r: r.rule == "/logout"):
        path = concrete(route.rule, values)
        response = caller.call(route.method, path)
        where = f"{principal} {route.method} {path} -> {response.status_code}"
        status = response.status_code
        if status >= 500:
            failures.append(f"{where}: server error {response.get_data(as_text=True)[:200]}")
        elif principal == "revoked_device":
            if route.endpoint != "static" and not (
                status == 401 and (not route.is_api or _has_code(response, "auth.token_revoked"))
            ):
                failures.append(f"{where}: a revoked token must get 401 auth.token_revoked")
        elif route.permission is None:
            if route.rule == "/api/v1/me" and principal == "anonymous":
                if status != 401:
                    failures.append(f"{where}: anonymous /me must be 401")
            elif _refused(response):
                failures.append(f"{where}: public route refused")
        elif principal == "anonymous":
            if route.is_api and not (status == 401 and _has_code(response, "auth.required")):
                failures.append(f"{where}: expected 401 auth.required")
            if not route.is_api and not (status == 302 and "/login" in response.headers.get("Location", "")):
                failures.append(f"{where}: expected a redirect to the login page")
        elif can(role, route.permission):
            if _refused(response):
                failures.append(f"{where}: {route.permission} is granted to {role} but was refused")
        elif not (status == 403 and _refused(response)):
            failures.append(f"{where}: {route.permission} is not granted to {role}; expected 403 auth.forbidden")
    db.session.rollback()
    db.session.expire_all()
    assert not failures, "\n".join(failures)
    assert evidence_snapshot() == before


# --- object-level access: inspectors and their tablets ---------------------------------------------


def test_an_inspector_never_reads_another_inspectors_captures(client):
    world = build_world(client)
    inspector = ApiClient(client)
    assert inspector.login("inspector1", PASSWORD).status_code == 302
    listing = inspector.get("/api/v1/captures")
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json["items"]] == [world["mine"]]
    foreign = inspector.get(f"/api/v1/captures/{world['theirs']}")
    assert foreign.status_code == 404 and foreign.json["code"] == "capture.unknown"
    for path in (
        f"/api/v1/review/captures/{world['theirs']}",
        f"/review/captures/{world['theirs']}",
        f"/review/photos/{world['theirs_photo']}/original",
        f"/legal/photos/{world['theirs_photo']}",
        f"/api/v1/legal/photos/{world['theirs_photo']}",
    ):
        response = inspector.get(path)
        assert response.status_code == 403, path
        assert world["theirs"] not in response.get_data(as_text=True)


def test_an_inspector_reads_no_dossier_outside_its_assignments(client):
    world = build_world(client)
    tablet = ApiClient(client, world["token"])
    pulled = tablet.get("/api/v1/sync/pull")
    assert pulled.status_code == 200
    dossiers = {c["id"] for c in pulled.json["changes"] if c["entity"] == "dossier"}
    assert dossiers == {HIGH}
    assert LOW not in pulled.get_data(as_text=True)
    inspector = ApiClient(client)
    assert inspector.login("inspector1", PASSWORD).status_code == 302
    for path in (
        f"/dossiers/{LOW}",
        f"/api/v1/dossiers/{LOW}",
        f"/dossiers/{HIGH}",
        f"/api/v1/dossiers/{HIGH}",
        f"/api/v1/dossiers/{LOW}/index.pdf",
        "/api/v1/dossiers?q=5200",
    ):
        response = inspector.get(path)
        assert response.status_code == 403, path
        assert "张建国" not in response.get_data(as_text=True)


def test_a_tablet_cannot_touch_another_tablets_upload_or_capture(client):
    world = build_world(client)
    other = {"Authorization": f"Bearer {world['other_token']}", "Tus-Resumable": "1.0.0"}
    location = f"/api/v1/uploads/{world['upload']}"
    head = client.head(location, headers=other)
    patch = client.patch(
        location, data=b"x", headers={**other, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    )
    delete = client.delete(location, headers=other)
    assert head.status_code == 403  # HEAD answers carry no body
    for response in (patch, delete):
        assert response.status_code == 403 and response.get_json()["code"] == "upload.not_owner"
    own = client.head(location, headers={"Authorization": f"Bearer {world['token']}", "Tus-Resumable": "1.0.0"})
    assert own.status_code == 200 and own.headers["Upload-Offset"] == "0"

    # amending inspector1's capture from inspector2's tablet is refused and changes nothing
    base = db.session.scalar(select(CaptureRevision.id).where(CaptureRevision.capture_id == world["mine"]))
    item = {
        "capture_id": world["mine"],
        "revision_id": str(uuid.uuid4()),
        "base_revision_id": base,
        "kind": "usage_inspection",
        "schema_version": 2,
        "account_no": HIGH,
        "device_time": "2026-03-02T02:00:00+00:00",
        "data": sample_data("usage_inspection", 2),
        "photos": [
            {
                "id": str(uuid.uuid4()),
                "slot": "meter",
                "category": "meter",
                "captured_at": "2026-03-02T01:55:00+00:00",
                "gps": None,
                "sha256": "ab" * 32,
                "size": 10,
                "mime_type": "image/jpeg",
                "filename": "meter.jpg",
            }
        ],
    }
    pushed = ApiClient(client, world["other_token"]).post(
        "/api/v1/sync/push", json={"protocol": 1, "device_time": "2026-03-02T02:00:00+00:00", "items": [item]}
    )
    assert pushed.status_code == 200
    result = pushed.json["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "sync.not_owner", result
    assert db.session.scalars(select(CaptureRevision.id).where(CaptureRevision.capture_id == world["mine"])).all() == [
        base
    ]
    pulled = ApiClient(client, world["other_token"]).get("/api/v1/sync/pull")
    assert world["mine"] not in pulled.get_data(as_text=True)
    assert {c["id"] for c in pulled.json["changes"] if c["entity"] == "dossier"} == {LOW}
