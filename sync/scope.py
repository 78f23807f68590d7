"""What each tablet sees: dossier summaries of its inspector's assigned customers, the capture
schemas, and the review outcomes of its own captures.

Dossier summaries enter an inspector's feed scope when a customer is assigned (upsert), leave
it when the assignment ends (delete = tombstone), and are published again whenever the
customer's master data changes, whoever changes it: a session hook watches every flush.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import Assignment, Customer, Dossier
from sync import feed

DOSSIER = "dossier"
SCHEMA = "schema"
REVIEW = "review"

# Master data a tablet needs on site to find the customer and check what it sees against the
# dossier; identity-card numbers stay on the server.
SUMMARY_FIELDS = (
    "account_no",
    "name",
    "phone",
    "address",
    "district",
    "latitude",
    "longitude",
    "voltage_class",
    "usage_category",
    "supply_voltage",
    "supply_line",
    "capacity_kva",
    "property_boundary",
    "source_count",
    "metering_point",
    "metering_method",
    "meter_number",
    "ct_ratio",
    "pt_ratio",
    "status",
)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dossier_summary(customer: Customer, archive_no: str | None) -> dict:
    """The dossier summary a tablet stores for one assigned customer."""
    summary = {name: _plain(getattr(customer, name)) for name in SUMMARY_FIELDS}
    summary["archive_no"] = archive_no
    return summary


def archive_no_of(session: Session, customer_id: int) -> str | None:
    """The archive number of a customer's dossier (None before the dossier exists)."""
    with session.no_autoflush:
        return session.scalar(select(Dossier.archive_no).where(Dossier.customer_id == customer_id))


def active_inspectors(session: Session, customer_id: int) -> list[int]:
    """Ids of the inspectors the customer is currently assigned to."""
    with session.no_autoflush:
        return list(
            session.scalars(
                select(Assignment.inspector_id).where(
                    Assignment.customer_id == customer_id, Assignment.ended_at.is_(None)
                )
            )
        )


def publish_dossier(session: Session, inspector_id: int, customer: Customer, now: datetime | None = None) -> None:
    """Send (or resend) a dossier summary to one inspector's tablets."""
    feed.publish(
        session,
        feed.inspector_scope(inspector_id),
        DOSSIER,
        customer.account_no,
        "upsert",
        dossier_summary(customer, archive_no_of(session, customer.id)),
        now=now,
    )


def withdraw_dossier(session: Session, inspector_id: int, customer: Customer, now: datetime | None = None) -> None:
    """Tell one inspector's tablets to drop a dossier summary (tombstone)."""
    feed.publish(
        session,
        feed.inspector_scope(inspector_id),
        DOSSIER,
        customer.account_no,
        "delete",
        {"account_no": customer.account_no},
        now=now,
    )


def _customers_changed(session: Session, _context, _instances) -> None:
    """Flush hook: republish changed customers to the inspectors they are assigned to."""
    changed = [
        obj
        for obj in session.dirty
        if isinstance(obj, Customer) and obj.id is not None and session.is_modified(obj, include_collections=False)
    ]
    with session.no_autoflush:
        for customer in changed:
            for inspector_id in active_inspectors(session, customer.id):
                publish_dossier(session, inspector_id, customer)


if not event.contains(Session, "before_flush", _customers_changed):
    event.listen(Session, "before_flush", _customers_changed)
