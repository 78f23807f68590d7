"""Legal search over stamped photos, with keyset pagination, and opening one result.

Filters: 户号 / 户名, capture-time and receipt-time ranges, place (a radius around a point or
the customer's registered site), category, inspector, review state and time/place flags. Pages
follow (received_at, id) or (estimated capture time, id) downwards through the indexes declared
in :mod:`models.legal`, so a page costs the same on the first and the millionth photo.
Every search and every opened result is registered in the use register.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session, aliased

from core import cursors, errors
from core.actor import Actor
from core.beijing_time import BEIJING
from core.labels import FLAG_LABELS
from models import Capture, Customer, DestructionRecord, Photo, PhotoEvidence, User
from services import evidence_bundle, like_patterns, review_photos, use_register
from services.lifecycle import destruction

SORTS = ("received", "captured")
MAX_LIMIT = 100
EARTH_RADIUS_M = 6_371_000.0
DEFAULT_SITE_RADIUS_M = 300.0
MAX_NAME_MATCHES = 200


@dataclass(frozen=True)
class Filters:
    """What the user asked for; every field optional."""

    account_no: str | None = None
    name: str | None = None
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    near_site: bool = False
    category: str | None = None
    inspector: str | None = None
    review_state: str | None = None
    flag: str | None = None
    sort: str = "received"
    limit: int = 25
    extra: dict = field(default_factory=dict)

    def described(self) -> dict:
        """The filters that were set (for the use register)."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in self.__dict__.items()
            if v not in (None, False, "", {}) and k not in ("limit", "extra")
        }


def encode_cursor(sort: str, moment: datetime, photo_id: str) -> str:
    """An opaque cursor after the row (moment, id) in this sort."""
    return cursors.keyset_encode(sort, moment, photo_id)


def decode_cursor(cursor: str, sort: str) -> tuple[datetime, str]:
    """(moment, id) of a cursor; legal.bad_cursor when it is malformed or of another sort."""
    try:
        return cursors.keyset_decode(cursor, sort)
    except cursors.CursorInvalid as exc:
        raise errors.DomainError(errors.LEGAL_BAD_CURSOR) from exc


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) enclosing a circle; the exact test follows in Python."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _check(filters: Filters) -> None:
    if filters.sort not in SORTS:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "sort", "allowed": list(SORTS)})
    if not 1 <= filters.limit <= MAX_LIMIT:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "limit", "max": MAX_LIMIT})
    point = (filters.latitude, filters.longitude)
    if any(v is not None for v in point) and None in point:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "latitude/longitude"})
    if (
        filters.latitude is not None
        and filters.longitude is not None
        and not (-90 <= filters.latitude <= 90 and -180 <= filters.longitude <= 180)
    ):
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "latitude/longitude"})
    if filters.radius_m is not None and not 1 <= filters.radius_m <= 100_000:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "radius_m", "range": [1, 100000]})
    if filters.flag is not None and filters.flag not in FLAG_LABELS:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "flag", "allowed": list(FLAG_LABELS)})
    if filters.near_site and not filters.account_no:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "near_site", "reason": "needs account_no"})
    for low, high, name in (
        (filters.captured_from, filters.captured_to, "captured"),
        (filters.received_from, filters.received_to, "received"),
    ):
        if low and high and low > high:
            raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": name, "reason": "from after to"})


def _centre(session: Session, filters: Filters) -> tuple[float, float, float] | None:
    if filters.near_site:
        customer = session.scalar(select(Customer).where(Customer.account_no == filters.account_no))
        if customer is None or customer.latitude is None:
            raise errors.DomainError(
                errors.LEGAL_BAD_FILTER, details={"field": "near_site", "reason": "no registered site"}
            )
        assert customer.longitude is not None
        return customer.latitude, customer.longitude, filters.radius_m or DEFAULT_SITE_RADIUS_M
    if filters.latitude is not None:
        assert filters.longitude is not None
        return filters.latitude, filters.longitude, filters.radius_m or DEFAULT_SITE_RADIUS_M
    return None


