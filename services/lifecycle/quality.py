"""Quality figures for assessment (质量考核): completeness, timeliness, rejections, review time.

Computed from what the archive holds: dossiers against the filing scope table, filing
obligations, captures and their review decisions, photos' stamping states and lent originals.
A rate is None when there is nothing to measure (shown as "—"), never a made-up 0 or 100 %.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.states import DECIDED_REVIEW_STATES, ReviewState
from models import BusinessEvent, Capture, Customer, Dossier, DossierItem, FilingObligation, Photo, RetentionState, User
from models.people import ROLE_LABELS
from services import filing_scope
from services.lifecycle import borrowing

NO_DISTRICT = "（未填供电单位）"
STAMPING_DONE = ("ready", "awaiting_upload")


def rate(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal, or None when whole is 0."""
    return None if not whole else round(100.0 * part / whole, 1)


def _first_review_times(session: Session) -> dict[str, object]:
    """capture id → when it was first decided (review decisions, else when it was filed)."""
    out: dict[str, object] = {}
    try:
        review = importlib.import_module("models.review")
        decisions = getattr(review, "ReviewDecision", None)
    except ModuleNotFoundError:
        decisions = None
    if decisions is not None:
        for capture_id, at in session.execute(
            select(decisions.capture_id, func.min(decisions.decided_at)).group_by(decisions.capture_id)
        ):
            out[capture_id] = at
    for capture_id, at in session.execute(
        select(DossierItem.capture_id, func.min(DossierItem.filed_at))
        .where(DossierItem.capture_id.is_not(None))
        .group_by(DossierItem.capture_id)
    ):
        out.setdefault(capture_id, at)
    return out


class _Tally:
    """Counters of one row (a district or a person)."""

    def __init__(self):
        self.captures = self.complete_captures = self.reviewed = self.rejected = 0
        self.review_hours: list[float] = []
        self.pending_stamping = 0
        self.customers = self.complete_dossiers = 0
        self.obligations_due = self.on_time = self.overdue = 0

    def as_dict(self) -> dict:
        hours = sorted(self.review_hours)
        return {
            "captures": self.captures,
            "capture_completeness_rate": rate(self.complete_captures, self.captures),
            "reviewed": self.reviewed,
            "rejected": self.rejected,
            "rejection_rate": rate(self.rejected, self.reviewed),
            "review_hours_avg": round(sum(hours) / len(hours), 1) if hours else None,
            "review_hours_median": round(hours[len(hours) // 2], 1) if hours else None,
            "pending_stamping": self.pending_stamping,
            "customers": self.customers,
            "complete_dossiers": self.complete_dossiers,
            "completeness_rate": rate(self.complete_dossiers, self.customers),
            "obligations_due": self.obligations_due,
            "on_time": self.on_time,
            "overdue": self.overdue,
            "on_time_rate": rate(self.on_time, self.obligations_due),
        }


def _dossier_completeness(session: Session) -> dict[int, tuple[str | None, bool]]:
    """customer id → (district, complete?) for every customer whose dossier is kept (not destroyed)."""

    scope = filing_scope.current()
    destroyed = select(RetentionState.customer_id).where(RetentionState.destroyed_at.is_not(None))
    customers = session.execute(
        select(Customer.id, Customer.district, Customer.voltage_class, Dossier.id)
        .join(Dossier, Dossier.customer_id == Customer.id)
        .where(Customer.id.not_in(destroyed))
    ).all()
    events: dict[int, list] = defaultdict(list)
    for event in session.scalars(select(BusinessEvent)):
        events[event.customer_id].append(
            filing_scope.EventRef(event.id, event.kind, event.occurred_on, event.reference)
        )
    items: dict[int, list] = defaultdict(list)
    for dossier_id, seq, doc_type, event_id in session.execute(
        select(DossierItem.dossier_id, DossierItem.seq, DossierItem.doc_type, DossierItem.business_event_id)
    ):
        items[dossier_id].append(filing_scope.ItemRef(seq, doc_type, event_id))
    return {
        cid: (district, filing_scope.completeness(scope, vclass, events[cid], items[did]).complete)
        for cid, district, vclass, did in customers
    }


def figures(session: Session, today: date) -> dict:
    """All quality figures: totals, per district and per person (inspector or responsible)."""
    districts: dict[str, _Tally] = defaultdict(_Tally)
    people: dict[int, _Tally] = defaultdict(_Tally)
    for district, complete in _dossier_completeness(session).values():
        row = districts[district or NO_DISTRICT]
        row.customers += 1
        row.complete_dossiers += int(complete)

    reviewed_at = _first_review_times(session)
    pending = dict(
        session.execute(
            select(Photo.capture_id, func.count())
            .where(Photo.state.not_in(STAMPING_DONE), Photo.capture_id.is_not(None))
            .group_by(Photo.capture_id)
        )
        .tuples()
        .all()
    )
    for capture, district in session.execute(
        select(Capture, Customer.district).outerjoin(Customer, Capture.customer_id == Customer.id)
    ):
        for row in (districts[district or NO_DISTRICT], people[capture.inspector_id]):
            row.captures += 1
            row.complete_captures += int(bool(capture.complete))
            if capture.review_state in DECIDED_REVIEW_STATES:
                row.reviewed += 1
                row.rejected += int(capture.review_state == ReviewState.REJECTED)
            decided = reviewed_at.get(capture.id)
            if decided is not None and capture.received_at is not None:
                row.review_hours.append(max((decided - capture.received_at).total_seconds(), 0) / 3600)
            row.pending_stamping += pending.get(capture.id, 0)

    for obligation, district in session.execute(
        select(FilingObligation, Customer.district)
        .join(Customer, FilingObligation.customer_id == Customer.id)
        .where(FilingObligation.state.in_(("met", "met_late", "overdue")))
    ):
        rows = [districts[district or NO_DISTRICT]]
        if obligation.responsible_id is not None:
            rows.append(people[obligation.responsible_id])
        for row in rows:
            row.obligations_due += 1
            row.on_time += int(obligation.state == "met")
            row.overdue += int(obligation.state == "overdue")

    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(people))))} if people else {}
    by_person = [
        {
            "username": users[uid].username,
            "name": users[uid].display_name,
            "role": users[uid].role,
            "district": users[uid].district or NO_DISTRICT,
            **tally.as_dict(),
        }
        for uid, tally in people.items()
        if uid in users
    ]
    by_person.sort(key=lambda r: (r["district"], r["username"]))
    total = _Tally()
    for tally in districts.values():
        for key, value in vars(tally).items():
            if isinstance(value, list):
                getattr(total, key).extend(value)
            else:
                setattr(total, key, getattr(total, key) + value)
    stray_pending = (
        session.scalar(
            select(func.count()).select_from(Photo).where(Photo.state.not_in(STAMPING_DONE), Photo.capture_id.is_(None))
        )
        or 0
    )
    totals = total.as_dict() | {
        "pending_stamping": total.pending_stamping + stray_pending,
        "borrowed_items_out": borrowing.items_out(session),
        "borrowed_overdue": len(borrowing.list_uses(session, today, overdue_only=True, per_page=0)[0]),
    }
    return {
        "today": today.isoformat(),
        "totals": totals,
        "by_district": [{"district": name, **tally.as_dict()} for name, tally in sorted(districts.items())],
        "by_person": by_person,
    }


