"""Supervised destruction: disposal lists → manager approval → execution → permanent records.

Nothing is destroyed without an approved list; an active legal hold on the customer or on any
item of its dossier blocks execution. Every stored copy of the evidence bytes goes: photo
originals and their derivatives in the blob store, evidence bundles kept on the server that
hold any of the photos (export store), and partial uploads of the photos in the staging area;
an evidence bundle that also holds photos of a customer under a legal hold refuses the whole
execution instead. Every database row stays and says what happened: photos, captures and
dossier items are marked destroyed with the record's id, captures still waiting for review are
closed (the inspector's tablets learn it on their next pull), exports are marked destroyed.
Each destroyed dossier leaves a destruction record (what, why, approved by whom, when, hashes
of what was destroyed, every removed copy) whose SHA-256 is appended to the transparency log as
a ``destroyed`` event.

Execution commits the records first and removes bytes afterwards: if the process dies in
between, the record already names the copies and executing the list again finishes the removal.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from core.beijing_time import BEIJING
from core.hashing import digest_stream
from core.states import OPEN_REVIEW_STATES
from models import (
    Blob,
    Capture,
    Customer,
    DestructionRecord,
    DisposalEntry,
    DisposalList,
    Dossier,
    DossierItem,
    EvidenceExport,
    LegalHold,
    Photo,
    RetentionState,
    Scan,
    ScanEvidence,
    Upload,
    User,
    audit,
)
from services import evidence_export, review_events, translog
from services.lifecycle import boxes
from services.lifecycle.common import actor_user_id, customer_by_account
from services.unit_of_work import transaction
from sync.uploads import discard_staging

log = logging.getLogger("dangan.destruction")


def canonical_json(content: dict) -> bytes:
    """The byte form a destruction record is hashed in: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_digest(content: dict) -> str:
    """SHA-256 (hex) of a destruction record's canonical JSON."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def _list(session: Session, list_id: int) -> DisposalList:
    disposal = session.get(DisposalList, list_id)
    if disposal is None:
        raise errors.DomainError(errors.UNKNOWN_DISPOSAL_LIST, details={"list_id": list_id})
    return disposal


def _expect(disposal: DisposalList, *states: str) -> None:
    if disposal.state not in states:
        raise errors.DomainError(errors.DISPOSAL_BAD_STATE, details={"state": disposal.state, "expected": list(states)})


def holds_blocking(session: Session, customer_ids: list[int]) -> list[LegalHold]:
    """Active legal holds on these customers or on any item of their dossiers."""
    if not customer_ids:
        return []
    return list(
        session.scalars(
            select(LegalHold)
            .where(LegalHold.lifted_at.is_(None))
            .where(LegalHold.customer_id.in_(customer_ids))
            .order_by(LegalHold.id)
        )
    )


def _hold_details(session: Session, holds: list[LegalHold]) -> list[dict]:
    accounts = dict(
        session.execute(select(Customer.id, Customer.account_no).where(Customer.id.in_({h.customer_id for h in holds})))
        .tuples()
        .all()
    )
    return [
        {"hold_id": h.id, "account_no": accounts.get(h.customer_id), "item_id": h.dossier_item_id, "reason": h.reason}
        for h in holds
    ]


@transaction
def propose_list(
    session: Session, actor: Actor, *, title: str, reason: str, account_nos: list[str], today: date, now: datetime
) -> DisposalList:
    """Propose eligible, unheld dossiers for destruction; the list then waits for approval."""
    account_nos = [a.strip() for a in dict.fromkeys(account_nos or []) if a and a.strip()]
    if not account_nos:
        raise errors.DomainError(errors.DISPOSAL_EMPTY)
    title, reason = (title or "").strip(), (reason or "").strip()
    if not title or not reason:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "A disposal list needs a title and a reason.",
            details={"fields": {k: ["required"] for k, v in (("title", title), ("reason", reason)) if not v}},
        )
    customers = [customer_by_account(session, a) for a in account_nos]
    states = {
        s.customer_id: s
        for s in session.scalars(
            select(RetentionState).where(RetentionState.customer_id.in_([c.id for c in customers]))
        )
    }
    for customer in customers:
        state = states.get(customer.id)
        if state is None or state.eligible_on > today:
            raise errors.DomainError(
                errors.NOT_ELIGIBLE,
                details={
                    "account_no": customer.account_no,
                    "status": customer.status,
                    "eligible_on": state.eligible_on.isoformat() if state else None,
                },
            )
        if state.destroyed_at is not None or _on_open_list(session, customer.id):
            raise errors.DomainError(errors.DISPOSAL_ALREADY_LISTED, details={"account_no": customer.account_no})
    held = holds_blocking(session, [c.id for c in customers])
    if held:
        raise errors.DomainError(errors.DISPOSAL_ON_HOLD, details={"holds": _hold_details(session, held)})
    disposal = DisposalList(
        title=title[:200], reason=reason[:4000], state="proposed", proposed_by_id=actor_user_id(actor), proposed_at=now
    )
    session.add(disposal)
    session.flush()
    for customer in customers:
        session.add(
            DisposalEntry(
                disposal_list_id=disposal.id,
                customer_id=customer.id,
                eligible_on=states[customer.id].eligible_on,
                withdrawn=False,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "disposal.propose",
        "disposal_list",
        disposal.id,
        {"accounts": [c.account_no for c in customers], "reason": disposal.reason},
        at=now,
    )
    return disposal


def _on_open_list(session: Session, customer_id: int) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(DisposalEntry)
            .join(DisposalList, DisposalEntry.disposal_list_id == DisposalList.id)
            .where(
                DisposalEntry.customer_id == customer_id,
                DisposalEntry.withdrawn.is_(False),
                DisposalList.state.in_(("proposed", "approved")),
            )
        )
        or 0
    ) > 0


@transaction
def decide_list(
    session: Session, actor: Actor, list_id: int, approve: bool, now: datetime, note: str | None = None
) -> DisposalList:
    """The archive manager approves or rejects a proposed list (never their own)."""
    disposal = _list(session, list_id)
    _expect(disposal, "proposed")
    user_id = actor_user_id(actor)
    if user_id is not None and user_id == disposal.proposed_by_id:
        raise errors.DomainError(errors.DISPOSAL_SELF_APPROVAL)
    disposal.state = "approved" if approve else "rejected"
    disposal.decided_by_id, disposal.decided_at = user_id, now
    disposal.decision_note = (note or "").strip()[:2000] or None
    audit.record(
        session,
        actor,
        "disposal.approve" if approve else "disposal.reject",
        "disposal_list",
        disposal.id,
        {"note": disposal.decision_note},
        at=now,
    )
    return disposal


@transaction
def withdraw_entry(
    session: Session, actor: Actor, list_id: int, account_no: str, now: datetime, reason: str | None = None
) -> DisposalEntry:
    """Take one dossier off a list before execution (shrinking a list needs no new approval)."""
    disposal = _list(session, list_id)
    _expect(disposal, "proposed", "approved")
    customer = customer_by_account(session, account_no)
    entry = session.scalar(
        select(DisposalEntry).where(DisposalEntry.disposal_list_id == list_id, DisposalEntry.customer_id == customer.id)
    )
    if entry is None:
        raise errors.DomainError(
            errors.NOT_FOUND,
            "The dossier is not on this list.",
            details={"account_no": customer.account_no, "list_id": list_id},
        )
    if not entry.withdrawn:
        entry.withdrawn = True
        audit.record(
            session,
            actor,
            "disposal.withdraw",
            "disposal_list",
            list_id,
            {"account_no": customer.account_no, "reason": (reason or "").strip() or None},
            at=now,
        )
    return entry


def _derivative_columns() -> list[tuple[Table, list]]:
    """(table, key columns) of the evidence models that keep derived blobs of a photo.

    Any model of ``models.evidence`` with a ``photo_id`` column qualifies; its columns
    named ``*_key`` (thumbnail, preview, stamped copy …) or referencing ``blobs`` are blob keys.
    """
    try:
        evidence = importlib.import_module("models.evidence")
    except ModuleNotFoundError:
        return []
    out = []
    for model in vars(evidence).values():
        table = getattr(model, "__table__", None)
        if table is None or getattr(model, "__module__", "") != evidence.__name__ or "photo_id" not in table.c:
            continue
        columns = [
            c
            for c in table.c
            if c.name != "photo_id"
            and (c.name.endswith("_key") or any(fk.column.table.name == "blobs" for fk in c.foreign_keys))
        ]
        if columns:
            out.append((table, columns))
    return out


def _evidence_keys(session: Session, customer_id: int) -> list[tuple[str, str, str | None]]:
    """(sha256, role, photo id) of every photo blob and derivative blob of the customer's captures."""
    photos = session.execute(
        select(Photo.id, Photo.blob_sha256)
        .join(Capture, Photo.capture_id == Capture.id)
        .where(Capture.customer_id == customer_id)
    ).all()
    keys = [(sha, "photo", pid) for pid, sha in photos if sha]
    photo_ids = [pid for pid, _ in photos]
    # scanned paper documents of the dossier: the original and its first-page derivatives
    for scan_id, sha, thumb, preview in session.execute(
        select(Scan.id, Scan.sha256, ScanEvidence.thumbnail_key, ScanEvidence.preview_key)
        .outerjoin(ScanEvidence, ScanEvidence.scan_id == Scan.id)
        .where(Scan.customer_id == customer_id)
    ):
        keys.append((sha, "scan", scan_id))
        keys += [
            (key, f"scan_derivative:{name}", scan_id)
            for name, key in (("thumbnail_key", thumb), ("preview_key", preview))
            if key
        ]
    for table, columns in _derivative_columns() if photo_ids else []:
        for column in columns:
            for photo_id, key in session.execute(
                select(table.c.photo_id, column).where(table.c.photo_id.in_(photo_ids))
            ):
                if key:
                    keys.append((key, f"derivative:{column.name}", photo_id))
    seen, out = set(), []
    for key in keys:
        if key[0] not in seen:
            seen.add(key[0])
            out.append(key)
    return out