def _query(session: Session, filters: Filters, centre, after: tuple[datetime, str] | None):
    inspector = aliased(User)
    query = (
        select(Photo, PhotoEvidence, Capture, Customer, inspector)
        .join(PhotoEvidence, PhotoEvidence.photo_id == Photo.id)
        .outerjoin(Capture, Capture.id == Photo.capture_id)
        .outerjoin(Customer, Customer.id == Capture.customer_id)
        .outerjoin(inspector, inspector.id == Capture.inspector_id)
    )
    if filters.account_no:
        customer_id = session.scalar(select(Customer.id).where(Customer.account_no == filters.account_no))
        query = (
            query.where(Capture.customer_id == customer_id)
            if customer_id is not None
            else query.where(Capture.account_no == filters.account_no)
        )
    if filters.name:
        # resolved first, so the planner walks the few matching customers' captures, not all photos
        ids = list(
            session.scalars(
                select(Customer.id)
                .where(Customer.name.like(like_patterns.contains(filters.name.strip()), escape=like_patterns.ESCAPE))
                .limit(MAX_NAME_MATCHES)
            )
        )
        query = query.where(Capture.customer_id.in_(ids or [-1]))
    if filters.captured_from:
        query = query.where(PhotoEvidence.estimated_capture_at >= filters.captured_from)
    if filters.captured_to:
        query = query.where(PhotoEvidence.estimated_capture_at <= filters.captured_to)
    if filters.received_from:
        query = query.where(Photo.received_at >= filters.received_from)
    if filters.received_to:
        query = query.where(Photo.received_at <= filters.received_to)
    if filters.category:
        query = query.where(Photo.category == filters.category)
    if filters.inspector:
        query = query.where(inspector.username == filters.inspector)
    if filters.review_state:
        query = query.where(Capture.review_state == filters.review_state)
    if filters.flag:
        # flags are a JSON list of codes; the quoted code is found in its text on SQLite and PostgreSQL
        query = query.where(
            cast(PhotoEvidence.flags, String).like(
                like_patterns.json_string_member(filters.flag), escape=like_patterns.ESCAPE
            )
        )
    if centre is not None:
        south, north, west, east = bounding_box(*centre)
        lat = PhotoEvidence.gps_latitude
        lon = PhotoEvidence.gps_longitude
        query = query.where(
            or_(
                and_(lat.between(south, north), lon.between(west, east)),
                and_(
                    lat.is_(None),
                    Photo.device_latitude.between(south, north),
                    Photo.device_longitude.between(west, east),
                ),
            )
        )
    moment = Photo.received_at if filters.sort == "received" else PhotoEvidence.estimated_capture_at
    key_id = Photo.id if filters.sort == "received" else PhotoEvidence.photo_id
    query = query.where(moment.is_not(None))
    if after is not None:
        query = query.where(or_(moment < after[0], and_(moment == after[0], key_id < after[1])))
    return query.order_by(moment.desc(), key_id.desc())


def _place(photo: Photo, evidence: PhotoEvidence) -> tuple[float, float | None] | None:
    if evidence.gps_latitude is not None:
        return evidence.gps_latitude, evidence.gps_longitude
    if photo.device_latitude is not None:
        return photo.device_latitude, photo.device_longitude
    return None


def _moment(filters: Filters, photo: Photo, evidence: PhotoEvidence) -> datetime:
    moment = photo.received_at if filters.sort == "received" else evidence.estimated_capture_at
    assert moment is not None
    return moment