CSV_COLUMNS = (
    ("customers", "客户数"),
    ("complete_dossiers", "完整档案数"),
    ("completeness_rate", "档案完整率%"),
    ("obligations_due", "应归档事项"),
    ("on_time", "按期归档"),
    ("overdue", "逾期未归档"),
    ("on_time_rate", "按期归档率%"),
    ("captures", "采集数"),
    ("capture_completeness_rate", "采集完整率%"),
    ("reviewed", "已审核"),
    ("rejected", "退回"),
    ("rejection_rate", "退回率%"),
    ("review_hours_avg", "平均审核用时(小时)"),
    ("review_hours_median", "审核用时中位数(小时)"),
    ("pending_stamping", "待固化照片"),
)


def csv_rows(data: dict) -> list[list[str]]:
    """The figures as CSV rows: one block per district, one per person, then the totals."""

    def cells(row):
        return ["" if row.get(key) is None else str(row.get(key)) for key, _ in CSV_COLUMNS]

    header = [label for _, label in CSV_COLUMNS]
    out = [["统计日期", data["today"]], [], ["供电单位", *header]]
    out += [[row["district"], *cells(row)] for row in data["by_district"]]
    out += [[], ["人员", "账号", "角色", "供电单位", *header]]
    out += [
        [row["name"], row["username"], ROLE_LABELS.get(row["role"], row["role"]), row["district"], *cells(row)]
        for row in data["by_person"]
    ]
    totals = data["totals"]
    out += [
        [],
        ["合计", *cells(totals)],
        ["借出未还件数", str(totals["borrowed_items_out"])],
        ["逾期未还登记", str(totals["borrowed_overdue"])],
    ]
    return out