def _kept_photos(customer_id: int):
    """Photos whose evidence must stay: other customers' (not destroyed), unlinked, or without capture."""
    return (
        select(Photo.id)
        .outerjoin(Capture, Photo.capture_id == Capture.id)
        .outerjoin(RetentionState, RetentionState.customer_id == Capture.customer_id)
        .where((Capture.customer_id.is_(None)) | (Capture.customer_id != customer_id))
        .where(RetentionState.destroyed_at.is_(None))
    )


def _still_needed(session: Session, key: str, customer_id: int) -> bool:
    """True if evidence kept for another dossier uses the same bytes (blobs are content addressed)."""
    kept = _kept_photos(customer_id)
    if session.scalar(select(func.count()).select_from(Photo).where(Photo.blob_sha256 == key, Photo.id.in_(kept))):
        return True
    kept_scans = (
        select(Scan.id)
        .outerjoin(RetentionState, RetentionState.customer_id == Scan.customer_id)
        .where(Scan.customer_id != customer_id, RetentionState.destroyed_at.is_(None))
    )
    if session.scalar(select(func.count()).select_from(Scan).where(Scan.sha256 == key, Scan.id.in_(kept_scans))):
        return True
    if session.scalar(
        select(func.count())
        .select_from(ScanEvidence)
        .where(
            (ScanEvidence.thumbnail_key == key) | (ScanEvidence.preview_key == key),
            ScanEvidence.scan_id.in_(kept_scans),
        )
    ):
        return True
    for table, columns in _derivative_columns():
        for column in columns:
            if session.scalar(select(func.count()).select_from(table).where(column == key, table.c.photo_id.in_(kept))):
                return True
    return False


