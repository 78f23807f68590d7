"""Customer dossiers: filing entries into the 卷内目录, the dossier view and its completeness."""

from __future__ import annotations

import importlib
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from core.beijing_time import BEIJING
from core.states import OPEN_REVIEW_STATES
from models import BusinessEvent, Capture, Customer, Dossier, DossierItem, User, audit
from models.customers import CUSTOMER_STATUSES, USAGE_CATEGORIES, VOLTAGE_CLASSES
from services import filing_scope, linking, review_forms
from services.lifecycle import destruction
from services.unit_of_work import transaction

SOURCE_LABELS = {"capture": "现场采集", "manual": "手工登记", "import": "导入", "scan": "纸质扫描"}
# 存放位置 of paper originals that have no box position yet (page, printable index and PDF alike)
NO_BOX = "未装盒"


def local_date(moment: datetime | None) -> date | None:
    """The Beijing calendar date of an instant."""
    return moment.astimezone(BEIJING).date() if moment is not None else None


def _events(session: Session, customer_id: int) -> list[BusinessEvent]:
    return list(
        session.scalars(
            select(BusinessEvent)
            .where(BusinessEvent.customer_id == customer_id)
            .order_by(BusinessEvent.occurred_on, BusinessEvent.id)
        )
    )


def _items(session: Session, dossier_id: int) -> list[DossierItem]:
    return list(
        session.scalars(select(DossierItem).where(DossierItem.dossier_id == dossier_id).order_by(DossierItem.seq))
    )


def _refs(events, items):
    return (
        [filing_scope.EventRef(e.id, e.kind, e.occurred_on, e.reference) for e in events],
        [filing_scope.ItemRef(i.seq, i.doc_type, i.business_event_id) for i in items],
    )


def suggest_event(session: Session, scope: filing_scope.FilingScope, customer: Customer, doc_type: str) -> int | None:
    """The business event a new document of this type most likely belongs to (see filing_scope)."""
    events, items = _refs(_events(session, customer.id), _items(session, customer.dossier.id))
    return filing_scope.event_for_new_item(scope, customer.voltage_class, events, items, doc_type)


def file_item(
    session: Session,
    customer: Customer,
    user_id: int | None,
    now: datetime,
    *,
    doc_type: str,
    title: str,
    doc_date: date | None,
    source: str,
    pages: int | None,
    capture_id: str | None = None,
    business_event_id: int | None = None,
    extra: dict | None = None,
) -> DossierItem:
    """Append an entry to the customer's 卷内目录 with the next sequence number.

    Entries are only ever appended (changes such as 增容 or 更名过户 add documents, never replace
    them). The dossier row is locked while the number is taken, so two archivists filing into
    the same dossier get consecutive numbers; the unique (dossier, seq) constraint backs it up.
    """
    dossier = customer.dossier
    session.execute(select(Dossier.id).where(Dossier.id == dossier.id).with_for_update())
    last = session.scalar(select(func.max(DossierItem.seq)).where(DossierItem.dossier_id == dossier.id))
    item = DossierItem(
        dossier_id=dossier.id,
        seq=(last or 0) + 1,
        doc_type=doc_type,
        title=title,
        doc_date=doc_date,
        source=source,
        pages=pages,
        capture_id=capture_id,
        business_event_id=business_event_id,
        filed_at=now,
        filed_by_id=user_id,
        extra=extra or {},
    )
    session.add(item)
    session.flush()
    return item


def customer_by_account(session: Session, account_no: str) -> Customer:
    """The customer with this 户号, or ``customer.unknown``."""
    customer = session.scalar(select(Customer).where(Customer.account_no == account_no))
    if customer is None:
        raise errors.DomainError(errors.UNKNOWN_CUSTOMER, details={"account_no": account_no})
    return customer


def box_location(session: Session, customer_id: int) -> dict | None:
    """Where the paper originals are kept, when the archive rooms are managed in the product."""
    try:
        boxes = importlib.import_module("services.lifecycle.boxes")
    except ModuleNotFoundError:
        return None
    locate = getattr(boxes, "location_of_customer", None)
    return locate(session, customer_id) if locate else None


