"""Customers and their dossiers: validation of master data, upsert by 户号, archive numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Counter, Customer, Dossier, audit
from models.customers import CUSTOMER_STATUSES, USAGE_CATEGORIES, VOLTAGE_CLASSES

ACCOUNT_NO = re.compile(r"^[0-9]{6,20}$")
ARCHIVE_COUNTER = "archive_no"

# Field name → accepted column headers of marketing-system exports (first is the canonical one).
COLUMNS: dict[str, tuple[str, ...]] = {
    "account_no": ("户号", "account_no", "客户编号", "用户编号"),
    "name": ("户名", "name", "客户名称", "用户名称"),
    "phone": ("联系电话", "phone", "电话", "手机号码"),
    "id_number": ("证件号码", "id_number", "身份证号"),
    "address": ("用电地址", "address", "地址"),
    "district": ("供电单位", "district", "供电所", "区域"),
    "latitude": ("纬度", "latitude"),
    "longitude": ("经度", "longitude"),
    "voltage_class": ("客户分类", "voltage_class", "高低压"),
    "usage_category": ("用电类别", "usage_category"),
    "supply_voltage": ("供电电压", "supply_voltage"),
    "supply_line": ("供电线路", "supply_line"),
    "capacity_kva": ("合同容量", "capacity_kva", "容量"),
    "property_boundary": ("产权分界点", "property_boundary"),
    "source_count": ("电源数目", "source_count"),
    "metering_point": ("计量点", "metering_point"),
    "metering_method": ("计量方式", "metering_method"),
    "meter_number": ("电能表表号", "meter_number", "表号"),
    "ct_ratio": ("电流互感器变比", "ct_ratio", "CT变比"),
    "pt_ratio": ("电压互感器变比", "pt_ratio", "PT变比"),
    "status": ("状态", "status", "用户状态"),
    "closed_on": ("销户日期", "closed_on"),
}
REQUIRED = ("account_no", "name", "voltage_class", "usage_category")
_LENGTHS = {
    "name": 200,
    "phone": 32,
    "id_number": 32,
    "address": 400,
    "district": 64,
    "supply_voltage": 16,
    "supply_line": 100,
    "property_boundary": 200,
    "metering_point": 100,
    "metering_method": 40,
    "meter_number": 40,
    "ct_ratio": 20,
    "pt_ratio": 20,
}
_RATIO = re.compile(r"^\d+(\.\d+)?/\d+(\.\d+)?$")


class RowError(ValueError):
    """A field of an import row is invalid."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _choice(value: str, field: str, table: dict[str, str]) -> str:
    if value in table:
        return value
    for key, label in table.items():
        if value == label or value == label.removesuffix("用电"):
            return key
    raise RowError(field, f"{value!r} is not one of {', '.join(table.values())}")


def check_account_no(value: str) -> str:
    """Return a valid 户号 (6–20 digits) or raise ``customer.invalid_account_no``."""
    value = (value or "").strip()
    if not ACCOUNT_NO.match(value):
        raise errors.DomainError(
            errors.INVALID_ACCOUNT_NO,
            f"Invalid account number {value!r}: expected 6–20 digits.",
            details={"account_no": value},
        )
    return value


def clean_row(raw: Mapping[str, object]) -> dict:
    """Validate one master-data row given by field name; return typed values or raise RowError."""
    row = {k: (str(v).strip() if v is not None else "") for k, v in raw.items()}
    for field in REQUIRED:
        if not row.get(field):
            raise RowError(field, "required value is empty")
    out: dict = {}
    if not ACCOUNT_NO.match(row["account_no"]):
        raise RowError("account_no", f"{row['account_no']!r} is not 6–20 digits")
    out["account_no"] = row["account_no"]
    for field, limit in _LENGTHS.items():
        value = row.get(field, "")
        if len(value) > limit:
            raise RowError(field, f"longer than {limit} characters")
        out[field] = value or None
    out["voltage_class"] = _choice(row["voltage_class"], "voltage_class", VOLTAGE_CLASSES)
    out["usage_category"] = _choice(row["usage_category"], "usage_category", USAGE_CATEGORIES)
    out["status"] = _choice(row.get("status") or "active", "status", CUSTOMER_STATUSES)
    for field, lo, hi in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = row.get(field, "")
        if value:
            try:
                number = float(value)
            except ValueError:
                raise RowError(field, f"{value!r} is not a number") from None
            if not lo <= number <= hi:
                raise RowError(field, f"{value} is outside {lo}…{hi}")
            out[field] = number
        else:
            out[field] = None
    capacity = row.get("capacity_kva", "")
    try:
        out["capacity_kva"] = Decimal(capacity).quantize(Decimal("0.01")) if capacity else None
    except InvalidOperation:
        raise RowError("capacity_kva", f"{capacity!r} is not a number") from None
    if out["capacity_kva"] is not None and out["capacity_kva"] < 0:
        raise RowError("capacity_kva", "must not be negative")
    sources = row.get("source_count", "")
    if sources and not sources.isdigit():
        raise RowError("source_count", f"{sources!r} is not a whole number")
    out["source_count"] = int(sources) if sources else None
    for field in ("ct_ratio", "pt_ratio"):
        if out[field] and not _RATIO.match(out[field]):
            raise RowError(field, f"{out[field]!r} is not a ratio like 200/5")
    closed = row.get("closed_on", "")
    try:
        out["closed_on"] = date.fromisoformat(closed.replace("/", "-")[:10]) if closed else None
    except ValueError:
        raise RowError("closed_on", f"{closed!r} is not a date (YYYY-MM-DD)") from None
    if out["status"] == "closed" and out["closed_on"] is None:
        raise RowError("closed_on", "a closed account needs its closing date")
    return out


def next_archive_no(session: Session, opened: datetime) -> str:
    """Allocate the next archive number (档案号): ``KH-<opening year>-<6-digit serial>``.

    The serial comes from one counter bumped under a row lock, so numbers are unique across
    processes. Nothing about the customer's business goes into the number, so no later change
    (增容, 更名过户, 迁址, class or category changes) can make it wrong; it is never recomputed.
    """
    value = session.execute(
        update(Counter).where(Counter.name == ARCHIVE_COUNTER).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
    return f"KH-{opened.year}-{value:06d}"


def upsert_customer(session: Session, actor: Actor, values: dict, now: datetime) -> str:
    """Create or update a customer from clean values; return 'created', 'updated' or 'unchanged'."""
    customer = session.scalar(select(Customer).where(Customer.account_no == values["account_no"]))
    if customer is None:
        customer = Customer(**values)
        session.add(customer)
        session.flush()
        session.add(Dossier(customer_id=customer.id, archive_no=next_archive_no(session, now), opened_at=now))
        audit.record(session, actor, "customer.create", "customer", customer.account_no)
        return "created"
    changed = {k: v for k, v in values.items() if _differs(getattr(customer, k), v)}
    if not changed:
        return "unchanged"
    for key, value in changed.items():
        setattr(customer, key, value)
    audit.record(session, actor, "customer.update", "customer", customer.account_no, {"fields": sorted(changed)})
    return "updated"


def _differs(old, new) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return (None if old is None else Decimal(old)) != (None if new is None else Decimal(new))
    return old != new


def find_customer(session: Session, account_no: str) -> Customer | None:
    """Return the customer with this 户号, or None."""
    return session.scalar(select(Customer).where(Customer.account_no == account_no))
