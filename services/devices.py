"""Tablets: registration with a one-time bearer token, revocation, token authentication."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Device, audit
from services import accounts
from services.unit_of_work import transaction

TOKEN_PREFIX = "dgn_"


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens are 256-bit random, so a fast hash is enough and no salt is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction
def register_device(session: Session, actor: Actor, inspector_username: str, name: str = "") -> tuple[Device, str]:
    """Register a tablet for an inspector; return the device and its token (shown only this once)."""
    inspector = accounts.get_user(session, inspector_username)
    if inspector.role != "inspector":
        raise errors.DomainError(
            errors.NOT_AN_INSPECTOR, f"{inspector_username!r} has role {inspector.role!r}, not inspector."
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = Device(
        id=str(uuid.uuid4()),
        name=name or f"{inspector.username} 的平板",
        inspector_id=inspector.id,
        token_hash=hash_token(token),
    )
    session.add(device)
    session.flush()
    audit.record(session, actor, "device.register", "device", device.id, {"inspector": inspector.username})
    return device, token


@transaction
def revoke_device(session: Session, actor: Actor, device_id: str, now: datetime) -> Device:
    """Revoke a device token; the next request with it gets 401 ``auth.token_revoked``."""
    device = session.get(Device, device_id)
    if device is None:
        raise errors.DomainError(errors.UNKNOWN_DEVICE, f"No device {device_id!r}.")
    if device.revoked_at is None:
        device.revoked_at = now
        audit.record(session, actor, "device.revoke", "device", device.id)
    return device


def authenticate_token(session: Session, token: str, now: datetime) -> Device:
    """Return the device owning a bearer token, or raise 401 (unknown or revoked)."""
    if not token or len(token) > 200:
        raise errors.DomainError(errors.TOKEN_INVALID)
    device = session.scalar(select(Device).where(Device.token_hash == hash_token(token)))
    if device is None:
        raise errors.DomainError(errors.TOKEN_INVALID)
    if device.revoked_at is not None:
        raise errors.DomainError(errors.TOKEN_REVOKED)
    return device
