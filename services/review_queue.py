"""The archivist queue: filters, sort and keyset pagination over captures waiting for review.

Pages are cut by (received_at, id) keysets on the ``ix_captures_queue*`` indexes (one per filter
on the capture's own columns), so page 2000 costs what page 1 costs at any backlog. A page is
found on the captures table alone (ids in queue order), then its rows are read by id. Filters
that look at photos or their evidence (flags, photo category) walk the queue in order and probe
each capture, so their cost follows how rare the filter is, never the size of the backlog.
Counts stop at a cap: ``COUNT_CAP`` when the indexes answer, one page when each capture must be
probed (the first page's own walk is its count); the page then says "1,000+" (or "50+").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, true, tuple_
from sqlalchemy.orm import Session

from core import errors
from core.beijing_time import BEIJING
from core.states import ReviewState
from models import Capture, Customer, Device, Photo, User
from models.captures import REVIEW_STATES
from models.customers import VOLTAGE_CLASSES
from services import review_evidence, review_forms
from services.review_cursor import SORTS, decode_cursor, encode_cursor

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
COUNT_CAP = 1000
INDEX_FLAGS = ("incomplete", "conflict")  # flags kept on the capture row (ix_captures_queue_complete/_conflict)


@dataclass(frozen=True)
class QueueFilters:
    """What the archivist narrowed the queue to."""

    state: str = "pending"
    flag: str | None = None
    kind: str | None = None
    category: str | None = None
    inspector_id: int | None = None
    district: str | None = None
    voltage_class: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    account_no: str | None = None
    sort: str = "received_asc"
    limit: int = DEFAULT_PAGE_SIZE

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links that keep them)."""
        out = {}
        for key, value in self.__dict__.items():
            if value is not None and value != getattr(DEFAULT_FILTERS, key):
                out[key] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def args_with(self, **changes) -> dict[str, str]:
        """The query arguments with some of them changed (e.g. another state tab)."""
        return {**self.as_args(), **{k: str(v) for k, v in changes.items()}}


DEFAULT_FILTERS = QueueFilters()


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.DomainError(
            errors.BAD_FILTER, f"{name} must be a date (YYYY-MM-DD).", details={"filter": name}
        ) from None


def _one_of(value: str, allowed, name: str) -> str:
    if value not in allowed:
        raise errors.DomainError(
            errors.BAD_FILTER,
            f"{name} must be one of {sorted(allowed)}.",
            details={"filter": name, "allowed": sorted(allowed)},
        )
    return value


def parse_filters(args: Mapping[str, str]) -> QueueFilters:
    """Build filters from query arguments; empty values mean "any"; bad values raise ``review.bad_filter``."""
    get = {k: (str(v).strip() if v is not None else "") for k, v in args.items()}
    values: dict = {}
    if get.get("state"):
        values["state"] = _one_of(get["state"], REVIEW_STATES, "state")
    if get.get("flag"):
        values["flag"] = _one_of(get["flag"], review_evidence.FLAGS, "flag")
    if get.get("kind"):
        values["kind"] = get["kind"][:40]
    if get.get("category"):
        values["category"] = get["category"][:20]
    if get.get("inspector_id"):
        if not get["inspector_id"].isdigit():
            raise errors.DomainError(
                errors.BAD_FILTER, "inspector_id must be a number.", details={"filter": "inspector_id"}
            )
        values["inspector_id"] = int(get["inspector_id"])
    if get.get("district"):
        values["district"] = get["district"][:64]
    if get.get("voltage_class"):
        values["voltage_class"] = _one_of(get["voltage_class"], VOLTAGE_CLASSES, "voltage_class")
    for name in ("date_from", "date_to"):
        if get.get(name):
            values[name] = _date(get[name], name)
    if get.get("account_no"):
        values["account_no"] = get["account_no"][:32]
    if get.get("sort"):
        values["sort"] = _one_of(get["sort"], SORTS, "sort")
    if get.get("limit"):
        if not get["limit"].isdigit() or int(get["limit"]) not in PAGE_SIZES:
            raise errors.DomainError(
                errors.BAD_FILTER,
                f"limit must be one of {PAGE_SIZES}.",
                details={"filter": "limit", "allowed": list(PAGE_SIZES)},
            )
        values["limit"] = int(get["limit"])
    return replace(DEFAULT_FILTERS, **values)


