"""Web login: passwords, CSRF on every form, backoff per account and address (never a lockout), logout."""

from models import AuditEntry
from models.database import db
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


def test_a_hundred_wrong_passwords_from_one_address_do_not_stop_the_admin_logging_in_from_another(app, clock):
    make_user("admin", "admin")
    attacker, owner = app.test_client(), app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    token = csrf_token_of(attacker.get("/login").get_data(as_text=True))
    statuses = []
    for i in range(100):
        statuses.append(_login(attacker, "admin", f"guess number {i}", token).status_code)
        clock.advance(seconds=30)
    assert statuses[:5] == [401] * 5 and 429 in statuses  # the guesser is slowed down …
    assert _login(owner, "admin", PASSWORD).status_code == 302  # … the admin is not
    assert "系统管理员" in owner.get("/").get_data(as_text=True)


def test_failures_from_one_address_make_it_wait_twice_as_long_each_time_and_never_lock_the_account(client, clock):
    make_user("archivist", "archivist")
    for _ in range(5):  # the first failures are free
        assert _login(client, "archivist", "wrong password!").status_code == 401
    waits = []
    for _ in range(4):
        assert _login(client, "archivist", "wrong password!").status_code == 401
        held = _login(client, "archivist", PASSWORD)  # even the right password waits its turn
        assert held.status_code == 429
        assert "秒后再试" in held.get_data(as_text=True)
        waits.append(int(held.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8]
    assert _login(client, "archivist", PASSWORD).status_code == 302
    assert db.session.query(AuditEntry).filter_by(action="login.throttled").count() == 4


def test_a_successful_login_clears_the_failures_of_its_address(app, client, clock):
    from models import LoginThrottle

    make_user("archivist", "archivist")
    for _ in range(6):
        _login(client, "archivist", "wrong password!")
    clock.advance(seconds=1)
    assert _login(client, "archivist", PASSWORD).status_code == 302
    assert db.session.query(LoginThrottle).count() == 0


def test_the_backoff_is_forgotten_after_a_day_without_failures(client, clock):
    make_user("archivist", "archivist")
    for _ in range(12):
        _login(client, "archivist", "wrong password!")
        clock.advance(minutes=16)
    clock.advance(hours=24)
    assert _login(client, "archivist", "wrong again!!").status_code == 401
    assert _login(client, "archivist", PASSWORD).status_code == 302  # free again: no wait


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
    response = client.post(
        "/login?next=https://evil.example/", data={"username": "archivist", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_failure_records_quiet_for_a_day_are_dropped(app, clock):
    from models import LoginThrottle

    make_user("archivist", "archivist")
    guesser, later = app.test_client(), app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    later.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    for name in ("nobody1", "nobody2", "archivist"):
        _login(guesser, name, "wrong password!")
    assert db.session.query(LoginThrottle).count() == 3
    clock.advance(hours=25)
    _login(later, "archivist", "wrong password!")
    db.session.expire_all()
    assert [(row.username, row.address) for row in db.session.query(LoginThrottle)] == [("archivist", "198.51.100.20")]
