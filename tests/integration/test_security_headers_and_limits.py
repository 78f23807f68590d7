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
    response = client.post("/login", data={"username": "archivist", "password": "correct horse battery",
                                           "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_flag_is_on_outside_tests():
    from server.config import Config

    assert Config().SESSION_COOKIE_SECURE is True


def test_login_attempts_are_rate_limited_per_address(client):
    make_user("archivist", "archivist")
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", data={"username": "archivist", "password": f"wrong {i}",
                                            "csrf_token": token}).status_code for i in range(22)]
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_guessing_device_tokens_is_rate_limited(client):
    statuses = [client.get("/api/v1/me", headers={"Authorization": f"Bearer dgn_guess{i}"}).status_code
                for i in range(32)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    limited = client.get("/api/v1/me", headers={"Authorization": "Bearer dgn_guess"})
    assert limited.json["code"] == "request.rate_limited"