def _owner(role: str) -> str:
    """The record field naming whose bytes these were: ``scan_id`` for scans, ``photo_id`` otherwise."""
    return "scan_id" if role.startswith("scan") else "photo_id"


def _digests(session: Session, blobs, key: str) -> dict | None:
    """SHA-256, SM3 and size of a blob about to be destroyed (from its row, else from its bytes)."""
    blob = session.get(Blob, key)
    if blob is not None:
        return {"sha256": blob.sha256, "sm3": blob.sm3, "size": blob.size}
    if not blobs.exists(key):
        return None

    with blobs.open(key) as stream:
        found = digest_stream(stream)
    return {"sha256": key, "sm3": found.sm3, "size": found.size}


CLOSED_REASON_CODE = "dossier_destroyed"
LIVE_UPLOAD_STATES = ("receiving", "finishing")
GONE_EXPORT_STATES = ("destroyed", "expired", "rejected")


def _photo_ids(session: Session, customer_ids: list[int]) -> dict[str, int | None]:
    """Photo id → customer id of every photo of these customers' captures."""
    return (
        dict(
            session.execute(
                select(Photo.id, Capture.customer_id)
                .join(Capture, Photo.capture_id == Capture.id)
                .where(Capture.customer_id.in_(customer_ids))
            )
            .tuples()
            .all()
        )
        if customer_ids
        else {}
    )


