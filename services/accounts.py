"""User accounts: creation, password login with a per account and address backoff.

Failed logins are counted per (account name, address). The first few cost nothing; after that
each failure makes that pair wait twice as long as the last one (up to a cap) before its next
attempt is even checked. Nobody can lock an account: a stranger's failures slow only the
stranger's address, and the owner logs in from anywhere else as usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core import errors
from core.actor import Actor
from models import ROLES, LoginThrottle, User, audit
from services.unit_of_work import commit_then_raise, transaction

MIN_PASSWORD_LENGTH = 10
# Compared against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = generate_password_hash("dangan-dummy-password")


@transaction
def create_user(
    session: Session,
    actor: Actor,
    username: str,
    role: str,
    password: str | None,
    display_name: str = "",
    district: str | None = None,
) -> User:
    """Create a user with a role; password may be None for accounts that never log in on the web."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise errors.DomainError(errors.BAD_REQUEST, "User name must be 1–64 characters.")
    if role not in ROLES:
        raise errors.DomainError(
            errors.UNKNOWN_ROLE, f"Unknown role {role!r}.", details={"role": role, "allowed": list(ROLES)}
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise errors.DomainError(
            errors.DUPLICATE_USER, f"User {username!r} already exists.", details={"username": username}
        )
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise errors.DomainError(errors.WEAK_PASSWORD, f"Password must have at least {MIN_PASSWORD_LENGTH} characters.")
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        district=district,
        password_hash=generate_password_hash(password) if password else None,
    )
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


@dataclass(frozen=True)
class LoginBackoff:
    """How failed logins of one (account name, address) pair slow that pair down."""

    free_failures: int = 5  # consecutive failures that cost no wait
    base_seconds: int = 1  # wait after the first failure past the free ones; doubles each time
    max_seconds: int = 15 * 60  # the wait never grows beyond this
    memory_seconds: int = 24 * 3600  # a pair without failures for this long starts afresh

    @classmethod
    def from_config(cls, config) -> "LoginBackoff":
        """The backoff of the LOGIN_* settings."""
        return cls(
            config["LOGIN_FREE_FAILURES"],
            config["LOGIN_BACKOFF_BASE_SECONDS"],
            config["LOGIN_BACKOFF_MAX_SECONDS"],
            config["LOGIN_FAILURE_MEMORY_SECONDS"],
        )

    def wait_after(self, failures: int) -> int:
        """Seconds the pair waits after its ``failures``-th consecutive failure (0 while free)."""
        if failures <= self.free_failures:
            return 0
        return min(self.max_seconds, self.base_seconds * 2 ** min(failures - self.free_failures - 1, 32))


def _throttle_of(session: Session, username: str, address: str, now: datetime) -> LoginThrottle:
    """The failure record of a pair, created when missing (a concurrent creation is found again)."""
    key = (username, address)
    row = session.get(LoginThrottle, key)
    if row is None:
        try:
            with session.begin_nested():
                row = LoginThrottle(username=username, address=address, failures=0, last_failure_at=now)
                session.add(row)
        except IntegrityError:
            row = session.get(LoginThrottle, key)
            assert row is not None
    return row


def _record_failure(session: Session, username: str, address: str, now: datetime, backoff: LoginBackoff) -> dict:
    forgotten = now - timedelta(seconds=backoff.memory_seconds)
    # pairs quiet for longer than the memory are dropped, so guessed names do not pile up
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at <= forgotten,
            or_(LoginThrottle.username != username, LoginThrottle.address != address),
        )
    )
    row = _throttle_of(session, username, address, now)
    if row.failures and row.last_failure_at <= forgotten:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    wait = backoff.wait_after(row.failures)
    row.wait_until = now + timedelta(seconds=wait) if wait else None
    return {"failures": row.failures, "wait_seconds": wait}


def authenticate(
    session: Session, actor: Actor, username: str, password: str, now: datetime, backoff: LoginBackoff
) -> User:
    """Check a password login from ``actor.ip``; failures slow down only that account and address.

    While the pair waits, the attempt is refused with ``auth.login_throttled`` (``Retry-After``)
    before the password is looked at. The failure record and the audit entry are committed even
    when this refuses; a successful login clears the record.
    """
    name, address = (username or "").strip()[:64], (actor.ip or "unknown")[:64]
    pending = session.get(LoginThrottle, (name, address))
    if pending is not None and pending.wait_until is not None and pending.wait_until > now:
        retry_after = max(1, math.ceil((pending.wait_until - now).total_seconds()))
        audit.record(session, actor, "login.throttled", "user", None, {"username": name, "retry_after": retry_after})
        commit_then_raise(
            session,
            errors.DomainError(
                errors.LOGIN_THROTTLED, details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)}
            ),
        )
    user = session.scalar(select(User).where(User.username == name))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        details = _record_failure(session, name, address, now, backoff)
        audit.record(session, actor, "login.failed", "user", None, {"username": name, **details})
        commit_then_raise(session, errors.DomainError(errors.BAD_CREDENTIALS))
    if not check_password_hash(user.password_hash, password or ""):
        details = _record_failure(session, name, address, now, backoff)
        audit.record(session, actor, "login.failed", "user", user.id, details)
        commit_then_raise(session, errors.DomainError(errors.BAD_CREDENTIALS))
    if not user.active:
        commit_then_raise(session, errors.DomainError(errors.ACCOUNT_DISABLED))
    if pending is not None:
        session.delete(pending)
    audit.record(session, Actor("user", str(user.id), actor.ip, user.role), "login.ok", "user", user.id)
    session.commit()
    return user


@transaction
def record_logout(session: Session, actor: Actor) -> None:
    """Audit a user's logout."""
    audit.record(session, actor, "logout", "user", actor.id)
