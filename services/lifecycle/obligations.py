"""Business events and the filing obligations they open (归档期限).

Every business event opens one obligation: file the event's required documents within N
working days. It is met once the dossier holds every required document type filed under the
event (for 业扩报装 also documents filed under no event), on the date the last one was filed.
Met is final (documents are appended, never removed); the other states move with the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from core.states import ReviewState
from models import AuditEntry, BusinessEvent, Capture, Customer, Dossier, DossierItem, FilingObligation, User, audit
from services import filing_scope
from services.lifecycle import calendar_arrangements, retention, working_days
from services.lifecycle.common import customer_by_account, local_date, user_by_name
from services.lifecycle.settings import EVENT_KINDS, EVENT_LABELS, LifecycleSettings
from services.unit_of_work import transaction

FINAL_STATES = ("met", "met_late")


def event_kind(value: str) -> str:
    """Return the event kind code for a code or its 中文名, or raise ``lifecycle.unknown_event_kind``."""
    value = (value or "").strip()
    if value in EVENT_KINDS:
        return value
    for kind, label in EVENT_LABELS.items():
        if value == label:
            return kind
    raise errors.DomainError(
        errors.UNKNOWN_EVENT_KIND,
        f"Unknown business event kind {value!r}.",
        details={"kind": value, "allowed": sorted(EVENT_KINDS)},
    )


def required_documents(voltage_class: str, kind: str, settings: LifecycleSettings) -> list[str]:
    """Document types an event of this kind requires filed, from the settings or the filing scope."""
    if kind in settings.required_docs:
        return list(settings.required_docs[kind])

    return list(filing_scope.current().required_for(voltage_class, kind))


def doc_type_matches(stored: str | None, wanted: str) -> bool:
    """True if a dossier item's ``doc_type`` (code or 中文名) is the wanted document type."""
    if not stored:
        return False

    stored = stored.strip()
    return stored == wanted or stored == filing_scope.current().doc_types.get(wanted)


def due_date(
    opened_on: date, days: int, calendar: working_days.WorkingCalendar = working_days.DEFAULT
) -> tuple[date | None, str | None, bool]:
    """(due date, None, provisional) or (None, reason, False) when no calendar covers the dates."""
    try:
        due = calendar.due(opened_on, days)
    except errors.DomainError as exc:
        if exc.code != errors.CALENDAR_OUT_OF_COVERAGE.code:
            raise
        return None, exc.message, False
    return due.due_on, None, due.provisional


def state_for(
    due_on: date | None,
    met_on: date | None,
    today: date,
    due_soon_days: int,
    calendar: working_days.WorkingCalendar = working_days.DEFAULT,
) -> str:
    """The obligation state from its due date, the date it was met (if) and today."""
    if met_on is not None:
        return "met" if due_on is None or met_on <= due_on else "met_late"
    if due_on is None:
        return "no_calendar"
    if today > due_on:
        return "overdue"
    try:
        left = calendar.working_days_between(today, due_on)
    except errors.DomainError:
        left = (due_on - today).days  # today outside the calendar: calendar days are the safe side
    return "due_soon" if left <= due_soon_days else "open"


@dataclass
class RecordedEvent:
    """Outcome of recording a business event."""

    event: BusinessEvent
    obligation: FilingObligation
    created: bool