def exports_holding(session: Session, photo_ids) -> list[EvidenceExport]:
    """Exports (kept on the server, or still to be built) that name any of these photos."""
    wanted = set(photo_ids)
    if not wanted:
        return []
    exports = session.scalars(
        select(EvidenceExport).where(EvidenceExport.state.not_in(GONE_EXPORT_STATES)).order_by(EvidenceExport.id)
    )
    return [e for e in exports if wanted & set(e.photo_ids or [])]


def _exports_blocked_by_holds(session: Session, exports: list[EvidenceExport], destroyed: set[str]) -> list[dict]:
    """Exports that also hold photos of customers under an active legal hold (they cannot be removed)."""
    others = {pid for e in exports for pid in (e.photo_ids or []) if pid not in destroyed}
    if not others:
        return []
    owners = dict(
        session.execute(
            select(Photo.id, Capture.customer_id)
            .join(Capture, Photo.capture_id == Capture.id)
            .where(Photo.id.in_(others))
        )
        .tuples()
        .all()
    )
    held = {h.customer_id: h for h in holds_blocking(session, sorted({c for c in owners.values() if c}))}
    if not held:
        return []
    accounts = dict(
        session.execute(select(Customer.id, Customer.account_no).where(Customer.id.in_(held))).tuples().all()
    )
    blocked = []
    for export in exports:
        customers = sorted({c for pid in (export.photo_ids or []) if (c := owners.get(pid)) is not None and c in held})
        if customers:
            blocked.append(
                {
                    "export_id": export.id,
                    "held_accounts": [accounts[c] for c in customers],
                    "hold_ids": [held[c].id for c in customers],
                }
            )
    return blocked


def _person(user: User | None) -> dict | None:
    return None if user is None else {"id": user.id, "username": user.username, "name": user.display_name}


