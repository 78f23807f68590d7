"""Approval of evidence exports: originals leave beyond a set size or count only with a manager's yes.

Limits come from the app config (``EXPORT_APPROVAL_MAX_ITEMS``, ``EXPORT_APPROVAL_MAX_BYTES``),
each overridable by a ``DANGAN_…`` environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import EvidenceExport, User, audit


@dataclass(frozen=True)
class ApprovalLimits:
    """Exports up to these limits go ahead at once; larger ones wait for a manager."""

    max_items: int = 50
    max_bytes: int = 500 * 1024 * 1024
    hard_max_items: int = 5000


def _pick(config: Mapping, key: str, default: int) -> int:
    value = os.environ.get(f"DANGAN_{key}", config.get(key))
    return default if value in (None, "") else int(value)


def limits_from(config: Mapping) -> ApprovalLimits:
    """The configured limits."""
    base = ApprovalLimits()
    return ApprovalLimits(
        max_items=_pick(config, "EXPORT_APPROVAL_MAX_ITEMS", base.max_items),
        max_bytes=_pick(config, "EXPORT_APPROVAL_MAX_BYTES", base.max_bytes),
        hard_max_items=_pick(config, "EXPORT_MAX_ITEMS", base.hard_max_items),
    )


def needs_approval(item_count: int, total_bytes: int, limits: ApprovalLimits) -> bool:
    """True when an export of this many photos and bytes needs a manager's approval first."""
    return item_count > limits.max_items or total_bytes > limits.max_bytes


def _awaiting(session: Session, export_id: int) -> EvidenceExport:
    export = session.get(EvidenceExport, export_id, with_for_update=True)
    if export is None or export.state != "awaiting_approval":
        state = export.state if export is not None else None
        session.rollback()  # let go of the row lock at once, not when the request ends
        if state is None:
            raise errors.DomainError(errors.UNKNOWN_EXPORT)
        raise errors.DomainError(errors.EXPORT_BAD_STATE, details={"state": state})
    return export


def decide(
    session: Session, actor: Actor, manager: User, export_id: int, approve: bool, note: str | None, now: datetime
) -> EvidenceExport:
    """Approve (the export is queued) or reject a waiting export; the requester sees the outcome."""
    export = _awaiting(session, export_id)
    if export.requester_id is not None and export.requester_id == manager.id:
        session.rollback()
        raise errors.DomainError(errors.EXPORT_SELF_APPROVAL)
    export.state = "queued" if approve else "rejected"
    export.decided_by_id, export.decided_at = manager.id, now
    export.decision_note = (note or "").strip()[:2000] or None
    audit.record(
        session,
        actor,
        "evidence.export_approved" if approve else "evidence.export_rejected",
        "evidence_export",
        export.id,
        {"note": export.decision_note, "items": export.item_count, "bytes": export.total_bytes},
        at=now,
    )
    session.flush()
    return export


def waiting(session: Session, limit: int = 100) -> list[EvidenceExport]:
    """Exports waiting for a decision, oldest first."""
    return list(
        session.scalars(
            select(EvidenceExport)
            .where(EvidenceExport.state == "awaiting_approval")
            .order_by(EvidenceExport.created_at, EvidenceExport.id)
            .limit(limit)
        )
    )
