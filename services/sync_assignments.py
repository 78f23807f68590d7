"""Use case: assign customers to inspectors (and end assignments); their tablets follow.

Assigning publishes the dossier summary into the inspector's feed scope (an upsert on the next
pull); ending an assignment publishes a tombstone, so the summary leaves the tablets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Assignment, Customer, User, audit
from services import accounts
from services.customers import check_account_no
from services.unit_of_work import transaction
from sync import scope


def _inspector(session: Session, username: str) -> User:
    user = accounts.get_user(session, username)
    if user.role != "inspector":
        raise errors.DomainError(
            errors.ASSIGNMENT_NOT_INSPECTOR, f"{username!r} has role {user.role!r}, not inspector."
        )
    return user


def _customers(session: Session, account_nos: list[str]) -> list[Customer]:
    found = []
    for account_no in dict.fromkeys(check_account_no(a) for a in account_nos):
        customer = session.scalar(select(Customer).where(Customer.account_no == account_no))
        if customer is None:
            raise errors.DomainError(
                errors.UNKNOWN_CUSTOMER, f"No customer with 户号 {account_no}.", {"account_no": account_no}
            )
        found.append(customer)
    return found


def _active(session: Session, inspector_id: int, customer_id: int) -> Assignment | None:
    return session.scalar(
        select(Assignment).where(
            Assignment.inspector_id == inspector_id,
            Assignment.customer_id == customer_id,
            Assignment.ended_at.is_(None),
        )
    )


@transaction
def assign(session: Session, actor: Actor, inspector_username: str, account_nos: list[str], now: datetime) -> dict:
    """Assign customers to an inspector; already assigned ones are left as they are."""
    inspector = _inspector(session, inspector_username)
    added, kept = [], []
    for customer in _customers(session, account_nos):
        if _active(session, inspector.id, customer.id) is not None:
            kept.append(customer.account_no)
            continue
        session.add(Assignment(inspector_id=inspector.id, customer_id=customer.id, started_at=now))
        scope.publish_dossier(session, inspector.id, customer, now)
        audit.record(
            session,
            actor,
            "assignment.start",
            "customer",
            customer.account_no,
            {"inspector": inspector.username},
            at=now,
        )
        added.append(customer.account_no)
    return {"inspector": inspector.username, "assigned": added, "already_assigned": kept}


@transaction
def unassign(session: Session, actor: Actor, inspector_username: str, account_nos: list[str], now: datetime) -> dict:
    """End assignments; the customers' summaries are withdrawn from the inspector's tablets."""
    inspector = _inspector(session, inspector_username)
    ended, absent = [], []
    for customer in _customers(session, account_nos):
        assignment = _active(session, inspector.id, customer.id)
        if assignment is None:
            absent.append(customer.account_no)
            continue
        assignment.ended_at = now
        scope.withdraw_dossier(session, inspector.id, customer, now)
        audit.record(
            session, actor, "assignment.end", "customer", customer.account_no, {"inspector": inspector.username}, at=now
        )
        ended.append(customer.account_no)
    return {"inspector": inspector.username, "unassigned": ended, "not_assigned": absent}


def assigned_account_nos(session: Session, inspector_username: str) -> list[str]:
    """户号 of the customers currently assigned to an inspector, sorted."""
    inspector = _inspector(session, inspector_username)
    return sorted(
        session.scalars(
            select(Customer.account_no)
            .join(Assignment, Assignment.customer_id == Customer.id)
            .where(Assignment.inspector_id == inspector.id, Assignment.ended_at.is_(None))
        )
    )
