"""The use register (档案利用登记): every search, opening, download and export of evidence.

Each registration is a row of the register, an audit entry and, when it touches one photo, an
``accessed`` (or ``exported``) event in the transparency log, so it shows in that photo's
custody log. Callers commit with the rest of their transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import EvidenceUse, User, audit
from models.legal import USE_ACTIONS
from services import translog

# actions on one photo that go into the photo's evidence log as an access
LOGGED_ACCESSES = ("open", "download")


def check_purpose(purpose: str | None) -> str:
    """Return the stripped purpose, or raise legal.purpose_required."""
    text = (purpose or "").strip()
    if len(text) < 2:
        raise errors.DomainError(errors.PURPOSE_REQUIRED)
    return text[:2000]


def user_label(user: User | None, actor: Actor) -> str:
    """How the register names the user: display name and login, or the kind of actor."""
    if user is not None:
        return f"{user.display_name or user.username}（{user.username}）"
    return {"cli": "命令行操作员", "system": "系统"}.get(actor.kind, actor.kind)


def register(
    session: Session,
    actor: Actor,
    user: User | None,
    action: str,
    now: datetime,
    photo_id: str | None = None,
    export_id: int | None = None,
    purpose: str | None = None,
    details: dict | None = None,
) -> EvidenceUse:
    """Add one line to the register with its audit entry (and log event for photo accesses)."""
    if action not in USE_ACTIONS:
        raise ValueError(f"unknown use action {action!r}")
    label = user_label(user, actor)
    use = EvidenceUse(
        at=now,
        user_id=user.id if user else None,
        user_label=label,
        action=action,
        photo_id=photo_id,
        export_id=export_id,
        purpose=purpose,
        details=details or {},
    )
    session.add(use)
    object_type, object_id = ("photo", photo_id) if photo_id else ("evidence_export", export_id)
    audit.record(
        session,
        actor,
        f"evidence.use.{action}",
        object_type,
        object_id,
        {"purpose": purpose, "export_id": export_id, **(details or {})},
        at=now,
    )
    if photo_id and action in LOGGED_ACCESSES:
        translog.append_event(
            session,
            "accessed",
            photo_id,
            {"photo_id": photo_id, "action": action, "by": label, "purpose": purpose},
            now,
        )
    session.flush()
    return use


def list_uses(
    session: Session, limit: int = 200, photo_id: str | None = None, export_id: int | None = None
) -> list[EvidenceUse]:
    """The newest lines of the register, optionally for one photo or one export."""
    query = select(EvidenceUse)
    if photo_id:
        query = query.where(EvidenceUse.photo_id == photo_id)
    if export_id:
        query = query.where(EvidenceUse.export_id == export_id)
    return list(session.scalars(query.order_by(EvidenceUse.at.desc(), EvidenceUse.id.desc()).limit(limit)))


def use_dict(use: EvidenceUse) -> dict:
    """A register line for the API and pages."""
    return {
        "id": use.id,
        "at": use.at,
        "user": use.user_label,
        "action": use.action,
        "action_label": USE_ACTIONS.get(use.action, use.action),
        "photo_id": use.photo_id,
        "export_id": use.export_id,
        "purpose": use.purpose,
        "details": use.details or {},
    }
