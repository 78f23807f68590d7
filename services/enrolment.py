"""One-time enrolment codes: how a capture app obtains its device token without anyone typing it.

An admin or manager creates a code for an inspector (web page, API or CLI); the code is shown
once as 8 characters and as a QR code, is valid for 24 hours and can be exchanged once. The
exchange registers a normal device (``services.devices``): revocable like any other.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Device, EnrolmentCode, audit
from services import accounts, devices
from services.unit_of_work import transaction

VALIDITY = timedelta(hours=24)
# No 0/O, 1/I/L: the code is read aloud and typed on a tablet.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def normalise(code: str) -> str:
    """The code as stored: upper case, without the spaces and dashes people type."""
    return "".join(ch for ch in str(code).upper() if ch not in " -\t")


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode("utf-8")).hexdigest()


@transaction
def create_code(
    session: Session, actor: Actor, inspector_username: str, now: datetime, device_name: str = "", created_by: str = ""
) -> tuple[EnrolmentCode, str]:
    """Create a one-time code for ``inspector_username``; return the row and the code (shown once)."""
    inspector = accounts.get_user(session, inspector_username)
    if inspector.role != "inspector":
        raise errors.DomainError(
            errors.NOT_AN_INSPECTOR, f"{inspector_username!r} has role {inspector.role!r}, not inspector."
        )
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    row = EnrolmentCode(
        code_hash=_hash(code),
        inspector_id=inspector.id,
        device_name=device_name[:128],
        created_by=(created_by or actor.kind)[:128],
        created_at=now,
        expires_at=now + VALIDITY,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "device.enrolment_code",
        "user",
        str(inspector.id),
        {"inspector": inspector.username, "expires_at": row.expires_at.isoformat()},
        at=now,
    )
    return row, code


@transaction
def exchange(session: Session, actor: Actor, code: str, now: datetime, device_name: str = "") -> tuple[Device, str]:
    """Exchange a code for a new device token of its inspector; the code cannot be used again."""
    clean = normalise(code)
    if len(clean) != LENGTH or any(ch not in ALPHABET for ch in clean):
        raise errors.DomainError(errors.ENROLMENT_CODE_UNKNOWN)
    row = session.scalar(select(EnrolmentCode).where(EnrolmentCode.code_hash == _hash(clean)))
    if row is None:
        raise errors.DomainError(errors.ENROLMENT_CODE_UNKNOWN)
    if row.used_at is not None:
        raise errors.DomainError(errors.ENROLMENT_CODE_USED, details={"used_at": row.used_at.isoformat()})
    if now >= row.expires_at:
        raise errors.DomainError(errors.ENROLMENT_CODE_EXPIRED, details={"expired_at": row.expires_at.isoformat()})
    # Claim the code with a conditional update: of two tablets exchanging it at once, one wins.
    result = session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    claimed = result.rowcount
    if claimed != 1:
        raise errors.DomainError(errors.ENROLMENT_CODE_USED)
    session.refresh(row)
    device, token = devices.register_device(
        session, actor, row.inspector.username, (device_name or row.device_name)[:128]
    )
    row.device_id = device.id
    audit.record(
        session,
        actor,
        "device.enrolled",
        "device",
        device.id,
        {"inspector": row.inspector.username, "enrolment_code_id": row.id},
        at=now,
    )
    return device, token