def local_day_start(day: date) -> datetime:
    """The UTC instant a local (Beijing) day starts."""
    return datetime.combine(day, time.min, BEIJING).astimezone(ZoneInfo("UTC"))


def _probe(condition):
    """A per-capture probe of its photos, kept as one (``IS true``: no planner turns it into a join).

    Turned into a join, the database would read every flagged photo of the archive first (its
    estimate for a JSON text match is far too low); probed, the queue is walked in order and
    stops when the page is full.
    """
    return condition.is_(true())


def probes(filters: QueueFilters) -> bool:
    """Whether the filters look at each capture's photos (the count is then capped lower)."""
    return bool(filters.category or (filters.flag and filters.flag not in INDEX_FLAGS))


def _conditions(filters: QueueFilters) -> list:
    """SQL conditions on ``Capture`` for the filters (customer filters name the matching customers)."""
    where = [Capture.review_state == filters.state]
    customer = []
    if filters.flag:
        clause = review_evidence.flag_clause(filters.flag)
        where.append(clause if filters.flag in INDEX_FLAGS else _probe(clause))
    if filters.kind:
        where.append(Capture.kind == filters.kind)
    if filters.category:
        where.append(_probe(review_evidence.probe(Photo.capture_id == Capture.id, Photo.category == filters.category)))
    if filters.inspector_id is not None:
        where.append(Capture.inspector_id == filters.inspector_id)
    if filters.account_no:
        where.append(Capture.account_no == filters.account_no)
    if filters.date_from:
        where.append(Capture.received_at >= local_day_start(filters.date_from))
    if filters.date_to:
        where.append(Capture.received_at < local_day_start(filters.date_to + timedelta(days=1)))
    if filters.district:
        customer.append(Customer.district == filters.district)
    if filters.voltage_class:
        customer.append(Customer.voltage_class == filters.voltage_class)
    if customer:
        # walks ix_captures_queue_customer per customer, or the queue order probing the set
        where.append(Capture.customer_id.in_(select(Customer.id).where(*customer)))
    return where


@dataclass
class QueuePage:
    """One page of the queue, ready for a template or the API."""

    items: list[dict]
    next_cursor: str | None
    total: int
    filters: QueueFilters
    total_capped: bool = False


def queue_page(
    session: Session, filters: QueueFilters, cursor: str | None = None, with_total: bool = True
) -> QueuePage:
    """Return one page of captures matching ``filters``, after ``cursor``, in the chosen order."""
    where = _conditions(filters)
    descending = filters.sort == "received_desc"
    key = tuple_(Capture.received_at, Capture.id)
    if cursor:
        after_time, after_id = decode_cursor(cursor, filters.sort)
        where.append(key < (after_time, after_id) if descending else key > (after_time, after_id))
    keys = select(Capture.id, Capture.received_at).where(and_(*where))
    if descending:
        keys = keys.order_by(Capture.received_at.desc(), Capture.id.desc())
    else:
        keys = keys.order_by(Capture.received_at, Capture.id)
    fetch = filters.limit + 1
    found = session.execute(keys.limit(fetch)).all()
    more = len(found) > filters.limit
    page_keys = found[: filters.limit]
    rows = _rows(session, [k.id for k in page_keys])
    items = summarize(session, rows)
    next_cursor = None
    if more and page_keys:
        next_cursor = encode_cursor(filters.sort, page_keys[-1].received_at, page_keys[-1].id)
    if not with_total:
        total, more_than = -1, False
    elif not cursor and len(found) < fetch:  # the whole queue was read: its size is known
        total, more_than = len(found), False
    elif not cursor and probes(filters):  # a probing filter counts one page: this one
        total, more_than = filters.limit, True
    else:
        total, more_than = count(session, filters)
    return QueuePage(items, next_cursor, total, filters, more_than)


