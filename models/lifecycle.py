"""Archive lifecycle: filing obligations, use registration (利用登记), legal holds, retention,
disposal lists, destruction records and paper-box positions of the originals."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

OBLIGATION_STATES = {
    "open": "未到期",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "met": "已按期归档",
    "met_late": "逾期后归档",
    "no_calendar": "日历未覆盖",
}
USE_FORMS = {"view": "查阅", "copy": "复制", "extract": "摘录", "original": "借出原件"}
USE_STATES = {
    "registered": "已登记",
    "pending": "待审批",
    "approved": "已批准",
    "rejected": "已驳回",
    "out": "已借出",
    "returned": "已归还",
    "completed": "已完成",
}
DISPOSAL_STATES = {"proposed": "待审批", "approved": "已批准", "rejected": "已驳回", "executed": "已执行"}


class FilingObligation(Base):
    """The duty to file a business event's documents within a number of working days."""

    __tablename__ = "filing_obligations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_event_id: Mapped[int] = mapped_column(ForeignKey("business_events.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    opened_on: Mapped[date] = mapped_column(Date)
    working_days: Mapped[int] = mapped_column(Integer)
    # None when the statutory calendar does not cover the period (then calendar_error says why)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    calendar_error: Mapped[str | None] = mapped_column(String(200))
    # True while the due date counts a year whose holiday arrangement is not published yet (暂定)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    required_doc_types: Mapped[list] = mapped_column(JSON, default=list)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
    met_on: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UseRequest(Base):
    """One registered use of archive items (档案利用登记): who, what, purpose, form, when."""

    __tablename__ = "use_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(100))
    requester_unit: Mapped[str | None] = mapped_column(String(100))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(Text)
    form: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    out_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["UseRequestItem"]] = relationship(back_populates="request", order_by="UseRequestItem.id")


class UseRequestItem(Base):
    """A dossier item named by a use request."""

    __tablename__ = "use_request_items"
    __table_args__ = (UniqueConstraint("request_id", "dossier_item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("use_requests.id"), index=True)
    dossier_item_id: Mapped[int] = mapped_column(ForeignKey("dossier_items.id"), index=True)

    request: Mapped[UseRequest] = relationship(back_populates="items")


class LegalHold(Base):
    """A legal hold on a whole customer or one dossier item: destruction waits until it is lifted."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    dossier_item_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_items.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lift_reason: Mapped[str | None] = mapped_column(Text)


class RetentionState(Base):
    """Where a closed customer's dossier stands in retention: closing date, eligibility, destruction."""

    __tablename__ = "retention_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    closed_on: Mapped[date] = mapped_column(Date)
    retention_years: Mapped[int] = mapped_column(Integer)
    eligible_on: Mapped[date] = mapped_column(Date, index=True)
    swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DisposalList(Base):
    """A list of eligible dossiers proposed for destruction; nothing is destroyed unless approved."""

    __tablename__ = "disposal_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="proposed", index=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    executed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entries: Mapped[list["DisposalEntry"]] = relationship(back_populates="disposal_list", order_by="DisposalEntry.id")


class DisposalEntry(Base):
    """One dossier on a disposal list; withdrawn entries stay listed but are not destroyed."""

    __tablename__ = "disposal_entries"
    __table_args__ = (UniqueConstraint("disposal_list_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disposal_list_id: Mapped[int] = mapped_column(ForeignKey("disposal_lists.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    eligible_on: Mapped[date] = mapped_column(Date)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    destruction_record_id: Mapped[int | None] = mapped_column(ForeignKey("destruction_records.id"))

    disposal_list: Mapped[DisposalList] = relationship(back_populates="entries")


class DestructionRecord(Base):
    """The permanent record of one destroyed dossier: what, why, approved by whom, when, which hashes.

    ``record_sha256`` is the SHA-256 of the canonical JSON of ``content``; the same digest goes
    into the transparency log, so the record can be verified after the bytes are gone.
    """

    __tablename__ = "destruction_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    disposal_list_id: Mapped[int] = mapped_column(ForeignKey("disposal_lists.id"), index=True)
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict] = mapped_column(JSON)
    record_sha256: Mapped[str] = mapped_column(String(64), unique=True)


class PaperBox(Base):
    """A numbered archive box for paper originals; high-voltage boxes hold one customer."""

    __tablename__ = "paper_boxes"
    __table_args__ = (UniqueConstraint("voltage_class", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voltage_class: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    shelf: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    slots: Mapped[list["BoxSlot"]] = relationship(back_populates="box", order_by="BoxSlot.position")


class BoxSlot(Base):
    """A position in a box; ``customer_id`` is its current occupant, None when free for reuse."""

    __tablename__ = "box_slots"
    __table_args__ = (UniqueConstraint("box_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("paper_boxes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), unique=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    freed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    box: Mapped[PaperBox] = relationship(back_populates="slots")


class CalendarArrangement(Base):
    """A year's holiday arrangement (放假安排) loaded by an administrator, with its source."""

    __tablename__ = "calendar_arrangements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    document_no: Mapped[str] = mapped_column(String(100))
    published_on: Mapped[date] = mapped_column(Date)
    # ISO dates; names maps a holiday's name (元旦, 春节 …) to its ISO dates
    holidays: Mapped[list] = mapped_column(JSON, default=list)
    workdays: Mapped[list] = mapped_column(JSON, default=list)
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
