"""Linking captures for an unknown 户号 to the right customer, and finding that customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Capture, CaptureLink, Customer, Device, User, audit
from services import like_patterns, review_events
from services.lifecycle.destruction import refuse_if_destroyed
from services.review_cursor import decode_cursor, encode_cursor
from services.review_queue import QueueFilters, QueuePage, summarize
from services.unit_of_work import transaction

SEARCH_LIMIT = 20
UNLINKED_SORT = "unlinked"


def search_customers(session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers whose 户号 or meter number starts with, or whose 户名 or address contains, ``query``."""
    text = (query or "").strip()[:100]
    if not text:
        return []
    prefix, part, escape = like_patterns.starts_with(text), like_patterns.contains(text), like_patterns.ESCAPE
    condition = or_(
        Customer.account_no.like(prefix, escape=escape),
        Customer.meter_number.like(prefix, escape=escape),
        Customer.name.like(part, escape=escape),
        Customer.address.like(part, escape=escape),
    )
    # exact 户号 first, then by 户号
    exact = Customer.account_no == text
    return list(
        session.scalars(select(Customer).where(condition).order_by(exact.desc(), Customer.account_no).limit(limit))
    )


def unlinked_page(session: Session, cursor: str | None = None, limit: int = 50) -> QueuePage:
    """Captures that name an unknown 户号, oldest first, one keyset page at a time."""
    where = [Capture.link_state == "unlinked"]
    if cursor:
        after = decode_cursor(cursor, UNLINKED_SORT)
        where.append(tuple_(Capture.received_at, Capture.id) > after)
    rows = session.execute(
        select(Capture, Customer, User, Device)
        .join(Customer, Capture.customer_id == Customer.id, isouter=True)
        .join(User, Capture.inspector_id == User.id)
        .join(Device, Capture.device_id == Device.id)
        .where(*where)
        .order_by(Capture.received_at, Capture.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(UNLINKED_SORT, rows[-1][0].received_at, rows[-1][0].id) if more and rows else None
    total = session.scalar(select(func.count()).select_from(Capture).where(Capture.link_state == "unlinked")) or 0
    return QueuePage(summarize(session, rows), next_cursor, total, QueueFilters(limit=limit))


@transaction
def link_capture(
    session: Session, actor: Actor, user_id: int, capture_id: str, customer_id: int, now: datetime
) -> Capture:
    """Link an unlinked capture to a customer; the capture then joins that customer's dossier queue."""
    capture = session.get(Capture, capture_id)
    if capture is None:
        raise errors.DomainError(errors.UNKNOWN_CAPTURE, details={"capture_id": capture_id})
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise errors.DomainError(errors.UNKNOWN_CUSTOMER, "No such customer.", details={"customer_id": customer_id})
    refuse_if_destroyed(session, customer.id)
    result = session.execute(
        update(Capture)
        .where(Capture.id == capture_id, Capture.link_state == "unlinked")
        .values(link_state="linked", customer_id=customer.id)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    claimed = result.rowcount
    if claimed != 1:
        session.refresh(capture)
        raise errors.DomainError(
            errors.ALREADY_LINKED, details={"capture_id": capture_id, "customer_id": capture.customer_id}
        )
    session.refresh(capture)
    session.add(
        CaptureLink(
            capture_id=capture.id,
            customer_id=customer.id,
            account_no_given=capture.account_no,
            linked_by_id=user_id,
            linked_at=now,
        )
    )
    details = {
        "account_no_given": capture.account_no,
        "customer_account_no": customer.account_no,
        "customer_id": customer.id,
    }
    audit.record(session, actor, "capture.link", "capture", capture.id, details, at=now)
    review_events.log_evidence_event(session, "linked", capture.id, {**details, "by": actor.id}, now)
    return capture
