"""Security headers on pages and API, and rate limits on login and refused tokens."""

from tests.helpers.api_client import csrf_token_of
from tests.helpers.factories import make_user


def test_pages_forbid_inline_scripts_and_framing(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_api_responses_carry_nosniff_and_no_store(client):
    response = client.get("/api/v1/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite(client):
    make_user("archivist", "archivist")
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "archivist", "password": "correct horse battery", "csrf_token": token}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_flag_is_on_outside_tests():
    from server.config import Config

    assert Config().SESSION_COOKIE_SECURE is True


def test_login_attempts_are_rate_limited_per_address(client):
    make_user("archivist", "archivist")
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"username": "archivist", "password": f"wrong {i}", "csrf_token": token}).status_code
        for i in range(22)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_guessing_device_tokens_is_rate_limited(client):
    statuses = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer dgn_guess{i}"}).status_code for i in range(32)
    ]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    limited = client.get("/api/v1/me", headers={"Authorization": "Bearer dgn_guess"})
    assert limited.json["code"] == "request.rate_limited"


def test_oversized_json_bodies_are_refused_before_they_are_read(client, app):
    make_user("admin", "admin")
    from tests.helpers.api_client import ApiClient

    admin = ApiClient(client)
    admin.login("admin", "correct horse battery")
    big = b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 1) + b"}"
    response = admin.request("POST", "/api/v1/devices/x/revoke", data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.json["code"] == "request.too_large"


def test_upload_and_sync_routes_keep_their_own_larger_limits(app):
    from server.security import BODY_LIMITS

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    blueprints = {endpoint.split(".")[0] for endpoint in endpoints}
    for key in BODY_LIMITS:
        assert key in endpoints or key in blueprints, f"{key} names no route"


def test_a_photo_larger_than_the_json_limit_still_uploads_in_one_request(client, app):
    import base64
    import hashlib
    import uuid

    from tests.helpers.factories import make_device

    _, token = make_device()
    data = b"\xff\xd8" + b"x" * (app.config["MAX_CONTENT_LENGTH"] * 2)
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"photo_id": str(uuid.uuid4()), "sha256": hashlib.sha256(data).hexdigest()}.items()
    )
    response = client.post(
        "/api/v1/uploads",
        data=data,
        headers={
            "Authorization": f"Bearer {token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": meta,
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == str(len(data))


def test_refused_tokens_from_an_address_do_not_stop_a_valid_tablet_behind_the_same_address(client):
    from tests.helpers.factories import make_device

    _, token = make_device()
    refused = [
        client.get(
            "/api/v1/sync/pull" if i % 2 else "/api/v1/me", headers={"Authorization": f"Bearer dgn_guess{i}"}
        ).status_code
        for i in range(100)
    ]
    assert refused[-1] == 429  # the guesser is slowed down …
    for _ in range(5):  # … and the tablet behind the same NAT address still syncs
        response = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.json
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/health").status_code == 200  # nor a health check without a token


def test_a_valid_tablet_has_its_own_allowance_that_other_tablets_do_not_consume(client, app):
    from tests.helpers.factories import make_device

    app.config["DEVICE_RATE_LIMIT"] = "5 per minute"
    _, busy = make_device()
    _, calm = make_device()
    statuses = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {busy}"}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {calm}"}).status_code == 200