def _destroy_one(
    session: Session,
    actor: Actor,
    disposal: DisposalList,
    entry: DisposalEntry,
    now: datetime,
    blobs,
    append_event: Callable,
) -> DestructionRecord:
    customer = session.get(Customer, entry.customer_id)
    assert customer is not None
    dossier = session.scalar(select(Dossier).where(Dossier.customer_id == customer.id))
    state = session.scalar(select(RetentionState).where(RetentionState.customer_id == customer.id))
    destroyed: list[dict] = []
    retained: list[dict] = []
    for key, role, photo_id in _evidence_keys(session, customer.id):
        if _still_needed(session, key, customer.id):
            retained.append({"sha256": key, "role": role, _owner(role): photo_id, "why": "shared with another dossier"})
            continue
        digests = _digests(session, blobs, key)
        if digests is None:  # a derivative that was never made, or bytes already gone
            continue
        destroyed.append(digests | {"role": role, _owner(role): photo_id})
        blob = session.get(Blob, key)
        if blob is not None and blob.destroyed_at is None:
            blob.destroyed_at = now
    photo_ids = sorted(_photo_ids(session, [customer.id]))
    exports = exports_holding(session, photo_ids)
    uploads = (
        list(
            session.scalars(
                select(Upload)
                .where(Upload.photo_id.in_(photo_ids), Upload.state.in_(LIVE_UPLOAD_STATES))
                .order_by(Upload.id)
            )
        )
        if photo_ids
        else []
    )
    captures = list(session.scalars(select(Capture).where(Capture.customer_id == customer.id).order_by(Capture.id)))
    open_captures = [c for c in captures if c.review_state in OPEN_REVIEW_STATES]
    items = (
        session.scalars(select(DossierItem).where(DossierItem.dossier_id == dossier.id).order_by(DossierItem.seq)).all()
        if dossier
        else []
    )
    users: dict[int | None, User] = {
        u.id: u
        for u in session.scalars(
            select(User).where(
                User.id.in_({i for i in (disposal.proposed_by_id, disposal.decided_by_id, actor_user_id(actor)) if i})
            )
        )
    }
    assert state is not None and disposal.decided_at is not None
    destroyed_sorted = sorted(destroyed, key=lambda d: d["sha256"])
    content = {
        "kind": "dangan.destruction_record",
        "version": 2,
        "customer": {
            "account_no": customer.account_no,
            "name": customer.name,
            "voltage_class": customer.voltage_class,
            "district": customer.district,
        },
        "archive_no": dossier.archive_no if dossier else None,
        "closed_on": state.closed_on.isoformat(),
        "retention_years": state.retention_years,
        "eligible_on": state.eligible_on.isoformat(),
        "why": {"reason": disposal.reason, "rule": f"销户满 {state.retention_years} 年"},
        "disposal_list": {
            "id": disposal.id,
            "title": disposal.title,
            "proposed_by": _person(users.get(disposal.proposed_by_id)),
            "proposed_at": disposal.proposed_at.isoformat(),
            "approved_by": _person(users.get(disposal.decided_by_id)),
            "approved_at": disposal.decided_at.isoformat(),
            "approval_note": disposal.decision_note,
        },
        "executed_by": _person(users.get(actor_user_id(actor))) or {"actor": actor.kind},
        "executed_at": now.isoformat(),
        "dossier_items": [
            {
                "seq": i.seq,
                "doc_type": i.doc_type,
                "title": i.title,
                "doc_date": i.doc_date.isoformat() if i.doc_date else None,
            }
            for i in items
        ],
        "destroyed": destroyed_sorted,
        "retained_shared": sorted(retained, key=lambda d: d["sha256"]),
        # every other stored copy of the bytes that goes with them
        "exports_removed": [
            {
                "export_id": e.id,
                "state": e.state,
                "bundle_sha256": e.bundle_sha256,
                "bundle_size": e.bundle_size,
                "photo_ids": sorted(set(e.photo_ids or []) & set(photo_ids)),
            }
            for e in exports
        ],
        "uploads_removed": [{"upload_id": u.id, "photo_id": u.photo_id, "offset": u.offset} for u in uploads],
        "photos": photo_ids,
        "captures_closed": [c.id for c in open_captures],
    }
    digest = record_digest(content)
    record = DestructionRecord(
        customer_id=customer.id, disposal_list_id=disposal.id, executed_at=now, content=content, record_sha256=digest
    )
    session.add(record)
    session.flush()
    entry.destruction_record_id = record.id
    state.destroyed_at = now
    _mark_destroyed(session, actor, record, photo_ids, captures, open_captures, items, exports, uploads, now)
    boxes.free_position(session, actor, customer, now)
    append_event(
        session,
        "destroyed",
        content["archive_no"] or customer.account_no,
        {
            "record_id": record.id,
            "record_sha256": digest,
            "account_no": customer.account_no,
            "disposal_list_id": disposal.id,
            "sha256": [d["sha256"] for d in destroyed_sorted],
        },
        now,
    )
    audit.record(
        session,
        actor,
        "dossier.destroy",
        "customer",
        customer.account_no,
        {"record_id": record.id, "record_sha256": digest, "blobs": len(destroyed), "retained_shared": len(retained)},
        at=now,
    )
    return record


