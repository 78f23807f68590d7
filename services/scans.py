"""Scanned paper documents (电子扫描归档): intake, quality flags, filing into the 卷内目录.

Intake keeps the bytes as they are in the write-once blob store (keyed by SHA-256, like photos),
reads the pages, resolution and colour mode (DA/T 31) so that the archivist sees the flags
before filing, and writes the ``scan.received`` outbox event in the same transaction: the
stamping pipeline then adds SM3 verification, derivatives, the RFC 3161 token and the evidence
log leaf exactly as for a field photo. A customer holds the same content once: the same bytes
uploaded or imported again return the existing scan (idempotent by content hash).

Filing appends a 卷内目录 entry with the next sequence number and its page range (页号
continue from the previous entries), gives the paper original a box position (the box rules of
:mod:`services.lifecycle.boxes`) and re-evaluates the customer's filing obligations at once.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors, hashing
from core import scans as scan_rules
from core.actor import Actor
from core.beijing_time import BEIJING
from models import Blob, BusinessEvent, Customer, DossierItem, FilingObligation, OutboxEvent, Scan, ScanEvidence, audit
from services import dossiers, filing_scope, scan_stamping, translog, use_register
from services import legal_search as legal_search_cursor
from services.lifecycle import boxes, obligations
from services.lifecycle.obligations import FINAL_STATES
from services.lifecycle.settings import LifecycleSettings
from services.unit_of_work import transaction

TITLE_MAX = 300
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
NOTE_MAX = 2000
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class ScanRequest:
    """What the archivist (or a manifest row) says about one file."""

    doc_type: str
    doc_date: date | None = None
    business_event_id: int | None = None
    declared_pages: int | None = None
    note: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Intake:
    """The scan and whether this call created it (False: the same bytes were there already)."""

    scan: Scan
    created: bool


def max_scan_bytes(config) -> int:
    """The largest single scan file accepted (setting ``SCAN_MAX_BYTES``)."""
    return int(config.get("SCAN_MAX_BYTES", DEFAULT_MAX_BYTES))


def clean_filename(name: str | None, file_format: str) -> str:
    """The file's own name without any directory part or control characters (255 characters at most)."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFC", _UNSAFE.sub("", base)).strip()[:255]
    return base or f"scan.{file_format}"


def _check_request(session: Session, customer: Customer, request: ScanRequest) -> None:
    scope = filing_scope.current()
    if request.doc_type not in scope.doc_types:
        raise errors.DomainError(
            errors.SCAN_UNKNOWN_DOC_TYPE, details={"doc_type": request.doc_type, "allowed": sorted(scope.doc_types)}
        )
    if request.business_event_id is not None:
        event = session.get(BusinessEvent, request.business_event_id)
        if event is None or event.customer_id != customer.id:
            raise errors.DomainError(
                errors.UNKNOWN_BUSINESS_EVENT, details={"business_event_id": request.business_event_id}
            )
    if request.declared_pages is not None and request.declared_pages < 1:
        raise errors.DomainError(errors.VALIDATION_FAILED, details={"pages": "must be at least 1"})


def _store_blob(session: Session, blobs, data: bytes, digests: hashing.Digests, now: datetime) -> None:
    """The bytes into the write-once store and their blob row (kept if both exist already)."""
    if not blobs.exists(digests.sha256):
        blobs.put_bytes(digests.sha256, data)
    if session.get(Blob, digests.sha256) is None:
        session.add(Blob(sha256=digests.sha256, sm3=digests.sm3, size=digests.size, stored_at=now))
        session.flush()


def existing(session: Session, customer_id: int, sha256: str) -> Scan | None:
    """The customer's scan with these bytes, if any."""
    return session.scalar(select(Scan).where(Scan.customer_id == customer_id, Scan.sha256 == sha256))


