"""Web login: passwords, CSRF on every form, lockout after repeated failures, logout."""
from models.database import db
from models import AuditEntry
from tests.helpers.api_client import csrf_token_of
from tests.helpers.factories import PASSWORD, make_user


def _login(client, username, password, token=None):
    if token is None:
        token = csrf_token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_login_with_the_right_password_opens_the_start_page(client):
    make_user("archivist", "archivist", display_name="李档案")
    response = _login(client, "archivist", PASSWORD)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "李档案" in page and "档案员" in page


def test_wrong_password_is_refused_and_audited(client, app):
    make_user("archivist", "archivist")
    response = _login(client, "archivist", "not the password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert db.session.query(AuditEntry).filter_by(action="login.failed").count() == 1


def test_login_form_without_csrf_token_is_rejected(client):
    make_user("archivist", "archivist")
    response = client.post("/login", data={"username": "archivist", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still not logged in


def test_login_with_a_forged_csrf_token_is_rejected(client):
    make_user("archivist", "archivist")
    client.get("/login")
    response = _login(client, "archivist", PASSWORD, token="forged")
    assert response.status_code == 400


def test_five_failures_lock_the_account_even_for_the_right_password(client, clock):
    make_user("archivist", "archivist")
    for _ in range(5):
        assert _login(client, "archivist", "wrong password!").status_code == 401
    locked = _login(client, "archivist", PASSWORD)
    assert locked.status_code == 403
    assert "锁定" in locked.get_data(as_text=True)
    clock.advance(minutes=16)
    assert _login(client, "archivist", PASSWORD).status_code == 302


def test_logout_needs_a_post_with_csrf_and_ends_the_session(client):
    make_user("archivist", "archivist")
    _login(client, "archivist", PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 400  # no token: refused
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token_of(page)}).status_code == 302
    assert client.get("/").status_code == 302


def test_login_redirect_never_leaves_the_site(client):
    make_user("archivist", "archivist")
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=https://evil.example/", data={
        "username": "archivist", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