@transaction
def record_event(
    session: Session,
    actor: Actor,
    *,
    account_no: str,
    kind: str,
    occurred_on: date,
    today: date,
    now: datetime,
    settings: LifecycleSettings,
    reference: str | None = None,
    note: str | None = None,
    responsible: str | None = None,
    source: str = "manual",
) -> RecordedEvent:
    """Record a business event and open its filing obligation; a repeated reference is a no-op."""
    kind = event_kind(kind)
    customer = customer_by_account(session, account_no)
    if occurred_on > today:
        raise errors.DomainError(
            errors.EVENT_IN_FUTURE, details={"occurred_on": occurred_on.isoformat(), "today": today.isoformat()}
        )
    responsible_user = user_by_name(session, responsible)
    reference = (reference or "").strip() or None
    if reference:
        existing = session.scalar(
            select(BusinessEvent).where(
                BusinessEvent.customer_id == customer.id,
                BusinessEvent.kind == kind,
                BusinessEvent.reference == reference,
            )
        )
        if existing is not None:
            obligation = session.scalar(
                select(FilingObligation).where(FilingObligation.business_event_id == existing.id)
            )
            assert obligation is not None
            return RecordedEvent(existing, obligation, False)
    event = BusinessEvent(
        customer_id=customer.id,
        kind=kind,
        occurred_on=occurred_on,
        reference=reference,
        note=(note or "").strip() or None,
        source=source,
        created_at=now,
    )
    session.add(event)
    session.flush()
    days = int(settings.deadline_days[kind])
    calendar = calendar_arrangements.current(session)
    due_on, calendar_error, provisional = due_date(occurred_on, days, calendar)
    obligation = FilingObligation(
        business_event_id=event.id,
        customer_id=customer.id,
        kind=kind,
        opened_on=occurred_on,
        working_days=days,
        due_on=due_on,
        calendar_error=calendar_error,
        provisional=provisional,
        required_doc_types=required_documents(customer.voltage_class, kind, settings),
        responsible_id=responsible_user.id if responsible_user else None,
        state="open",
        created_at=now,
    )
    session.add(obligation)
    session.flush()
    audit.record(
        session,
        actor,
        "business_event.record",
        "customer",
        customer.account_no,
        {
            "event_id": event.id,
            "kind": kind,
            "occurred_on": occurred_on.isoformat(),
            "source": source,
            "reference": reference,
            "due_on": due_on.isoformat() if due_on else None,
            "calendar_error": calendar_error,
            "provisional": provisional,
        },
        at=now,
    )
    evaluate(session, actor, obligation, today, now, settings, calendar)
    if kind == "account_closure" and customer.status != "closed":
        retention.close_customer(session, actor, customer, occurred_on, now, settings)
    return RecordedEvent(event, obligation, True)


def _met_on(session: Session, obligation: FilingObligation) -> date | None:
    """The date the last required document arrived, or None while one is missing.

    Counting follows the filing scope table's completeness rule, so the deadlines and the
    dossier page agree: a document counts for the event it was filed under; documents filed
    under no event count for the base business (业扩报装) only.
    """

    required = obligation.required_doc_types or []
    if not required:
        return obligation.opened_on
    linked = DossierItem.business_event_id == obligation.business_event_id
    if obligation.kind == filing_scope.current().base_business_type:
        linked = linked | DossierItem.business_event_id.is_(None)
    items = session.scalars(
        select(DossierItem)
        .join(Dossier, DossierItem.dossier_id == Dossier.id)
        .where(Dossier.customer_id == obligation.customer_id)
        .where(linked)
        .order_by(DossierItem.filed_at)
    ).all()
    latest: date | None = None
    for wanted in required:
        found = next((local_date(i.filed_at) for i in items if doc_type_matches(i.doc_type, wanted)), None)
        if found is None:
            return None
        latest = found if latest is None else max(latest, found)
    return latest