def intake(
    session: Session,
    actor: Actor,
    user_id: int | None,
    account_no: str,
    data: bytes,
    filename: str | None,
    request: ScanRequest,
    now: datetime,
    blobs,
    *,
    source: str = "upload",
    max_bytes: int | None = None,
) -> Intake:
    """Keep one scanned file for a customer, read its quality and queue its stamping; committed."""
    customer = dossiers.customer_by_account(session, account_no)
    _check_request(session, customer, request)
    if max_bytes is not None and len(data) > max_bytes:
        raise errors.DomainError(errors.SCAN_TOO_LARGE, details={"size": len(data), "max": max_bytes})
    digests = hashing.digest_bytes(data)
    found = existing(session, customer.id, digests.sha256)
    if found is not None:
        return Intake(found, False)
    try:
        info = scan_rules.inspect(data, request.declared_pages)
    except scan_rules.ScanError as exc:
        raise errors.DomainError(errors.SCAN_UNREADABLE, details={"filename": filename, "reason": str(exc)})
    _store_blob(session, blobs, data, digests, now)
    scope = filing_scope.current()
    title = (request.title or "").strip()[:TITLE_MAX] or f"{scope.doc_label(request.doc_type)}（纸质扫描件）"
    scan = Scan(
        id=str(uuid.uuid4()),
        customer_id=customer.id,
        sha256=digests.sha256,
        size=digests.size,
        filename=clean_filename(filename, info.file_format),
        file_format=info.file_format,
        doc_type=request.doc_type,
        title=title,
        doc_date=request.doc_date,
        business_event_id=request.business_event_id,
        note=(request.note or "").strip()[:NOTE_MAX] or None,
        declared_pages=request.declared_pages,
        pages=info.page_count,
        min_dpi=info.min_dpi,
        colour_modes=info.colour_modes,
        quality=info.quality(),
        flags=info.flags,
        source=source,
        state="received",
        uploaded_by_id=user_id,
        received_at=now,
    )
    session.add(scan)
    session.add(OutboxEvent(event=scan_stamping.RECEIVED_EVENT, subject_id=scan.id, created_at=now))
    audit.record(
        session,
        actor,
        "scan.received",
        "scan",
        scan.id,
        {
            "account_no": customer.account_no,
            "sha256": digests.sha256,
            "sm3": digests.sm3,
            "size": digests.size,
            "filename": scan.filename,
            "pages": info.page_count,
            "min_dpi": info.min_dpi,
            "flags": info.flags,
            "source": source,
        },
        at=now,
    )
    try:
        session.commit()
    except IntegrityError:  # the same bytes arrived at the same moment from elsewhere
        session.rollback()
        found = existing(session, customer.id, digests.sha256)
        if found is None:
            raise
        return Intake(found, False)
    return Intake(scan, True)


def get_scan(session: Session, scan_id: str, account_no: str | None = None) -> Scan:
    """The scan with this id (of this customer when ``account_no`` is given), or ``scan.unknown``."""
    scan = session.get(Scan, scan_id) if scan_id and len(scan_id) <= 36 else None
    if scan is not None and account_no is not None:
        if session.get_one(Customer, scan.customer_id).account_no != account_no:
            scan = None
    if scan is None:
        raise errors.DomainError(errors.SCAN_UNKNOWN, details={"scan_id": scan_id})
    return scan


def scans_of(session: Session, customer_id: int) -> list[Scan]:
    """A customer's scans: the unfiled ones first (oldest first), then the filed ones in 卷内目录 order."""
    rows = list(
        session.scalars(select(Scan).where(Scan.customer_id == customer_id).order_by(Scan.received_at, Scan.id))
    )
    return sorted(rows, key=lambda s: (s.dossier_item_id is not None, s.filed_at or s.received_at))


def evidence_of(session: Session, scan_ids: list[str]) -> dict[str, ScanEvidence]:
    """The evidence rows of these scans (missing until the pipeline has started)."""
    if not scan_ids:
        return {}
    return {e.scan_id: e for e in session.scalars(select(ScanEvidence).where(ScanEvidence.scan_id.in_(scan_ids)))}


def _next_page(session: Session, dossier_id: int) -> int:
    """The first 页号 of a new entry: page numbers run on through the whole 卷内目录."""
    used = session.scalar(
        select(func.coalesce(func.sum(DossierItem.pages), 0)).where(DossierItem.dossier_id == dossier_id)
    )
    return int(used or 0) + 1


