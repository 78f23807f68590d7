"""Every review and dossier route, for every role: the policy table decides who gets in."""

import pytest
from sqlalchemy import select

from core.policy import can
from models import Customer, User
from models.database import db
from tests.helpers.api_client import ApiClient, csrf_token_of
from tests.helpers.captures import HIGH, make_capture, review_world
from tests.helpers.factories import PASSWORD, make_device

# (method, path template, permission); {c} capture, {p} photo, {a} 户号, {k} customer id, {s} scan
ROUTES = [
    ("GET", "/review/queue", "queue.read"),
    ("GET", "/review/unlinked", "queue.read"),
    ("GET", "/review/captures/{c}", "captures.read"),
    ("GET", "/review/photos/{p}/original", "captures.read"),
    ("POST", "/review/captures/{c}/comment", "queue.review"),
    ("POST", "/review/captures/{c}/issues", "queue.review"),
    ("POST", "/review/captures/{c}/reject", "queue.review"),
    ("POST", "/review/captures/{c}/approve", "queue.review"),
    ("POST", "/review/captures/{c}/link", "queue.review"),
    ("POST", "/review/bulk-approve", "queue.review"),
    ("GET", "/dossiers", "dossier.read"),
    ("GET", "/dossiers/filing-scope", "filing_scope.read"),
    ("GET", "/dossiers/{a}", "dossier.read"),
    ("GET", "/dossiers/{a}/index", "dossier.read"),
    ("GET", "/dossiers/{a}/index.pdf", "dossier.read"),
    ("POST", "/dossiers/{a}/scans", "dossier.edit"),
    ("POST", "/dossiers/{a}/scans/{s}/file", "dossier.edit"),
    ("GET", "/dossiers/{a}/scans/{s}/original", "dossier.read"),
    ("GET", "/api/v1/dossiers/{a}/scans", "dossier.read"),
    ("POST", "/api/v1/dossiers/{a}/scans/{s}/file", "dossier.edit"),
    ("GET", "/api/v1/review/queue", "queue.read"),
    ("GET", "/api/v1/review/unlinked", "queue.read"),
    ("GET", "/api/v1/review/captures/{c}", "captures.read"),
    ("GET", "/api/v1/review/customers?q=3100", "queue.review"),
    ("POST", "/api/v1/review/captures/{c}/comments", "queue.review"),
    ("POST", "/api/v1/review/captures/{c}/issues", "queue.review"),
    ("POST", "/api/v1/review/captures/{c}/reject", "queue.review"),
    ("POST", "/api/v1/review/captures/{c}/approve", "queue.review"),
    ("POST", "/api/v1/review/captures/{c}/link", "queue.review"),
    ("POST", "/api/v1/review/bulk-approve", "queue.review"),
    ("GET", "/api/v1/captures", "captures.list"),
    ("GET", "/api/v1/captures/{c}", "captures.list"),
    ("GET", "/api/v1/dossiers?q=3100", "dossier.read"),
    ("GET", "/api/v1/dossiers/{a}", "dossier.read"),
    ("GET", "/api/v1/dossiers/{a}/index.pdf", "dossier.read"),
    ("GET", "/api/v1/filing-scope", "filing_scope.read"),
]
BODIES = {
    "comment": {"body": "ok"},
    "comments": {"body": "ok"},
    "issues": {"reason_text": "x"},
    "reject": {"reason_code": "blurry"},
    "approve": {},
    "link": {"customer_id": 1},
    "bulk-approve": {"items": [{"capture_id": "x"}]},
}
ROLES = ("anonymous", "device", "inspector", "archivist", "legal", "manager", "admin")


def _world():
    device, token = review_world()
    capture = make_capture(device, HIGH)
    customer = db.session.scalar(select(Customer).where(Customer.account_no == HIGH))
    return {"c": capture.id, "p": capture.photos[0].id, "a": HIGH, "k": customer.id, "s": "no-such-scan"}, token


def _call(client, api, method, path, is_api):
    key = path.rstrip("/").split("/")[-1].split("?")[0]
    if method == "GET":
        return api.get(path)
    if is_api:
        return api.post(path, json=BODIES.get(key, {}))
    form = {
        "csrf_token": api.csrf or "",
        "reason_code": "blurry",
        "reason_text": "x",
        "body": "ok",
        "customer_id": "1",
        "capture": "x:1",
    }
    return client.post(path, data=form, headers={"Authorization": f"Bearer {api.token}"} if api.token else {})


@pytest.mark.parametrize("role", ROLES)
def test_each_route_admits_exactly_the_roles_the_policy_names(client, role):
    ids, token = _world()
    api = ApiClient(client)
    if role == "anonymous":
        api.csrf = csrf_token_of(client.get("/login").get_data(as_text=True))  # a valid form, no login
    elif role == "device":
        api.token = token
        api.csrf = csrf_token_of(client.get("/login").get_data(as_text=True))
    elif role == "inspector":
        assert api.login("inspector1", PASSWORD).status_code == 302
    elif role != "anonymous":
        assert api.login(role, PASSWORD).status_code == 302
        assert db.session.scalar(select(User.role).where(User.username == role)) == role
    for method, template, permission in ROUTES:
        path = template.format(**ids)
        is_api = path.startswith("/api/")
        response = _call(client, api, method, path, is_api)
        where = f"{role} {method} {path}"
        if role == "anonymous":
            if is_api:
                assert response.status_code == 401, where
                assert response.json["code"] == "auth.required", where
            else:
                assert response.status_code == 302 and "/login" in response.headers["Location"], where
        elif can(role, permission):
            assert response.status_code not in (401, 403), f"{where}: {response.status_code}"
        else:
            assert response.status_code == 403, f"{where}: {response.status_code}"
            if is_api:
                assert response.json == {
                    **response.json,
                    "code": "auth.forbidden",
                    "details": {"permission": permission},
                }, where


def test_the_table_covers_every_review_and_dossier_route_of_the_app(app):
    covered = {
        (
            m,
            t.split("?")[0]
            .replace("{c}", "<capture_id>")
            .replace("{p}", "<photo_id>")
            .replace("{a}", "<account_no>")
            .replace("{s}", "<scan_id>"),
        )
        for m, t, _ in ROUTES
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("review", "dossiers", "review_api", "dossiers_api"):
            path = rule.rule.replace("<variant>", "original")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, path) in covered, f"{method} {rule.rule} has no rights test"


def test_inspectors_see_only_their_own_captures_through_the_api(client):
    device, _ = review_world()
    other_device, _ = make_device("inspector2")
    mine = make_capture(device, HIGH)
    theirs = make_capture(other_device, HIGH)
    api = ApiClient(client)
    assert api.login("inspector1", PASSWORD).status_code == 302

    listing = api.get("/api/v1/captures")
    own = api.get(f"/api/v1/captures/{mine.id}")
    foreign = api.get(f"/api/v1/captures/{theirs.id}")
    office = api.get(f"/api/v1/review/captures/{mine.id}")

    assert [i["id"] for i in listing.json["items"]] == [mine.id]
    assert own.status_code == 200 and own.json["form"]
    assert foreign.status_code == 404 and foreign.json["code"] == "capture.unknown"
    assert office.status_code == 403
    api.login("manager", PASSWORD)
    assert {i["id"] for i in api.get("/api/v1/captures").json["items"]} == {mine.id, theirs.id}