def _mark_destroyed(
    session: Session,
    actor: Actor,
    record: DestructionRecord,
    photo_ids: list[str],
    captures: list[Capture],
    open_captures: list[Capture],
    items,
    exports: list[EvidenceExport],
    uploads: list[Upload],
    now: datetime,
) -> None:
    """Every row that referred to the destroyed bytes now says so, naming the record."""
    for photo in session.scalars(select(Photo).where(Photo.id.in_(photo_ids))) if photo_ids else []:
        photo.state, photo.destruction_record_id = "destroyed", record.id
    reason = closed_reason(record)
    for capture in captures:
        capture.record_state, capture.destruction_record_id = "destroyed", record.id
    for capture in open_captures:
        capture.review_state, capture.closed_reason = "closed", reason
        capture.review_version += 1
        review_events.publish_decision(session, capture, CLOSED_REASON_CODE, reason, now)
        audit.record(
            session,
            actor,
            "review.closed",
            "capture",
            capture.id,
            {"reason_code": CLOSED_REASON_CODE, "record_id": record.id},
            at=now,
        )
    for item in items:
        item.record_state, item.destruction_record_id = "destroyed", record.id
    for export in exports:
        export.state, export.removed_at, export.destruction_record_id = "destroyed", now, record.id
        audit.record(
            session,
            actor,
            "evidence.export_destroyed",
            "evidence_export",
            export.id,
            {"record_id": record.id, "bundle_sha256": export.bundle_sha256},
            at=now,
        )
    for upload in uploads:
        upload.state, upload.updated_at = "terminated", now


def _translog_append() -> Callable:

    return translog.append_event


@dataclass
class ExecutionReport:
    """What executing a list did."""

    list_id: int
    records: list[int]
    bytes_removed: int
    bytes_already_gone: int
    bundles_removed: int = 0

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "list_id": self.list_id,
            "records": self.records,
            "bytes_removed": self.bytes_removed,
            "bytes_already_gone": self.bytes_already_gone,
            "bundles_removed": self.bundles_removed,
        }