def search(session: Session, query: str, limit: int = 50) -> list[dict]:
    """Dossiers found by 户号, 户名, address, meter number or archive number."""
    text = (query or "").strip()
    customers = linking.search_customers(session, text, limit)
    if text:
        by_archive = session.scalars(select(Customer).join(Dossier).where(Dossier.archive_no == text)).all()
        customers = list(dict.fromkeys([*by_archive, *customers]))
    else:
        customers = list(session.scalars(select(Customer).order_by(Customer.account_no).limit(limit)))
    ids = [c.id for c in customers]
    counts = (
        dict(
            session.execute(
                select(Dossier.customer_id, func.count(DossierItem.id))
                .join(DossierItem, DossierItem.dossier_id == Dossier.id, isouter=True)
                .where(Dossier.customer_id.in_(ids))
                .group_by(Dossier.customer_id)
            )
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    pending = (
        dict(
            session.execute(
                select(Capture.customer_id, func.count())
                .where(Capture.customer_id.in_(ids), Capture.review_state.in_(OPEN_REVIEW_STATES))
                .group_by(Capture.customer_id)
            )
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    return [
        {
            "customer": c,
            "archive_no": c.dossier.archive_no if c.dossier else None,
            "items": counts.get(c.id, 0),
            "incoming": pending.get(c.id, 0),
        }
        for c in customers
    ]


@transaction
def dossier_view(session: Session, actor: Actor, account_no: str, now: datetime) -> dict:
    """Everything the dossier page shows; the look is audited (customer data is confidential)."""
    customer = customer_by_account(session, account_no)
    dossier = customer.dossier
    scope = filing_scope.current()
    events = _events(session, customer.id)
    items = _items(session, dossier.id)
    users: dict[int | None, User] = (
        {
            u.id: u
            for u in session.scalars(select(User).where(User.id.in_({i.filed_by_id for i in items if i.filed_by_id})))
        }
        if items
        else {}
    )
    event_by_id: dict[int | None, BusinessEvent] = {e.id: e for e in events}
    report = filing_scope.completeness(scope, customer.voltage_class, *_refs(events, items))
    ranges = page_ranges(items)
    incoming = list(
        session.scalars(
            select(Capture)
            .where(Capture.customer_id == customer.id, Capture.review_state.in_(OPEN_REVIEW_STATES))
            .order_by(Capture.received_at, Capture.id)
            .limit(100)
        )
    )
    audit.record(
        session, actor, "dossier.view", "dossier", dossier.archive_no, {"account_no": customer.account_no}, at=now
    )
    record = destruction.record_of_customer(session, customer.id)
    box = box_location(session, customer.id)
    return {
        "destroyed": destruction.record_label(record.id, record.executed_at) if record else None,
        "customer": customer,
        "dossier": dossier,
        "labels": {
            "voltage_class": VOLTAGE_CLASSES.get(customer.voltage_class, customer.voltage_class),
            "usage_category": USAGE_CATEGORIES.get(customer.usage_category, customer.usage_category),
            "status": CUSTOMER_STATUSES.get(customer.status, customer.status),
        },
        "box": box,
        "box_text": (box or {}).get("label") or NO_BOX,
        "items": [
            {
                "item": i,
                "doc_label": scope.doc_label(i.doc_type),
                "pages_label": pages_label(ranges[i.id]),
                "page_from": ranges[i.id][0],
                "page_to": ranges[i.id][1],
                "source_label": SOURCE_LABELS.get(i.source, i.source),
                "record_state": i.record_state,
                "filed_by": _name(users.get(i.filed_by_id)),
                "event": event_by_id.get(i.business_event_id),
                "event_label": _event_label(scope, event_by_id.get(i.business_event_id)),
            }
            for i in items
        ],
        "events": [{"event": e, "label": _event_label(scope, e)} for e in events],
        "completeness": report,
        "incoming": [{"capture": c, "kind_label": review_forms.kind_label(c.kind)} for c in incoming],
        "scope": scope,
    }


def page_ranges(items: list[DossierItem]) -> dict[int, tuple[int | None, int | None]]:
    """页号 of each entry: pages run on through the 卷内目录 in sequence order (none for an entry without pages)."""
    ranges: dict[int, tuple[int | None, int | None]] = {}
    used = 0
    for item in sorted(items, key=lambda i: i.seq):
        if item.pages:
            ranges[item.id] = (used + 1, used + item.pages)
            used += item.pages
        else:
            ranges[item.id] = (None, None)
    return ranges


def pages_label(page_range: tuple[int | None, int | None]) -> str:
    """``3`` for one page, ``4–5`` for several, empty without pages."""
    first, last = page_range
    if first is None:
        return ""
    return str(first) if first == last else f"{first}–{last}"


def _event_label(scope: filing_scope.FilingScope, event: BusinessEvent | None) -> str:
    if event is None:
        return ""
    return scope.business_types.get(scope.business_type_of(event.kind) or "", event.kind)


def _name(user: User | None) -> str | None:
    return (user.display_name or user.username) if user else None


def index_rows(view: dict) -> list[dict]:
    """The 卷内目录 as printable rows (序号, 文件题名, 文件类型, 日期, 页数, 页号, 来源)."""
    return [
        {
            "seq": row["item"].seq,
            "title": row["item"].title,
            "doc_type": row["doc_label"],
            "date": row["item"].doc_date.isoformat() if row["item"].doc_date else "",
            "pages": row["item"].pages or "",
            "page_range": row["pages_label"],
            "source": row["source_label"],
            "filed_by": row["filed_by"] or "",
        }
        for row in view["items"]
    ]
