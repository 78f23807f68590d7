"""Use cases for operators: compact the sync feed, force every tablet to start over."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.actor import Actor
from models import audit
from sync import compaction


def compact(session: Session, actor: Actor, now: datetime, tombstone_days: int) -> dict:
    """Drop superseded feed rows and tombstones older than ``tombstone_days``."""
    report = compaction.compact(session, now - timedelta(days=tombstone_days))
    audit.record(session, actor, "sync.compact", None, None, report, at=now)
    session.commit()
    return report


def reset_all(session: Session, actor: Actor, now: datetime, reason: str) -> dict:
    """Start a new sync epoch: every tablet's next pull answers "reset required"."""
    epoch = compaction.bump_epoch(session)
    audit.record(session, actor, "sync.reset_all", None, None, {"epoch": epoch, "reason": reason}, at=now)
    session.commit()
    return {"epoch": epoch}