def _row(photo, evidence, capture, customer, inspector, distance) -> dict:
    return {
        "photo_id": photo.id,
        "evidence_no": evidence.evidence_no,
        "account_no": capture.account_no if capture else None,
        "customer_name": customer.name if customer else None,
        "inspector": (inspector.display_name or inspector.username) if inspector else None,
        "category": photo.category,
        "slot": photo.slot,
        "received_at": photo.received_at,
        "estimated_capture_at": evidence.estimated_capture_at,
        "estimate_basis": evidence.estimate_basis,
        "flags": list(evidence.flags or []),
        "hash_ok": evidence.hash_ok,
        "tsa_status": evidence.tsa_status,
        "tsa_kind": evidence.tsa_kind,
        "review_state": capture.review_state if capture else None,
        "state": photo.state,
        "has_thumbnail": bool(evidence.thumbnail_key),
        "place": _place(photo, evidence),
        "distance_m": None if distance is None else round(distance, 1),
        "destroyed": None,
        "_record_id": photo.destruction_record_id if photo.state == "destroyed" else None,
    }


def _with_destruction(session: Session, rows: list[dict]) -> list[dict]:
    """Destroyed photos say so: no hash check or thumbnail to show, the record's number and date instead."""
    ids = {row["_record_id"] for row in rows if row["_record_id"]}
    when = (
        dict(
            session.execute(
                select(DestructionRecord.id, DestructionRecord.executed_at).where(DestructionRecord.id.in_(ids))
            )
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    for row in rows:
        record_id = row.pop("_record_id")
        if row["state"] == "destroyed":
            row.update(
                hash_ok=None,
                has_thumbnail=False,
                destroyed=destruction.record_label(record_id, when.get(record_id))
                or {"record_id": None, "destroyed_on": None, "text": "已销毁"},
            )
    return rows


def search(
    session: Session, actor: Actor, user: User | None, filters: Filters, cursor: str | None, now: datetime
) -> dict:
    """One page of results and the cursor of the next; the search is registered."""
    _check(filters)
    after = decode_cursor(cursor, filters.sort) if cursor else None
    centre = _centre(session, filters)
    rows: list[dict] = []
    next_cursor = None
    if centre is None:
        batch = session.execute(_query(session, filters, centre, after).limit(filters.limit + 1)).all()
        rows = [
            _row(photo, evidence, capture, customer, inspector, None)
            for photo, evidence, capture, customer, inspector in batch[: filters.limit]
        ]
        if len(batch) > filters.limit:
            last = batch[filters.limit - 1]
            next_cursor = encode_cursor(filters.sort, _moment(filters, last[0], last[1]), last[0].id)
    else:
        # the radius is tested exactly after the index-friendly box: read on until the page is full
        fetch = filters.limit * 4
        while len(rows) < filters.limit:
            batch = session.execute(_query(session, filters, centre, after).limit(fetch)).all()
            for photo, evidence, capture, customer, inspector in batch:
                after = (_moment(filters, photo, evidence), photo.id)
                place = _place(photo, evidence)
                assert place is not None and place[1] is not None
                distance = distance_m(centre[0], centre[1], place[0], place[1])
                if distance <= centre[2]:
                    rows.append(_row(photo, evidence, capture, customer, inspector, distance))
                    if len(rows) == filters.limit:
                        break
            if len(batch) < fetch and (not batch or (after is not None and after[1] == batch[-1][0].id)):
                break
        if len(rows) == filters.limit:
            assert after is not None
            next_cursor = encode_cursor(filters.sort, *after)
    use_register.register(
        session,
        actor,
        user,
        "search",
        now,
        details={"filters": filters.described(), "results": len(rows), "page": bool(cursor)},
    )
    session.commit()
    return {"items": _with_destruction(session, rows), "next_cursor": next_cursor}


# --- one result -------------------------------------------------------------------------------------


def _photo(session: Session, photo_id: str) -> tuple[Photo, PhotoEvidence]:
    photo = session.get(Photo, photo_id)
    evidence = session.get(PhotoEvidence, photo_id) if photo else None
    if photo is None or evidence is None:
        raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"photo_id": photo_id})
    return photo, evidence