def evaluate(
    session: Session,
    actor: Actor,
    obligation: FilingObligation,
    today: date,
    now: datetime,
    settings: LifecycleSettings,
    calendar: working_days.WorkingCalendar | None = None,
) -> str:
    """Recompute one obligation's state (audited when it changes); return the state.

    A missing or provisional (暂定) due date is computed again on the calendar in use; a change of
    the due date or of its provisional flag is recorded in the audit log (``obligation.due_recomputed``).
    """
    if calendar is None:
        calendar = calendar_arrangements.current(session)
    if obligation.due_on is None or obligation.provisional:
        before = (obligation.due_on, bool(obligation.provisional))
        obligation.due_on, obligation.calendar_error, obligation.provisional = due_date(
            obligation.opened_on, obligation.working_days, calendar
        )
        if before[0] is not None and before != (obligation.due_on, obligation.provisional):
            basis = (
                {
                    str(year): calendar.basis(year)
                    for year in range(obligation.opened_on.year, obligation.due_on.year + 1)
                }
                if obligation.due_on
                else {}
            )
            sources = [
                {"year": a.year, "document_no": a.document_no, "published_on": a.published_on.isoformat()}
                for year, a in sorted(calendar.arrangements.items())
                if str(year) in basis
            ]
            audit.record(
                session,
                actor,
                "obligation.due_recomputed",
                "obligation",
                obligation.id,
                {
                    "from": before[0].isoformat(),
                    "to": obligation.due_on.isoformat() if obligation.due_on else None,
                    "was_provisional": before[1],
                    "provisional": obligation.provisional,
                    "calendar": basis,
                    "sources": sources,
                },
                at=now,
            )
    if obligation.state not in FINAL_STATES:
        obligation.met_on = _met_on(session, obligation)
    new_state = state_for(obligation.due_on, obligation.met_on, today, settings.due_soon_working_days, calendar)
    obligation.computed_at = now
    if new_state != obligation.state:
        audit.record(
            session,
            actor,
            "obligation.state",
            "obligation",
            obligation.id,
            {
                "from": obligation.state,
                "to": new_state,
                "met_on": obligation.met_on.isoformat() if obligation.met_on else None,
            },
            at=now,
        )
        obligation.state = new_state
    return new_state


def recompute_all(session: Session, actor: Actor, today: date, now: datetime, settings: LifecycleSettings) -> dict:
    """Recompute every obligation that is not met yet or has a provisional due date;
    return counts per state (idempotent)."""
    calendar = calendar_arrangements.current(session)
    open_ids = session.scalars(
        select(FilingObligation.id).where(
            FilingObligation.state.not_in(FINAL_STATES) | FilingObligation.provisional.is_(True)
        )
    ).all()
    changed = 0
    for start in range(0, len(open_ids), 500):
        for obligation in session.scalars(
            select(FilingObligation).where(FilingObligation.id.in_(open_ids[start : start + 500]))
        ):
            before = (obligation.state, obligation.due_on)
            if (evaluate(session, actor, obligation, today, now, settings, calendar), obligation.due_on) != before:
                changed += 1
    counts = dict(
        session.execute(select(FilingObligation.state, func.count()).group_by(FilingObligation.state)).tuples().all()
    )
    provisional = session.scalar(
        select(func.count()).select_from(FilingObligation).where(FilingObligation.provisional.is_(True))
    )
    return {
        "checked": len(open_ids),
        "changed": changed,
        "states": counts,
        "provisional": provisional,
        "today": today.isoformat(),
    }


@transaction
def load_arrangement(
    session: Session,
    actor: Actor,
    arrangement: working_days.Arrangement,
    today: date,
    now: datetime,
    settings: LifecycleSettings,
) -> dict:
    """Record a year's holiday arrangement and recompute every provisional deadline on it."""
    calendar_arrangements.store(session, actor, arrangement, now)
    result = recompute_all(session, actor, today, now, settings)
    return {
        "year": arrangement.year,
        "document_no": arrangement.document_no,
        "published_on": arrangement.published_on.isoformat(),
        "recomputed": result,
    }


def record_events_from_capture(
    session: Session, actor: Actor, capture_id: str, today: date, now: datetime, settings: LifecycleSettings
) -> RecordedEvent | None:
    """Record the business event a capture names (form field ``business_event``); idempotent.

    The event date is the form's ``business_event_date`` if given, else the capture's device
    date; the reference ``capture:<id>`` makes repeated calls record it once.
    """
    capture = session.get(Capture, capture_id)
    if capture is None or capture.customer_id is None or not capture.revisions:
        return None
    payload = capture.revisions[-1].payload or {}
    named = payload.get("business_event") or payload.get("business_event_kind")
    if not named:
        return None
    try:
        kind = event_kind(str(named))
    except errors.DomainError:
        return None
    occurred = payload.get("business_event_date")
    try:
        occurred_on = (
            date.fromisoformat(str(occurred)[:10])
            if occurred
            else local_date(capture.device_created_at or capture.received_at)
        )
    except ValueError:
        occurred_on = local_date(capture.device_created_at or capture.received_at)
    customer = session.get(Customer, capture.customer_id)
    assert customer is not None
    return record_event(
        session,
        actor,
        account_no=customer.account_no,
        kind=kind,
        occurred_on=min(occurred_on, today),
        today=today,
        now=now,
        settings=settings,
        reference=f"capture:{capture.id}",
        source="capture",
    )


