"""Customers (master data from the marketing system), their dossiers and the dossier index."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

VOLTAGE_CLASSES = {"high": "高压", "low": "低压"}
USAGE_CATEGORIES = {
    "residential": "居民生活用电",
    "general_industrial_commercial": "一般工商业用电",
    "large_industrial": "大工业用电",
    "agricultural": "农业生产用电",
    "other": "其他",
}
CUSTOMER_STATUSES = {"active": "正常", "closed": "已销户"}


class Customer(Base):
    """One customer of the power-supply company, keyed by account number (户号)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(400))
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    voltage_class: Mapped[str] = mapped_column(String(8), index=True)
    usage_category: Mapped[str] = mapped_column(String(40))
    # 电源信息
    supply_voltage: Mapped[str | None] = mapped_column(String(16))
    supply_line: Mapped[str | None] = mapped_column(String(100))
    capacity_kva: Mapped[float | None] = mapped_column(Numeric(12, 2))
    property_boundary: Mapped[str | None] = mapped_column(String(200))
    source_count: Mapped[int | None] = mapped_column(Integer)
    # 计量信息
    metering_point: Mapped[str | None] = mapped_column(String(100))
    metering_method: Mapped[str | None] = mapped_column(String(40))
    meter_number: Mapped[str | None] = mapped_column(String(40), index=True)
    ct_ratio: Mapped[str | None] = mapped_column(String(20))
    pt_ratio: Mapped[str | None] = mapped_column(String(20))

    status: Mapped[str] = mapped_column(String(8), default="active", index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    dossier: Mapped["Dossier"] = relationship(back_populates="customer", uselist=False)


class Dossier(Base):
    """The customer dossier (客户档案): exactly one per customer, with a stable archive number."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    archive_no: Mapped[str] = mapped_column(String(32), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="dossier")
    items: Mapped[list["DossierItem"]] = relationship(back_populates="dossier", order_by="DossierItem.seq")


class BusinessEvent(Base):
    """A business event of a customer (业扩报装, 增容, 更名过户, 销户 …); documents link to it."""

    __tablename__ = "business_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DossierItem(Base):
    """An entry of the dossier index (卷内目录); entries are appended, never replaced."""

    __tablename__ = "dossier_items"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    doc_type: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    doc_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # capture | manual | import
    pages: Mapped[int | None] = mapped_column(Integer)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), index=True)
    business_event_id: Mapped[int | None] = mapped_column(ForeignKey("business_events.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    # kept | destroyed (models.captures.RECORD_STATES); the entry stays in the index
    record_state: Mapped[str] = mapped_column(String(10), default="kept", server_default="kept")
    destruction_record_id: Mapped[int | None] = mapped_column(ForeignKey("destruction_records.id"))

    dossier: Mapped[Dossier] = relationship(back_populates="items")


class Counter(Base):
    """A named, monotonically increasing counter (archive numbers); bumped under a row lock."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