def _rows(session: Session, ids: list[str]) -> list:
    """(capture, customer, inspector, device) rows of these captures, in the given order."""
    if not ids:
        return []
    by_id = {
        row[0].id: row
        for row in session.execute(
            select(Capture, Customer, User, Device)
            .join(Customer, Capture.customer_id == Customer.id, isouter=True)
            .join(User, Capture.inspector_id == User.id)
            .join(Device, Capture.device_id == Device.id)
            .where(Capture.id.in_(ids))
        )
    }
    return [by_id[i] for i in ids if i in by_id]


def count(session: Session, filters: QueueFilters, cap: int | None = None) -> tuple[int, bool]:
    """Number of captures matching the filters, counted up to ``cap`` (True when there are more).

    Counting stops at the cap so that it reads at most cap + 1 index entries, or, when each
    capture is probed, about one page's worth of the queue (the default cap is then the page size).
    """
    if cap is None:
        cap = filters.limit if probes(filters) else COUNT_CAP
    counted = select(Capture.id).where(and_(*_conditions(filters))).limit(cap + 1).subquery()
    found = session.scalar(select(func.count()).select_from(counted)) or 0
    return min(found, cap), found > cap


def summarize(session: Session, rows) -> list[dict]:
    """Turn (capture, customer, inspector, device) rows into queue items with evidence and form summary."""
    captures = [row[0] for row in rows]
    photos = review_evidence.photos_of(session, [c.id for c in captures])
    evidence = review_evidence.for_photos(session, [p for ps in photos.values() for p in ps])
    forms = review_forms.current_payloads(session, captures)
    items = []
    for capture, customer, inspector, device in rows:
        mine = photos.get(capture.id, [])
        ev = [evidence[p.id] for p in mine]
        estimate = review_evidence.capture_time_estimate(capture, mine, ev)
        items.append(
            {
                "id": capture.id,
                "kind": capture.kind,
                "kind_label": review_forms.kind_label(capture.kind),
                "account_no": capture.account_no,
                "customer_name": customer.name if customer else None,
                "district": customer.district if customer else None,
                "voltage_class": customer.voltage_class if customer else None,
                "inspector": inspector.display_name or inspector.username,
                "inspector_id": inspector.id,
                "device": device.name,
                "received_at": capture.received_at,
                "estimated_at": estimate.at,
                "estimate_basis": estimate.basis,
                "categories": sorted({p.category for p in mine}),
                "photo_count": len(mine),
                "thumbnail_photo_id": next((p.id for p, e in zip(mine, ev) if review_evidence.has_image(p, e)), None),
                "flags": review_evidence.capture_flags(capture, ev),
                "summary": review_forms.summary(capture.kind, forms.get(capture.id)),
                "review_state": capture.review_state,
                "review_version": capture.review_version,
                "link_state": capture.link_state,
            }
        )
    return items


def filter_choices(session: Session) -> dict:
    """Values for the filter drop-downs (inspectors, districts, kinds, categories, flags)."""
    inspectors = session.execute(
        select(User.id, User.display_name, User.username).where(User.role == "inspector").order_by(User.username)
    ).all()
    districts = session.scalars(
        select(Customer.district).where(Customer.district.is_not(None)).distinct().order_by(Customer.district)
    ).all()
    return {
        "inspectors": [(i.id, i.display_name or i.username) for i in inspectors],
        "districts": list(districts),
        "kinds": review_forms.kind_labels(),
        "categories": review_evidence.photo_categories(),
        "flags": review_evidence.FLAGS,
        "voltage_classes": VOLTAGE_CLASSES,
        "sorts": SORTS,
        "states": {
            "pending": "待审核",
            "has_issues": "有问题",
            "approved": "已通过",
            "rejected": "已退回",
            "closed": "已关闭",
        },
    }


def next_after(session: Session, capture: Capture) -> str | None:
    """Id of the next capture in the default queue order after this one (for the "next" key)."""
    return session.scalar(
        select(Capture.id)
        .where(
            Capture.review_state == ReviewState.PENDING,
            tuple_(Capture.received_at, Capture.id) > (capture.received_at, capture.id),
        )
        .order_by(Capture.received_at, Capture.id)
        .limit(1)
    )