def events_from_approved_captures(
    session: Session, actor: Actor, today: date, now: datetime, settings: LifecycleSettings
) -> int:
    """Record events named by approved captures that have none yet; return how many were added."""
    known = {ref for ref in session.scalars(select(BusinessEvent.reference).where(BusinessEvent.source == "capture"))}
    added = 0
    for capture_id in session.scalars(
        select(Capture.id).where(Capture.review_state == ReviewState.APPROVED).where(Capture.customer_id.is_not(None))
    ):
        if f"capture:{capture_id}" in known:
            continue
        outcome = record_events_from_capture(session, actor, capture_id, today, now, settings)
        if outcome is not None and outcome.created:
            added += 1
    return added


@dataclass
class ObligationRow:
    """One line of the deadlines list."""

    obligation: FilingObligation
    customer: Customer
    responsible: User | None
    event: BusinessEvent


def list_obligations(
    session: Session,
    *,
    states: tuple[str, ...] | None = None,
    district: str | None = None,
    responsible_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[ObligationRow], int]:
    """A page of obligations (most urgent first) and the total matching."""
    query = (
        select(FilingObligation, Customer, User, BusinessEvent)
        .join(Customer, FilingObligation.customer_id == Customer.id)
        .join(BusinessEvent, FilingObligation.business_event_id == BusinessEvent.id)
        .outerjoin(User, FilingObligation.responsible_id == User.id)
    )
    if states:
        query = query.where(FilingObligation.state.in_(states))
    if district:
        query = query.where(Customer.district == district)
    if responsible_id is not None:
        query = query.where(FilingObligation.responsible_id == responsible_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(page, 1)
    rows = session.execute(
        query.order_by(FilingObligation.due_on.is_(None).desc(), FilingObligation.due_on, FilingObligation.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [ObligationRow(*row) for row in rows], total


def due_date_history(session: Session, obligation_ids: list[int]) -> dict[int, list[dict]]:
    """The recorded recomputations of these obligations' due dates (oldest first), per obligation."""
    if not obligation_ids:
        return {}
    out: dict[int, list[dict]] = {}
    for entry in session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "obligation.due_recomputed")
        .where(AuditEntry.object_type == "obligation")
        .where(AuditEntry.object_id.in_([str(i) for i in obligation_ids]))
        .order_by(AuditEntry.id)
    ):
        assert entry.object_id is not None
        out.setdefault(int(entry.object_id), []).append({"at": entry.at, **(entry.details or {})})
    return out


def summary(session: Session) -> dict:
    """Counts of overdue / due-soon / open / calendar-missing obligations per district and person."""
    live = ("overdue", "due_soon", "open", "no_calendar")
    by_district: dict[str, dict[str, int]] = {}
    for district, state, count in session.execute(
        select(Customer.district, FilingObligation.state, func.count())
        .join(Customer, FilingObligation.customer_id == Customer.id)
        .where(FilingObligation.state.in_(live))
        .group_by(Customer.district, FilingObligation.state)
    ):
        by_district.setdefault(district or "（未填供电单位）", dict.fromkeys(live, 0))[state] = count
    by_person: dict[str, dict[str, int]] = {}
    for name, username, state, count in session.execute(
        select(User.display_name, User.username, FilingObligation.state, func.count())
        .select_from(FilingObligation)
        .outerjoin(User, FilingObligation.responsible_id == User.id)
        .where(FilingObligation.state.in_(live))
        .group_by(User.display_name, User.username, FilingObligation.state)
    ):
        label = f"{name}（{username}）" if username else "（未指定责任人）"
        by_person.setdefault(label, dict.fromkeys(live, 0))[state] = count
    return {"by_district": dict(sorted(by_district.items())), "by_person": dict(sorted(by_person.items()))}
