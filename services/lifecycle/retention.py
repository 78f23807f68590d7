"""Retention of closed accounts (销户) and legal holds.

A closed customer's dossier is set apart with its closing date; it may not be destroyed within
5 years (high voltage) or 3 years (low voltage) of closing. ``eligibility_date`` is the first
day destruction is allowed: the same calendar day N years later (29 February → 1 March).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Customer, Dossier, DossierItem, LegalHold, RetentionState, audit
from services.lifecycle import destruction, obligations
from services.lifecycle.common import actor_user_id, customer_by_account
from services.lifecycle.settings import LifecycleSettings
from services.unit_of_work import transaction


def eligibility_date(closed_on: date, years: int) -> date:
    """First day a dossier closed on ``closed_on`` may be destroyed after ``years`` of retention."""
    try:
        return closed_on.replace(year=closed_on.year + years)
    except ValueError:  # 29 February into a common year: the period ends with 28 February
        return date(closed_on.year + years, 2, 28) + timedelta(days=1)


def retention_years(voltage_class: str, settings: LifecycleSettings) -> int:
    """The retention period in years for a voltage class (high 5, low 3 by default)."""
    return int(settings.retention_years[voltage_class])


def is_eligible(closed_on: date, voltage_class: str, today: date, settings: LifecycleSettings) -> bool:
    """True once the retention period of a closed dossier has run out on ``today``."""
    return today >= eligibility_date(closed_on, retention_years(voltage_class, settings))


def _track(
    session: Session, actor: Actor, customer: Customer, now: datetime, settings: LifecycleSettings
) -> RetentionState:
    assert customer.closed_on is not None
    years = retention_years(customer.voltage_class, settings)
    eligible_on = eligibility_date(customer.closed_on, years)
    state = session.scalar(select(RetentionState).where(RetentionState.customer_id == customer.id))
    if state is None:
        state = RetentionState(
            customer_id=customer.id, closed_on=customer.closed_on, retention_years=years, eligible_on=eligible_on
        )
        session.add(state)
        audit.record(
            session,
            actor,
            "retention.track",
            "customer",
            customer.account_no,
            {"closed_on": customer.closed_on.isoformat(), "years": years, "eligible_on": eligible_on.isoformat()},
            at=now,
        )
    elif state.destroyed_at is None and (state.closed_on, state.retention_years) != (customer.closed_on, years):
        audit.record(
            session,
            actor,
            "retention.update",
            "customer",
            customer.account_no,
            {
                "closed_on": [state.closed_on.isoformat(), customer.closed_on.isoformat()],
                "years": [state.retention_years, years],
                "eligible_on": [state.eligible_on.isoformat(), eligible_on.isoformat()],
            },
            at=now,
        )
        state.closed_on, state.retention_years, state.eligible_on = customer.closed_on, years, eligible_on
    return state


def close_customer(
    session: Session, actor: Actor, customer: Customer, closed_on: date, now: datetime, settings: LifecycleSettings
) -> RetentionState:
    """Mark a customer closed on ``closed_on`` and set its dossier apart for retention."""
    customer.status = "closed"
    customer.closed_on = closed_on
    audit.record(
        session, actor, "customer.close", "customer", customer.account_no, {"closed_on": closed_on.isoformat()}, at=now
    )
    session.flush()
    return _track(session, actor, customer, now, settings)


@transaction
def close_account(
    session: Session,
    actor: Actor,
    account_no: str,
    closed_on: date,
    today: date,
    now: datetime,
    settings: LifecycleSettings,
    reference: str | None = None,
    responsible: str | None = None,
) -> RetentionState:
    """Close an account (销户): records the closure event, its filing obligation and the retention."""

    customer = customer_by_account(session, account_no)
    if customer.status == "closed":
        raise errors.DomainError(
            errors.ALREADY_CLOSED,
            details={
                "account_no": customer.account_no,
                "closed_on": customer.closed_on.isoformat() if customer.closed_on else None,
            },
        )
    if closed_on > today:
        raise errors.DomainError(errors.BAD_CLOSING_DATE, details={"closed_on": closed_on.isoformat()})
    obligations.record_event(
        session,
        actor,
        account_no=customer.account_no,
        kind="account_closure",
        occurred_on=closed_on,
        today=today,
        now=now,
        settings=settings,
        reference=reference,
        responsible=responsible,
    )
    state = session.scalar(select(RetentionState).where(RetentionState.customer_id == customer.id))
    assert state is not None
    return state


def sweep(session: Session, actor: Actor, today: date, now: datetime, settings: LifecycleSettings) -> dict:
    """Track every closed customer (also those closed by import) and count who is eligible today."""
    tracked = 0
    for customer in session.scalars(
        select(Customer).where(Customer.status == "closed").where(Customer.closed_on.is_not(None))
    ):
        state = _track(session, actor, customer, now, settings)
        state.swept_at = now
        tracked += 1
    session.flush()
    eligible = session.scalar(
        select(func.count())
        .select_from(RetentionState)
        .where(RetentionState.eligible_on <= today)
        .where(RetentionState.destroyed_at.is_(None))
    )
    return {"tracked": tracked, "eligible": eligible, "today": today.isoformat()}


@dataclass
class RetentionRow:
    """A closed dossier in retention, as listed for archivists."""

    state: RetentionState
    customer: Customer
    archive_no: str
    holds: int
    today: date

    @property
    def eligible(self) -> bool:
        """Whether the dossier may be put on a disposal list (ignoring holds)."""
        return self.today >= self.state.eligible_on and self.state.destroyed_at is None


def list_retention(
    session: Session, today: date, *, only_eligible: bool = False, page: int = 1, per_page: int = 50
) -> tuple[list[RetentionRow], int]:
    """A page of closed dossiers in retention (soonest eligible first) and the total."""
    holds = (
        select(LegalHold.customer_id, func.count().label("n"))
        .where(LegalHold.lifted_at.is_(None))
        .group_by(LegalHold.customer_id)
        .subquery()
    )
    query = (
        select(RetentionState, Customer, Dossier.archive_no, func.coalesce(holds.c.n, 0))
        .join(Customer, RetentionState.customer_id == Customer.id)
        .join(Dossier, Dossier.customer_id == Customer.id)
        .outerjoin(holds, holds.c.customer_id == Customer.id)
    )
    if only_eligible:
        query = query.where(RetentionState.eligible_on <= today, RetentionState.destroyed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = []
    for state, customer, archive_no, n in session.execute(
        query.order_by(RetentionState.destroyed_at.is_not(None), RetentionState.eligible_on, Customer.account_no)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ):
        rows.append(RetentionRow(state, customer, archive_no, n, today))
    return rows, total


# --- legal holds ---------------------------------------------------------------------------


@transaction
def place_hold(
    session: Session, actor: Actor, account_no: str, reason: str, now: datetime, item_seq: int | None = None
) -> LegalHold:
    """Put a legal hold on a customer (or one item of its dossier, by sequence number)."""
    customer = customer_by_account(session, account_no)
    reason = (reason or "").strip()
    if not reason:
        raise errors.DomainError(
            errors.VALIDATION_FAILED, "A legal hold needs a reason.", details={"fields": {"reason": ["required"]}}
        )
    record = destruction.record_of_customer(session, customer.id)
    if record is not None:
        raise errors.DomainError(
            errors.HOLD_CUSTOMER_DESTROYED,
            details={
                "account_no": customer.account_no,
                **(destruction.record_label(record.id, record.executed_at) or {}),
            },
        )
    item_id = None
    if item_seq is not None:
        item = session.scalar(
            select(DossierItem)
            .join(Dossier, DossierItem.dossier_id == Dossier.id)
            .where(Dossier.customer_id == customer.id, DossierItem.seq == item_seq)
        )
        if item is None:
            raise errors.DomainError(
                errors.HOLD_UNKNOWN_ITEM, details={"account_no": customer.account_no, "item_seq": item_seq}
            )
        item_id = item.id
    hold = LegalHold(
        customer_id=customer.id,
        dossier_item_id=item_id,
        reason=reason[:2000],
        placed_by_id=actor_user_id(actor),
        placed_at=now,
    )
    session.add(hold)
    session.flush()
    audit.record(
        session,
        actor,
        "hold.place",
        "customer",
        customer.account_no,
        {"hold_id": hold.id, "item_seq": item_seq, "reason": hold.reason},
        at=now,
    )
    return hold


@transaction
def lift_hold(session: Session, actor: Actor, hold_id: int, reason: str, now: datetime) -> LegalHold:
    """Lift a legal hold (kept on record with who lifted it and why)."""
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise errors.DomainError(errors.UNKNOWN_HOLD, details={"hold_id": hold_id})
    if hold.lifted_at is not None:
        raise errors.DomainError(
            errors.HOLD_LIFTED, details={"hold_id": hold_id, "lifted_at": hold.lifted_at.isoformat()}
        )
    hold.lifted_at = now
    hold.lifted_by_id = actor_user_id(actor)
    hold.lift_reason = (reason or "").strip()[:2000] or None
    customer = session.get(Customer, hold.customer_id)
    assert customer is not None
    audit.record(
        session,
        actor,
        "hold.lift",
        "customer",
        customer.account_no,
        {"hold_id": hold.id, "reason": hold.lift_reason},
        at=now,
    )
    return hold


def active_holds(session: Session, customer_id: int | None = None) -> list[LegalHold]:
    """Holds not lifted yet (of one customer, or all)."""
    query = select(LegalHold).where(LegalHold.lifted_at.is_(None)).order_by(LegalHold.placed_at)
    if customer_id is not None:
        query = query.where(LegalHold.customer_id == customer_id)
    return list(session.scalars(query))
