"""Archivist review: decisions on captures, comments, link choices, and the queue indexes."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.captures import Capture, Photo

DECISIONS = ("approved", "rejected", "has_issues")


class ReviewDecision(Base):
    """One archivist decision on a capture; decisions are appended, never edited."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    decision: Mapped[str] = mapped_column(String(12))
    from_state: Mapped[str] = mapped_column(String(12))
    capture_revision: Mapped[int] = mapped_column(Integer)
    review_version: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    doc_type: Mapped[str | None] = mapped_column(String(60))
    dossier_item_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_items.id"))
    bulk: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewComment(Base):
    """A comment on a capture; like the decisions, comments are only ever added."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaptureLink(Base):
    """An archivist's choice of the customer an unlinked capture belongs to."""

    __tablename__ = "capture_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    account_no_given: Mapped[str] = mapped_column(String(32))
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Keyset pagination of the queue walks these in (received_at, id) order within a review
# state, optionally narrowed to one inspector or to the unlinked captures.
Index("ix_captures_queue", Capture.review_state, Capture.received_at, Capture.id)
Index("ix_captures_queue_inspector", Capture.review_state, Capture.inspector_id, Capture.received_at, Capture.id)
Index("ix_captures_link_queue", Capture.link_state, Capture.received_at, Capture.id)
# One index per queue filter on the capture's own columns, in the queue's order, so a filtered
# page and its capped count read index entries only (migration 0015).
Index("ix_captures_queue_kind", Capture.review_state, Capture.kind, Capture.received_at, Capture.id)
Index("ix_captures_queue_account", Capture.review_state, Capture.account_no, Capture.received_at, Capture.id)
Index("ix_captures_queue_complete", Capture.review_state, Capture.complete, Capture.received_at, Capture.id)
Index("ix_captures_queue_conflict", Capture.review_state, Capture.has_conflict, Capture.received_at, Capture.id)
# district and voltage class: the customers of the filter, then their captures in queue order
Index("ix_captures_queue_customer", Capture.review_state, Capture.customer_id, Capture.received_at, Capture.id)
# The photo-category filter probes a capture's photos by category without reading them.
Index("ix_photos_capture_category", Photo.capture_id, Photo.category)
