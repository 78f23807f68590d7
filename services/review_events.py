"""What a review step tells the rest of the system, in the caller's transaction.

Every decision goes to the evidence log (the tamper-evident transparency log) and, for the
inspector's tablets, to the sync change feed, so a rejection arrives as a retake request on the
next pull.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Capture
from services import translog
from sync import feed

EVIDENCE_EVENTS = ("approved", "rejected", "has_issues", "linked", "commented")


def log_evidence_event(session: Session, event_type: str, subject_id: str, payload: dict, now: datetime) -> None:
    """Append a review step to the evidence log (same transaction as the step)."""
    if event_type not in EVIDENCE_EVENTS:
        raise ValueError(f"unknown review evidence event {event_type!r}")
    translog.append_event(session, event_type, subject_id, payload, now)


def publish_decision(
    session: Session, capture: Capture, reason_code: str | None, reason_text: str | None, now: datetime
) -> None:
    """Tell the inspector's tablets the outcome of a review (a rejection is a retake request)."""
    feed.publish(
        session,
        feed.inspector_scope(capture.inspector_id),
        "review",
        capture.id,
        "upsert",
        {
            "capture_id": capture.id,
            "state": capture.review_state,
            "reason_code": reason_code,
            "reason_text": reason_text,
            "decided_at": now.isoformat(),
        },
    )