@transaction
def file_scan(
    session: Session,
    actor: Actor,
    user_id: int | None,
    scan_id: str,
    now: datetime,
    settings: LifecycleSettings,
    account_no: str | None = None,
) -> DossierItem:
    """File a scan into its customer's 卷内目录; committed. Filing twice is ``scan.already_filed``."""
    scan = get_scan(session, scan_id, account_no)
    if scan.dossier_item_id is not None:
        raise errors.DomainError(
            errors.SCAN_ALREADY_FILED, details={"scan_id": scan.id, "dossier_item_id": scan.dossier_item_id}
        )
    if scan.state == "integrity_failed":
        raise errors.DomainError(errors.SCAN_INTEGRITY_FAILED, details={"scan_id": scan.id})
    customer = session.get_one(Customer, scan.customer_id)
    event_id = scan.business_event_id
    if event_id is None:
        event_id = dossiers.suggest_event(session, filing_scope.current(), customer, scan.doc_type)
    first = _next_page(session, customer.dossier.id)
    item = dossiers.file_item(
        session,
        customer,
        user_id,
        now,
        doc_type=scan.doc_type,
        title=scan.title,
        doc_date=scan.doc_date,
        source="scan",
        pages=scan.pages,
        business_event_id=event_id,
        extra={
            "scan_id": scan.id,
            "sha256": scan.sha256,
            "page_from": first,
            "page_to": first + scan.pages - 1,
            "quality_flags": list(scan.flags or []),
            "note": scan.note,
        },
    )
    # Two archivists filing the same scan at once: the unique dossier_item_id lets one win.
    scan.dossier_item_id, scan.filed_at = item.id, now
    slot = boxes.assign_box(session, actor, customer, now, settings)
    today = now.astimezone(BEIJING).date()
    for obligation in session.scalars(
        select(FilingObligation).where(
            FilingObligation.customer_id == customer.id, FilingObligation.state.not_in(FINAL_STATES)
        )
    ):
        obligations.evaluate(session, actor, obligation, today, now, settings)
    translog.append_event(
        session,
        scan_stamping.LOG_FILED,
        scan.id,
        {
            "scan_id": scan.id,
            "sha256": scan.sha256,
            "account_no": customer.account_no,
            "archive_no": customer.dossier.archive_no,
            "seq": item.seq,
            "doc_type": item.doc_type,
            "page_from": first,
            "page_to": first + scan.pages - 1,
            "filed_at": now,
        },
        now,
    )
    audit.record(
        session,
        actor,
        "scan.filed",
        "scan",
        scan.id,
        {
            "account_no": customer.account_no,
            "seq": item.seq,
            "doc_type": item.doc_type,
            "page_from": first,
            "page_to": first + scan.pages - 1,
            "box_slot": slot.id,
            "quality_flags": list(scan.flags or []),
        },
        at=now,
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise errors.DomainError(errors.SCAN_ALREADY_FILED, details={"scan_id": scan_id})
    return item


def view_rows(session: Session, scans: list[Scan]) -> list[dict]:
    """What the pages and the API show of each scan: quality with labels, evidence, filing."""
    scope = filing_scope.current()
    evidence = evidence_of(session, [s.id for s in scans])
    items = (
        {
            i.id: i
            for i in session.scalars(
                select(DossierItem).where(DossierItem.id.in_([s.dossier_item_id for s in scans if s.dossier_item_id]))
            )
        }
        if scans
        else {}
    )
    rows = []
    for scan in scans:
        item = items.get(scan.dossier_item_id) if scan.dossier_item_id else None
        rows.append(
            {
                "scan": scan,
                "evidence": evidence.get(scan.id),
                "item": item,
                "doc_label": scope.doc_label(scan.doc_type),
                "flag_labels": [scan_rules.FLAG_LABELS.get(f, f) for f in scan.flags or []],
                "mode_labels": [scan_rules.MODE_LABELS.get(m, m) for m in scan.colour_modes or []],
                "page_from": item.extra.get("page_from") if item else None,
                "page_to": item.extra.get("page_to") if item else None,
                "pages_label": dossiers.pages_label((item.extra.get("page_from"), item.extra.get("page_to")))
                if item
                else "",
            }
        )
    return rows


VARIANTS = ("original", "thumbnail", "preview")


@dataclass(frozen=True)
class Opened:
    """A scan's bytes (or derivative) ready to stream."""

    stream: object
    mime_type: str
    key: str
    filename: str


def check_all(files: list[tuple[str | None, bytes]], max_bytes: int | None) -> None:
    """Refuse a batch before keeping any of it: each file must be small enough and readable."""
    if not files:
        raise errors.DomainError(errors.SCAN_NO_FILE)
    for index, (filename, data) in enumerate(files):
        if max_bytes is not None and len(data) > max_bytes:
            raise errors.DomainError(
                errors.SCAN_TOO_LARGE,
                details={"index": index, "filename": filename, "size": len(data), "max": max_bytes},
            )
        try:
            scan_rules.inspect(data)
        except scan_rules.ScanError as exc:
            raise errors.DomainError(
                errors.SCAN_UNREADABLE, details={"index": index, "filename": filename, "reason": str(exc)}
            )


@transaction
def intake_many(
    session: Session,
    actor: Actor,
    user_id: int | None,
    account_no: str,
    files: list[tuple[str | None, bytes]],
    request: ScanRequest,
    now: datetime,
    blobs,
    *,
    max_bytes: int | None = None,
) -> list[Intake]:
    """Keep several files with the same description; nothing is kept if one of them is refused."""
    dossiers.customer_by_account(session, account_no)
    check_all(files, max_bytes)
    return [
        intake(session, actor, user_id, account_no, data, filename, request, now, blobs, max_bytes=max_bytes)
        for filename, data in files
    ]


@transaction
def open_variant(
    session: Session, actor: Actor, blobs, account_no: str, scan_id: str, variant: str, now: datetime
) -> Opened:
    """The original bytes (audited as a download), the first-page thumbnail or the preview."""
    if variant not in VARIANTS:
        raise errors.DomainError(errors.NOT_FOUND, details={"variant": variant, "allowed": list(VARIANTS)})
    scan = get_scan(session, scan_id, account_no)
    if variant == "original":
        audit.record(
            session, actor, "scan.download", "scan", scan.id, {"account_no": account_no, "sha256": scan.sha256}, at=now
        )
        return Opened(blobs.open(scan.sha256), scan_rules.MIME_TYPES[scan.file_format], scan.sha256, scan.filename)
    evidence = session.get(ScanEvidence, scan.id)
    key = getattr(evidence, f"{variant}_key", None) if evidence is not None else None
    if key is None:
        raise errors.DomainError(errors.SCAN_PREVIEW_MISSING, details={"scan_id": scan.id, "variant": variant})
    return Opened(blobs.open(key), "image/jpeg", key, f"{scan.id}-{variant}.jpg")


# --- legal retrieval ---------------------------------------------------------------------------

LEGAL_MAX_LIMIT = 100
LEGAL_SORT = "scans"


@dataclass(frozen=True)
class ScanFilters:
    """What legal staff ask for; every field optional. Dates are document dates (文件日期)."""

    account_no: str | None = None
    doc_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    flag: str | None = None
    filed: bool | None = None
    limit: int = 25

    def described(self) -> dict:
        return {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in self.__dict__.items()
            if v is not None and k != "limit"
        }


def legal_search(session: Session, actor: Actor, user, filters: ScanFilters, cursor: str | None, now: datetime) -> dict:
    """One page of scans, newest receipt first (keyset on receipt time and id); the search is registered."""
    if filters.flag is not None and filters.flag not in scan_rules.FLAG_LABELS:
        raise errors.DomainError(
            errors.LEGAL_BAD_FILTER, details={"filter": "flag", "allowed": sorted(scan_rules.FLAG_LABELS)}
        )
    query = select(Scan, Customer).join(Customer, Customer.id == Scan.customer_id)
    if filters.account_no:
        query = query.where(Customer.account_no == filters.account_no.strip())
    if filters.doc_type:
        query = query.where(Scan.doc_type == filters.doc_type)
    if filters.date_from:
        query = query.where(Scan.doc_date >= filters.date_from)
    if filters.date_to:
        query = query.where(Scan.doc_date <= filters.date_to)
    if filters.filed is not None:
        query = query.where(Scan.dossier_item_id.is_not(None) if filters.filed else Scan.dossier_item_id.is_(None))
    if cursor:
        moment, last_id = legal_search_cursor.decode_cursor(cursor, LEGAL_SORT)
        query = query.where(or_(Scan.received_at < moment, and_(Scan.received_at == moment, Scan.id < last_id)))
    limit = max(1, min(filters.limit, LEGAL_MAX_LIMIT))
    rows: list[Scan] = []
    last, fetched = None, 0
    batch_size = limit + 1
    while len(rows) <= limit:  # the flag is tested in Python (a JSON list): read on until the page is full
        batch = session.execute(
            query.order_by(Scan.received_at.desc(), Scan.id.desc()).offset(fetched).limit(batch_size)
        ).all()
        fetched += len(batch)
        for scan, _customer in batch:
            if filters.flag is None or filters.flag in (scan.flags or []):
                rows.append(scan)
        if len(batch) < batch_size:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        last = rows[-1]
    use_register.register(
        session,
        actor,
        user,
        "search",
        now,
        details={"scans": True, "filters": filters.described(), "results": len(rows), "page": bool(cursor)},
    )
    session.commit()
    customers = (
        {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_({s.customer_id for s in rows})))}
        if rows
        else {}
    )
    return {
        "items": [
            {
                **row,
                "account_no": customers[row["scan"].customer_id].account_no,
                "customer_name": customers[row["scan"].customer_id].name,
            }
            for row in view_rows(session, rows)
        ],
        "next_cursor": legal_search_cursor.encode_cursor(LEGAL_SORT, last.received_at, last.id) if last else None,
    }
