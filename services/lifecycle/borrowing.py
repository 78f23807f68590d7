"""Use and borrowing of archive items (档案利用登记).

Every use is registered: who, which items, purpose, form, when. Viewing, copying and extracts
are registered and done at once; lending an original needs the archive manager's approval,
then a formal sign-out with a return date and a return. Nothing here changes the items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from core.beijing_time import BEIJING
from models import Customer, Dossier, DossierItem, User, UseRequest, UseRequestItem, audit
from models.lifecycle import USE_FORMS, USE_STATES
from services.lifecycle.common import actor_user_id, customer_by_account, local_date
from services.lifecycle.settings import LifecycleSettings
from services.unit_of_work import transaction

MAX_ITEMS = 500


def _request(session: Session, request_id: int) -> UseRequest:
    use = session.get(UseRequest, request_id)
    if use is None:
        raise errors.DomainError(errors.UNKNOWN_USE_REQUEST, details={"request_id": request_id})
    return use


def _expect(use: UseRequest, *states: str) -> None:
    if use.state not in states:
        raise errors.DomainError(
            errors.USE_BAD_STATE,
            f"The request is {USE_STATES.get(use.state, use.state)}.",
            details={"state": use.state, "expected": list(states)},
        )


def _audit(session, actor, use: UseRequest, action: str, now: datetime, **details) -> None:
    audit.record(session, actor, f"use.{action}", "use_request", use.id, {"state": use.state, **details}, at=now)


@transaction
def register_use(
    session: Session,
    actor: Actor,
    *,
    account_no: str,
    item_seqs: list[int],
    requester_name: str,
    purpose: str,
    form: str,
    now: datetime,
    requester_unit: str | None = None,
) -> UseRequest:
    """Register a use of dossier items; an original waits for approval, other forms are granted."""
    if form not in USE_FORMS:
        raise errors.DomainError(errors.UNKNOWN_USE_FORM, details={"form": form, "allowed": list(USE_FORMS)})
    requester_name = (requester_name or "").strip()
    purpose = (purpose or "").strip()
    missing = [name for name, value in (("requester_name", requester_name), ("purpose", purpose)) if not value]
    if missing:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "Requester and purpose are required.",
            details={"fields": {name: ["required"] for name in missing}},
        )
    customer = customer_by_account(session, account_no)
    seqs = sorted(set(int(s) for s in item_seqs or []))
    if not seqs:
        raise errors.DomainError(errors.USE_NO_ITEMS)
    if len(seqs) > MAX_ITEMS:
        raise errors.DomainError(errors.VALIDATION_FAILED, f"At most {MAX_ITEMS} items per request.")
    items = session.scalars(
        select(DossierItem)
        .join(Dossier, DossierItem.dossier_id == Dossier.id)
        .where(Dossier.customer_id == customer.id, DossierItem.seq.in_(seqs))
    ).all()
    unknown = sorted(set(seqs) - {item.seq for item in items})
    if unknown:
        raise errors.DomainError(errors.USE_UNKNOWN_ITEM, details={"items": unknown, "account_no": customer.account_no})
    use = UseRequest(
        customer_id=customer.id,
        requester_name=requester_name[:100],
        requester_unit=(requester_unit or "").strip()[:100] or None,
        registered_by_id=actor_user_id(actor),
        purpose=purpose[:2000],
        form=form,
        state="pending" if form == "original" else "registered",
        requested_at=now,
    )
    session.add(use)
    session.flush()
    for item in sorted(items, key=lambda i: i.seq):
        session.add(UseRequestItem(request_id=use.id, dossier_item_id=item.id))
    session.flush()
    _audit(
        session,
        actor,
        use,
        "register",
        now,
        account_no=customer.account_no,
        form=form,
        items=seqs,
        requester=use.requester_name,
    )
    return use


@transaction
def decide(
    session: Session, actor: Actor, request_id: int, approve: bool, now: datetime, note: str | None = None
) -> UseRequest:
    """The archive manager approves or rejects lending an original (not their own request)."""
    use = _request(session, request_id)
    _expect(use, "pending")
    user_id = actor_user_id(actor)
    if user_id is not None and user_id == use.registered_by_id:
        raise errors.DomainError(errors.USE_SELF_APPROVAL)
    use.state = "approved" if approve else "rejected"
    use.decided_by_id, use.decided_at = user_id, now
    use.decision_note = (note or "").strip()[:2000] or None
    _audit(session, actor, use, "approve" if approve else "reject", now, note=use.decision_note)
    return use


@transaction
def sign_out(
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    settings: LifecycleSettings,
    due_on: date | None = None,
) -> UseRequest:
    """Hand an approved original out, with the date it must be back."""
    use = _request(session, request_id)
    _expect(use, "approved")
    today = local_date(now)
    due_on = due_on or today + timedelta(days=settings.borrow_days)
    if due_on <= today:
        raise errors.DomainError(
            errors.USE_BAD_DUE_DATE, details={"due_on": due_on.isoformat(), "today": today.isoformat()}
        )
    use.state, use.out_at, use.out_by_id, use.due_on = "out", now, actor_user_id(actor), due_on
    _audit(session, actor, use, "sign_out", now, due_on=due_on.isoformat())
    return use


@transaction
def receive_return(session: Session, actor: Actor, request_id: int, now: datetime) -> UseRequest:
    """Record the return of a lent original."""
    use = _request(session, request_id)
    _expect(use, "out")
    use.state, use.returned_at, use.received_by_id = "returned", now, actor_user_id(actor)
    late = local_date(now) > use.due_on if use.due_on else False
    _audit(session, actor, use, "return", now, late=late)
    return use


@transaction
def complete(session: Session, actor: Actor, request_id: int, now: datetime) -> UseRequest:
    """Close a registered view/copy/extract once the use is over."""
    use = _request(session, request_id)
    _expect(use, "registered")
    use.state, use.completed_at = "completed", now
    _audit(session, actor, use, "complete", now)
    return use


@dataclass
class UseRow:
    """A use request with what the registration record shows."""

    request: UseRequest
    customer: Customer
    item_seqs: list[int]
    registered_by: User | None
    decided_by: User | None
    overdue: bool


def _users(session: Session, ids: set[int]) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def list_uses(
    session: Session,
    today: date,
    *,
    state: str | None = None,
    overdue_only: bool = False,
    account_no: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[UseRow], int]:
    """A page of the use register (newest first), optionally filtered; and the total."""
    query = select(UseRequest, Customer).join(Customer, UseRequest.customer_id == Customer.id)
    if state:
        query = query.where(UseRequest.state == state)
    if overdue_only:
        query = query.where(UseRequest.state == "out", UseRequest.due_on < today)
    if account_no:
        query = query.where(Customer.account_no == account_no.strip())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(UseRequest.requested_at.desc(), UseRequest.id.desc())
    if per_page:
        query = query.limit(per_page).offset((max(page, 1) - 1) * per_page)
    pairs = session.execute(query).all()
    if not pairs:
        return [], total
    seqs: dict[int, list[int]] = {}
    for request_id, seq in session.execute(
        select(UseRequestItem.request_id, DossierItem.seq)
        .join(DossierItem, UseRequestItem.dossier_item_id == DossierItem.id)
        .where(UseRequestItem.request_id.in_([u.id for u, _ in pairs]))
        .order_by(DossierItem.seq)
    ):
        seqs.setdefault(request_id, []).append(seq)
    users = _users(session, {u.registered_by_id for u, _ in pairs} | {u.decided_by_id for u, _ in pairs})
    return [
        UseRow(
            u,
            c,
            seqs.get(u.id, []),
            users.get(u.registered_by_id),
            users.get(u.decided_by_id),
            u.state == "out" and u.due_on is not None and u.due_on < today,
        )
        for u, c in pairs
    ], total


REGISTER_HEADER = [
    "登记号",
    "户号",
    "户名",
    "利用人",
    "单位",
    "利用目的",
    "利用方式",
    "卷内序号",
    "登记时间（北京时间）",
    "登记人",
    "状态",
    "审批人",
    "审批时间（北京时间）",
    "审批意见",
    "借出时间（北京时间）",
    "应还日期",
    "归还时间（北京时间）",
]


def register_rows(session: Session, today: date) -> list[list[str]]:
    """The complete use register (档案利用登记表) as rows for CSV export, header first."""

    def stamp(value):
        return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else ""

    rows, _ = list_uses(session, today, per_page=0)
    out = [REGISTER_HEADER]
    for row in rows:
        use = row.request
        out.append(
            [
                str(use.id),
                row.customer.account_no,
                row.customer.name,
                use.requester_name,
                use.requester_unit or "",
                use.purpose,
                USE_FORMS[use.form],
                " ".join(str(s) for s in row.item_seqs),
                stamp(use.requested_at),
                row.registered_by.username if row.registered_by else "",
                USE_STATES.get(use.state, use.state),
                row.decided_by.username if row.decided_by else "",
                stamp(use.decided_at),
                use.decision_note or "",
                stamp(use.out_at),
                use.due_on.isoformat() if use.due_on else "",
                stamp(use.returned_at),
            ]
        )
    return out


def items_out(session: Session) -> int:
    """Number of dossier items currently lent out as originals."""
    return (
        session.scalar(
            select(func.count())
            .select_from(UseRequestItem)
            .join(UseRequest, UseRequestItem.request_id == UseRequest.id)
            .where(UseRequest.state == "out")
        )
        or 0
    )
