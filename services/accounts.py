"""User accounts: creation, password login with lockout."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core import errors
from core.actor import Actor
from models import ROLES, User
from models import audit

MIN_PASSWORD_LENGTH = 10
# Compared against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = generate_password_hash("dangan-dummy-password")


def create_user(session: Session, actor: Actor, username: str, role: str, password: str | None,
                display_name: str = "", district: str | None = None) -> User:
    """Create a user with a role; password may be None for accounts that never log in on the web."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise errors.DomainError(errors.BAD_REQUEST, "User name must be 1–64 characters.")
    if role not in ROLES:
        raise errors.DomainError(errors.UNKNOWN_ROLE, f"Unknown role {role!r}.",
                                 details={"role": role, "allowed": list(ROLES)})
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise errors.DomainError(errors.DUPLICATE_USER, f"User {username!r} already exists.",
                                 details={"username": username})
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise errors.DomainError(errors.WEAK_PASSWORD,
                                 f"Password must have at least {MIN_PASSWORD_LENGTH} characters.")
    user = User(username=username, role=role, display_name=display_name or username,
                district=district,
                password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, {"username": username, "role": role})
    return user


def get_user(session: Session, username: str) -> User:
    """Return the user with this name or raise ``user.unknown``."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise errors.DomainError(errors.UNKNOWN_USER, f"No user named {username!r}.")
    return user


def authenticate(session: Session, actor: Actor, username: str, password: str, now: datetime,
                 max_failures: int, lockout_seconds: int) -> User:
    """Check a password login; count failures and lock the account after ``max_failures``.

    The failure counter is committed by the caller even when this raises.
    """
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        audit.record(session, actor, "login.failed", "user", None, {"username": username[:64]})
        raise errors.DomainError(errors.BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, actor, "login.locked", "user", user.id)
        raise errors.DomainError(errors.ACCOUNT_LOCKED, details={"until": user.locked_until.isoformat()})
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        details = {"failures": user.failed_logins}
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(seconds=lockout_seconds)
            user.failed_logins = 0
            details["locked_until"] = user.locked_until.isoformat()
        audit.record(session, actor, "login.failed", "user", user.id, details)
        raise errors.DomainError(errors.BAD_CREDENTIALS)
    if not user.active:
        raise errors.DomainError(errors.ACCOUNT_DISABLED)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, Actor("user", str(user.id), actor.ip, user.role), "login.ok", "user", user.id)
    return user