def execute_list(
    session: Session,
    actor: Actor,
    list_id: int,
    today: date,
    now: datetime,
    blobs,
    append_event: Callable | None = None,
    exports=None,
) -> ExecutionReport:
    """Destroy the dossiers of an approved list; commits. Re-running finishes any byte removal.

    ``blobs`` is the blob store, ``exports`` the export store (ports.exportstore).
    """
    disposal = _list(session, list_id)
    if disposal.state != "executed":
        _expect(disposal, "approved")
        entries = [e for e in disposal.entries if not e.withdrawn]
        if not entries:
            raise errors.DomainError(errors.DISPOSAL_EMPTY, "Every dossier was withdrawn from this list.")
        held = holds_blocking(session, [e.customer_id for e in entries])
        if held:
            raise errors.DomainError(errors.DISPOSAL_ON_HOLD, details={"holds": _hold_details(session, held)})
        photos = _photo_ids(session, [e.customer_id for e in entries])
        blocked = _exports_blocked_by_holds(session, exports_holding(session, photos), set(photos))
        if blocked:
            raise errors.DomainError(errors.DISPOSAL_EXPORT_ON_HOLD, details={"exports": blocked})
        for entry in entries:
            state = session.scalar(select(RetentionState).where(RetentionState.customer_id == entry.customer_id))
            customer = session.get(Customer, entry.customer_id)
            assert customer is not None
            if state is None or customer.status != "closed" or state.eligible_on > today:
                raise errors.DomainError(
                    errors.NOT_ELIGIBLE,
                    details={
                        "account_no": customer.account_no,
                        "eligible_on": state.eligible_on.isoformat() if state else None,
                    },
                )
        append = append_event or _translog_append()
        for entry in entries:
            _destroy_one(session, actor, disposal, entry, now, blobs, append)
        disposal.state, disposal.executed_at, disposal.executed_by_id = "executed", now, actor_user_id(actor)
        audit.record(
            session, actor, "disposal.execute", "disposal_list", disposal.id, {"dossiers": len(entries)}, at=now
        )
        session.commit()
    records = session.scalars(
        select(DestructionRecord).where(DestructionRecord.disposal_list_id == list_id).order_by(DestructionRecord.id)
    ).all()
    removed = gone = bundles = 0
    for record in records:
        for entry in record.content["destroyed"]:
            if blobs.destroy(entry["sha256"]):
                removed += 1
            else:
                gone += 1
        for copy in record.content.get("exports_removed", []):
            export = session.get(EvidenceExport, copy["export_id"])
            if export is not None and evidence_export.delete_bundle_files(export, exports):
                bundles += 1
        for copy in record.content.get("uploads_removed", []):
            discard_staging(blobs, copy["upload_id"])
    log.info(
        "disposal list %s executed: %s records, %s blobs and %s bundles removed",
        list_id,
        len(records),
        removed,
        bundles,
    )
    return ExecutionReport(list_id, [r.id for r in records], removed, gone, bundles)


def verify_record(session: Session, record_id: int, blobs, exports=None) -> dict:
    """Check a destruction record: its digest matches its content, no copy of the bytes is left, rows are marked.

    The blob store is asked for every destroyed digest; the export store is searched for any
    bundle whose manifest lists a destroyed digest, and for the bundles the record removed.
    """
    record = session.get(DestructionRecord, record_id)
    if record is None:
        raise errors.DomainError(errors.UNKNOWN_DESTRUCTION_RECORD, details={"record_id": record_id})
    digest_ok = record_digest(record.content) == record.record_sha256
    keys = [d["sha256"] for d in record.content.get("destroyed", [])]
    still_stored = [k for k in keys if blobs.exists(k)]
    # photos always have a blob row; derivatives only sometimes: every row there must be marked
    unmarked = [
        d["sha256"]
        for d in record.content.get("destroyed", [])
        if ((b := session.get(Blob, d["sha256"])) is None and d["role"] == "photo")
        or (b is not None and b.destroyed_at is None)
    ]
    logged = _logged_leaf(session, record)
    removed_exports = [c["export_id"] for c in record.content.get("exports_removed", [])]
    bundles_left = (
        sorted(set(exports.bundles_holding(keys)) | {e for e in removed_exports if exports.exists(e)})
        if exports is not None
        else []
    )
    photos = record.content.get("photos", [])
    photos_unmarked = (
        [p.id for p in session.scalars(select(Photo).where(Photo.id.in_(photos))) if p.state != "destroyed"]
        if photos
        else []
    )
    return {
        "record_id": record.id,
        "record_sha256": record.record_sha256,
        "digest_ok": digest_ok,
        "blobs": len(keys),
        "still_stored": still_stored,
        "unmarked": unmarked + photos_unmarked,
        "exports_removed": removed_exports,
        "bundles_still_stored": bundles_left,
        "log_leaf_index": logged,
        "ok": digest_ok
        and not still_stored
        and not unmarked
        and not photos_unmarked
        and not bundles_left
        and logged is not None,
    }


