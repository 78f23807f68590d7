"""Login and logout pages."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import errors
from models.database import db
from server.auth import current_actor
from server.security import LOGIN_LIMIT, limiter
from services import accounts
from services.ports_access import ports

bp = Blueprint("web", __name__)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login():
    """Show the login form; on POST check the password (with backoff) and start a session."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                db.session,
                current_actor(),
                form.username.data,
                form.password.data,
                ports().clock.now(),
                accounts.LoginBackoff.from_config(current_app.config),
            )
        except errors.DomainError as exc:
            if exc.problem is errors.LOGIN_THROTTLED:
                message = f"登录失败次数过多，请 {exc.details['retry_after']} 秒后再试。"
            elif exc.problem is errors.ACCOUNT_DISABLED:
                message = "该账户已停用，请联系系统管理员。"
            else:
                message = "用户名或密码错误。"
            flash(message, "error")
            return render_template("login.html", form=form), exc.status, exc.headers
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session (POST with CSRF token, so no link can log someone out)."""
    actor = current_actor()
    if actor.kind == "user":
        accounts.record_logout(db.session, actor)
    logout_user()
    flash("已退出登录。", "info")
    return redirect(url_for("web.login"))