def open_result(session: Session, actor: Actor, user: User | None, photo_id: str, now: datetime) -> dict:
    """Everything known about one photo (as a bundle would carry it); the opening is registered."""
    photo, _evidence = _photo(session, photo_id)
    source = evidence_bundle.load_item(session, photo)
    detail = evidence_bundle.manifest_item(session, source)
    detail["state"] = photo.state
    detail["destroyed"] = None
    if photo.state == "destroyed":
        record = session.get(DestructionRecord, photo.destruction_record_id) if photo.destruction_record_id else None
        detail["destroyed"] = (
            destruction.record_label(record.id, record.executed_at)
            if record
            else {"record_id": None, "destroyed_on": None, "text": "已销毁"}
        )
    use_register.register(session, actor, user, "open", now, photo_id=photo.id)
    session.commit()
    detail["uses"] = [use_register.use_dict(u) for u in use_register.list_uses(session, 50, photo_id=photo.id)]
    return evidence_bundle.jsonable(detail)


def open_original(
    session: Session, actor: Actor, user: User | None, photo_id: str, purpose: str | None, now: datetime, blobs
):
    """The original bytes for download, after the purpose is given; the download is registered."""
    purpose = use_register.check_purpose(purpose)
    photo, evidence = _photo(session, photo_id)
    if photo.state == "destroyed":
        raise review_photos.destroyed_photo(session, photo, "original")
    if not photo.blob_sha256:
        raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"photo_id": photo_id})
    use_register.register(
        session, actor, user, "download", now, photo_id=photo.id, purpose=purpose, details={"sha256": evidence.sha256}
    )
    session.commit()
    name = evidence_bundle.extension_for(photo)
    return blobs.open(photo.blob_sha256), f"{evidence.evidence_no}{name}", photo.mime_type or "application/octet-stream"


def open_thumbnail(session: Session, photo_id: str, blobs):
    """The thumbnail of a result (a derived copy, not evidence)."""
    photo, evidence = _photo(session, photo_id)
    if photo.state == "destroyed":
        raise review_photos.destroyed_photo(session, photo, "thumbnail")
    if not evidence.thumbnail_key:
        raise errors.DomainError(errors.UNKNOWN_PHOTO, details={"photo_id": photo_id, "variant": "thumbnail"})
    return blobs.open(evidence.thumbnail_key)


def _day(value: str, name: str, end: bool) -> datetime | None:
    from datetime import date, time, timedelta

    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": name}) from exc
    start = datetime.combine(day, time.min, BEIJING)
    return start + timedelta(days=1, microseconds=-1) if end else start


def _number(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": name}) from exc


def parse_filters(args) -> Filters:
    """Filters from a page's query string (days in Beijing time); bad values raise legal.bad_filter."""
    text = {
        k: (args.get(k) or "").strip()
        for k in (
            "q",
            "captured_from",
            "captured_to",
            "received_from",
            "received_to",
            "latitude",
            "longitude",
            "radius_m",
            "near_site",
            "category",
            "inspector",
            "review_state",
            "flag",
            "sort",
            "limit",
        )
    }
    query = text["q"]
    limit = text["limit"] or "25"
    if not limit.isdigit():
        raise errors.DomainError(errors.LEGAL_BAD_FILTER, details={"field": "limit"})
    return Filters(
        account_no=query if query.isdigit() else None,
        name=query if query and not query.isdigit() else None,
        captured_from=_day(text["captured_from"], "captured_from", False),
        captured_to=_day(text["captured_to"], "captured_to", True),
        received_from=_day(text["received_from"], "received_from", False),
        received_to=_day(text["received_to"], "received_to", True),
        latitude=_number(text["latitude"], "latitude"),
        longitude=_number(text["longitude"], "longitude"),
        radius_m=_number(text["radius_m"], "radius_m"),
        near_site=text["near_site"] in ("1", "on", "true"),
        category=text["category"] or None,
        inspector=text["inspector"] or None,
        review_state=text["review_state"] or None,
        flag=text["flag"] or None,
        sort=text["sort"] or "received",
        limit=int(limit),
    )
