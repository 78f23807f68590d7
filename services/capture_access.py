"""Who sees which captures: office roles see all, inspectors only their own (the policy decides)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from core import errors, policy
from core.actor import Actor
from models import Capture, Customer, Device, User
from models.captures import REVIEW_STATES
from services import review_detail
from services.review_cursor import decode_cursor, encode_cursor
from services.review_queue import summarize
from services.unit_of_work import transaction

LIST_SORT = "captures_desc"
LIST_LIMIT = 50


def only_inspector(role: str | None, user_id: int | None) -> int | None:
    """None when the role sees every capture; the user's id when it sees only its own."""
    if policy.can(role, "captures.read"):
        return None
    if policy.can(role, "captures.read_own") and user_id is not None:
        return user_id
    raise errors.DomainError(errors.FORBIDDEN, details={"permission": "captures.read"})


def list_captures(
    session: Session, role: str | None, user_id: int | None, state: str | None, cursor: str | None
) -> dict:
    """Captures newest first, one keyset page; inspectors get only theirs."""
    inspector = only_inspector(role, user_id)
    where = []
    if inspector is not None:
        where.append(Capture.inspector_id == inspector)
    if state:
        if state not in REVIEW_STATES:
            raise errors.DomainError(errors.BAD_FILTER, details={"filter": "state", "allowed": list(REVIEW_STATES)})
        where.append(Capture.review_state == state)
    if cursor:
        where.append(tuple_(Capture.received_at, Capture.id) < decode_cursor(cursor, LIST_SORT))
    rows = session.execute(
        select(Capture, Customer, User, Device)
        .join(Customer, Capture.customer_id == Customer.id, isouter=True)
        .join(User, Capture.inspector_id == User.id)
        .join(Device, Capture.device_id == Device.id)
        .where(*where)
        .order_by(Capture.received_at.desc(), Capture.id.desc())
        .limit(LIST_LIMIT + 1)
    ).all()
    more = len(rows) > LIST_LIMIT
    rows = rows[:LIST_LIMIT]
    last = rows[-1][0] if rows else None
    return {
        "items": summarize(session, rows),
        "next_cursor": encode_cursor(LIST_SORT, last.received_at, last.id) if more and last else None,
    }


@transaction
def capture_for(
    session: Session, actor: Actor, role: str | None, user_id: int | None, capture_id: str, now: datetime
) -> dict:
    """The detail of one capture as this role may see it (another inspector's is ``capture.unknown``)."""
    return review_detail.capture_detail(
        session, actor, capture_id, now, only_inspector_id=only_inspector(role, user_id)
    )


def detail_json(view: dict) -> dict:
    """The detail view as the API returns it."""
    capture = view["capture"]
    return {
        "id": capture.id,
        "kind": capture.kind,
        "kind_label": view["kind_label"],
        "schema_version": capture.schema_version,
        "account_no": capture.account_no,
        "customer_id": capture.customer_id,
        "link_state": capture.link_state,
        "review_state": capture.review_state,
        "review_version": capture.review_version,
        "complete": capture.complete,
        "has_conflict": capture.has_conflict,
        "received_at": capture.received_at,
        "estimated_at": view["estimate"].at,
        "estimate_basis": view["estimate"].basis,
        "flags": view["flags"],
        "inspector": view["inspector"].display_name or view["inspector"].username,
        "device": view["device"].name,
        "form": [row.__dict__ for row in view["form_rows"]],
        "revisions": [
            {
                "number": c.number,
                "schema_version": c.schema_version,
                "received_at": c.received_at,
                "conflict": c.conflict,
                "current": c.current,
                "sha256": c.sha256,
            }
            for c in view["revision_columns"]
        ],
        "revision_table": view["revision_table"],
        "photos": [_photo_json(p) for p in view["photos"]],
        "decisions": [
            {
                "decision": d["decision"].decision,
                "reason_code": d["decision"].reason_code,
                "reason_text": d["decision"].reason_text,
                "doc_type": d["decision"].doc_type,
                "by": d["by"],
                "decided_at": d["decision"].decided_at,
            }
            for d in view["decisions"]
        ],
        "comments": [c["comment"] for c in view["comments"]],
        "suggested_doc_type": view["approval"]["suggested"],
        "record_state": capture.record_state,
        "destroyed": view["destroyed"],
        "closed_reason": capture.closed_reason,
    }


def _photo_json(entry: dict) -> dict:
    photo, ev = entry["photo"], entry["evidence"]
    return {
        "id": photo.id,
        "slot": photo.slot,
        "category": photo.category,
        "state": photo.state,
        "mime_type": photo.mime_type,
        "device_captured_at": photo.device_captured_at,
        "received_at": photo.received_at,
        "stamped": ev.stamped,
        "sha256": ev.sha256,
        "sm3": ev.sm3,
        "estimated_at": ev.estimated_at,
        "basis": ev.basis,
        "flags": ev.flags,
        "tsa_status": ev.tsa_status,
        "exif": [[str(k), str(v)] for k, v in ev.exif],
        "destroyed": ev.destroyed,
    }