def _logged_leaf(session: Session, record: DestructionRecord) -> int | None:
    """Index of the transparency-log leaf that carries this record's digest, or None."""

    subject = record.content.get("archive_no") or record.content["customer"]["account_no"]
    leaf = translog.find_event(session, "destroyed", subject)
    if leaf is None:
        return None
    payload = json.loads(bytes(leaf.entry).decode("utf-8")).get("payload", {})
    return leaf.index if payload.get("record_sha256") == record.record_sha256 else None


def record_of_customer(session: Session, customer_id: int | None) -> DestructionRecord | None:
    """The destruction record of a customer's dossier, if it was destroyed."""
    if customer_id is None:
        return None
    return session.scalar(
        select(DestructionRecord)
        .where(DestructionRecord.customer_id == customer_id)
        .order_by(DestructionRecord.id.desc())
        .limit(1)
    )


def record_label(record_id: int | None, executed_at: datetime | None) -> dict | None:
    """How pages and APIs name a destruction: the record's number and the (Beijing) date it was executed."""
    if record_id is None:
        return None
    day = executed_at.astimezone(BEIJING).date().isoformat() if executed_at else None
    return {
        "record_id": record_id,
        "destroyed_on": day,
        "text": f"已销毁（销毁记录第 {record_id} 号，{day}）" if day else f"已销毁（销毁记录第 {record_id} 号）",
    }


def closed_reason(record: DestructionRecord) -> str:
    """Why a capture of a destroyed dossier is closed (shown to archivists and sent to the tablet)."""
    day = record.executed_at.astimezone(BEIJING).date().isoformat()
    return f"客户档案已于 {day} 销毁（销毁记录第 {record.id} 号），该采集不再审核归档。"


def close_if_destroyed(session: Session, actor: Actor, capture: Capture, now: datetime) -> bool:
    """Close a capture waiting for review whose customer's dossier is destroyed (arriving late from a tablet)."""
    if capture.review_state not in OPEN_REVIEW_STATES:
        return False
    record = record_of_customer(session, capture.customer_id)
    if record is None:
        return False
    capture.review_state, capture.closed_reason = "closed", closed_reason(record)
    capture.review_version = (capture.review_version or 1) + 1
    review_events.publish_decision(session, capture, CLOSED_REASON_CODE, capture.closed_reason, now)
    audit.record(
        session,
        actor,
        "review.closed",
        "capture",
        capture.id,
        {"reason_code": CLOSED_REASON_CODE, "record_id": record.id},
        at=now,
    )
    return True


def refuse_if_destroyed(session: Session, customer_id: int | None) -> None:
    """``dossier.destroyed`` (409) when the customer's dossier was destroyed."""
    record = record_of_customer(session, customer_id)
    if record is not None:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        raise errors.DomainError(
            errors.DOSSIER_DESTROYED,
            details={"account_no": customer.account_no, **(record_label(record.id, record.executed_at) or {})},
        )


def list_disposals(session: Session, page: int = 1, per_page: int = 20) -> tuple[list[DisposalList], int]:
    """A page of disposal lists, newest first, and the total."""
    total = session.scalar(select(func.count()).select_from(DisposalList)) or 0
    lists = session.scalars(
        select(DisposalList).order_by(DisposalList.id.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(lists), total


def list_records(session: Session, page: int = 1, per_page: int = 50) -> tuple[list[DestructionRecord], int]:
    """A page of destruction records, newest first, and the total."""
    total = session.scalar(select(func.count()).select_from(DestructionRecord)) or 0
    records = session.scalars(
        select(DestructionRecord)
        .order_by(DestructionRecord.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(records), total


def get_record(session: Session, record_id: int) -> DestructionRecord:
    """One destruction record or ``destruction.unknown``."""
    record = session.get(DestructionRecord, record_id)
    if record is None:
        raise errors.DomainError(errors.UNKNOWN_DESTRUCTION_RECORD, details={"record_id": record_id})
    return record


def get_list(session: Session, list_id: int) -> DisposalList:
    """One disposal list or ``disposal.unknown``."""
    return _list(session, list_id)
