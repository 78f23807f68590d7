"""Evidence exports: asking for one, building the bundle ZIP, and handing it out — all registered.

A bundle holds the originals byte for byte, ``manifest.json``, ``SHA256SUMS``, the RFC 3161
tokens with the TSA chain, Merkle inclusion proofs of every evidence event against a signed
and timestamped checkpoint, the log's public key, each photo's custody log, ``report.pdf`` and
``VERIFY.md`` (see :mod:`verifier.layout`). The hash of the manifest is written into the
evidence log with an ``exported`` event per photo *before* the checkpoint is signed, so the
manifest cannot be changed afterwards without the verifier noticing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import errors, merkle
from core.actor import SYSTEM, Actor
from core.beijing_time import BEIJING
from models import (
    Capture,
    Customer,
    EvidenceExport,
    LogCheckpoint,
    Photo,
    PhotoEvidence,
    Scan,
    ScanEvidence,
    User,
    audit,
)
from models.database import db
from models.legal import EXPORT_STATES
from services import bundle_guide, evidence_bundle, export_approval, export_queue, translog, use_register
from services.bundle_zip import BundleWriter
from services.report_pdf import render_report
from services.stamping_env import env_for
from verifier import layout
from verifier.check import Pins, verify_bundle
from verifier.timestamps import verify_response

log = logging.getLogger("dangan.exports")
# the source files of the offline verifier, copied into every bundle under tools/
ROOT = Path(__file__).resolve().parents[1]
VERIFIER_SOURCES = tuple(f"verifier/{p.name}" for p in sorted((ROOT / "verifier").glob("*.py")))
DEFAULT_BUNDLE_DAYS = 30
EXPORTABLE_STATES = ("ready", "hashed", "exif_read", "time_analysed", "derived", "timestamped")


@dataclass(frozen=True)
class Criteria:
    """What to export: a customer's photos in a time window, and/or named photos."""

    account_no: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    photo_ids: tuple[str, ...] = ()
    skip_destroyed: bool = False  # leave destroyed photos out (listed in the manifest) instead of refusing

    def as_dict(self) -> dict:
        """JSON form stored with the request."""
        return {
            "account_no": self.account_no,
            "date_from": self.date_from and self.date_from.isoformat(),
            "date_to": self.date_to and self.date_to.isoformat(),
            "photo_ids": list(self.photo_ids),
            "skip_destroyed": self.skip_destroyed,
        }


class StoredBytesChanged(ValueError):
    """The stored original no longer matches its recorded hashes (the message names only the photo)."""


def _day_bounds(criteria: Criteria) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(criteria.date_from, time.min, BEIJING) if criteria.date_from else None
    end = datetime.combine(criteria.date_to + timedelta(days=1), time.min, BEIJING) if criteria.date_to else None
    return start, end


def select_photos(session: Session, criteria: Criteria) -> list[Photo]:
    """The photos a request names, in receipt order; unknown names raise a 4xx with the ids."""
    if not criteria.account_no and not criteria.photo_ids:
        raise errors.DomainError(errors.EXPORT_EMPTY, "Name a customer (户号) or photo ids.")
    query = select(Photo).outerjoin(PhotoEvidence, PhotoEvidence.photo_id == Photo.id)
    if criteria.account_no:
        customer = session.scalar(select(Customer).where(Customer.account_no == criteria.account_no))
        if customer is None:
            raise errors.DomainError(errors.UNKNOWN_CUSTOMER, details={"account_no": criteria.account_no})
        query = query.join(Capture, Capture.id == Photo.capture_id).where(Capture.customer_id == customer.id)
    if criteria.photo_ids:
        query = query.where(Photo.id.in_(criteria.photo_ids))
    start, end = _day_bounds(criteria)
    moment = func.coalesce(PhotoEvidence.estimated_capture_at, Photo.received_at)
    if start:
        query = query.where(moment >= start)
    if end:
        query = query.where(moment < end)
    photos = list(session.scalars(query.order_by(Photo.received_at, Photo.id)))
    if criteria.photo_ids:
        missing = sorted(set(criteria.photo_ids) - {p.id for p in photos})
        if missing and not criteria.account_no and not (start or end):
            raise errors.DomainError(errors.EXPORT_UNKNOWN_PHOTO, details={"photo_ids": missing[:50]})
    return photos


def select_scans(session: Session, criteria: Criteria) -> list[Scan]:
    """A customer's scanned paper documents go with its photos (document date, else receipt date, in the window)."""
    if not criteria.account_no:
        return []
    customer = session.scalar(select(Customer).where(Customer.account_no == criteria.account_no))
    if customer is None:
        return []
    scans = session.scalars(
        select(Scan).where(Scan.customer_id == customer.id).order_by(Scan.received_at, Scan.id)
    ).all()

    def day(scan: Scan) -> date:
        return scan.doc_date or scan.received_at.astimezone(BEIJING).date()

    return [
        s
        for s in scans
        if (criteria.date_from is None or day(s) >= criteria.date_from)
        and (criteria.date_to is None or day(s) <= criteria.date_to)
    ]


def _checked_scan_sizes(session: Session, scans: list[Scan]) -> int:
    not_ready, total = [], 0
    for scan in scans:
        evidence = session.get(ScanEvidence, scan.id)
        if evidence is None or evidence.sha256 is None or scan.state not in EXPORTABLE_STATES:
            not_ready.append(scan.id)
        else:
            total += evidence.size or 0
    if not_ready:
        raise errors.DomainError(errors.EXPORT_NOT_READY, details={"scan_ids": not_ready[:50]})
    return total


def _checked_sizes(session: Session, photos: list[Photo]) -> int:
    not_ready, total = [], 0
    for photo in photos:
        evidence = session.get(PhotoEvidence, photo.id)
        if (
            photo.blob_sha256 is None
            or evidence is None
            or evidence.sha256 is None
            or photo.state not in EXPORTABLE_STATES
        ):
            not_ready.append(photo.id)
        else:
            total += evidence.size or 0
    if not_ready:
        raise errors.DomainError(errors.EXPORT_NOT_READY, details={"photo_ids": not_ready[:50]})
    return total


def _without_destroyed(photos: list[Photo], skip: bool) -> tuple[list[Photo], list[dict]]:
    """Refuse a selection naming destroyed photos, or (when asked) leave them out and say so."""
    destroyed = [p for p in photos if p.state == "destroyed"]
    if destroyed and not skip:
        raise errors.DomainError(
            errors.EXPORT_ITEMS_DESTROYED,
            details={
                "photo_ids": [p.id for p in destroyed[:50]],
                "count": len(destroyed),
                "destruction_records": sorted({p.destruction_record_id for p in destroyed if p.destruction_record_id}),
            },
        )
    left_out = [
        {"photo_id": p.id, "reason": "destroyed", "destruction_record_id": p.destruction_record_id} for p in destroyed
    ]
    return [p for p in photos if p.state != "destroyed"], left_out


def request_export(
    session: Session,
    actor: Actor,
    user: User | None,
    criteria: Criteria,
    purpose: str | None,
    now: datetime,
    limits: export_approval.ApprovalLimits,
) -> EvidenceExport:
    """Register an export request; large ones wait for approval, the others are queued at once."""
    purpose = use_register.check_purpose(purpose)
    photos = select_photos(session, criteria)
    scans = select_scans(session, criteria)
    if not photos and not scans:
        raise errors.DomainError(errors.EXPORT_EMPTY)
    count = len(photos) + len(scans)
    if count > limits.hard_max_items:
        raise errors.DomainError(errors.EXPORT_TOO_LARGE, details={"max_items": limits.hard_max_items})
    photos, left_out = _without_destroyed(photos, criteria.skip_destroyed)
    if not photos and not scans:
        raise errors.DomainError(errors.EXPORT_EMPTY, details={"left_out": [d["photo_id"] for d in left_out]})
    count = len(photos) + len(scans)
    total = _checked_sizes(session, photos) + _checked_scan_sizes(session, scans)
    waiting = export_approval.needs_approval(count, total, limits)
    export = EvidenceExport(
        requester_id=user.id if user else None,
        requester_name=use_register.user_label(user, actor),
        purpose=purpose,
        criteria=criteria.as_dict() | {"left_out": left_out},
        photo_ids=[p.id for p in photos],
        scan_ids=[s.id for s in scans],
        item_count=count,
        total_bytes=total,
        needs_approval=waiting,
        state="awaiting_approval" if waiting else "queued",
        done_items=0,
        done_bytes=0,
        events_logged=False,
        created_at=now,
    )
    session.add(export)
    session.flush()
    use_register.register(
        session,
        actor,
        user,
        "export_request",
        now,
        export_id=export.id,
        purpose=purpose,
        details={
            "items": count,
            "bytes": total,
            "needs_approval": waiting,
            "left_out": [d["photo_id"] for d in left_out],
        },
    )
    if export.state == "queued":
        export_queue.record(session, export)
    session.commit()
    return export


def decide(
    session: Session, actor: Actor, manager: User, export_id: int, approve: bool, note: str | None, now: datetime
) -> EvidenceExport:
    """A manager approves or rejects a waiting export; an approved one is queued through the outbox."""
    export = export_approval.decide(session, actor, manager, export_id, approve, note, now)
    if approve:
        export_queue.record(session, export)
    session.commit()
    return export


# --- reading requests ------------------------------------------------------------------------------


def get_export(session: Session, export_id: int, user: User | None = None, see_all: bool = False) -> EvidenceExport:
    """One export; users who may not see all exports see only their own."""
    export = session.get(EvidenceExport, export_id)
    if export is None:
        raise errors.DomainError(errors.UNKNOWN_EXPORT)
    if user is not None and not see_all and export.requester_id != user.id:
        raise errors.DomainError(errors.EXPORT_NOT_OWNER)
    return export


def list_exports(session: Session, user: User | None, see_all: bool, limit: int = 100) -> list[EvidenceExport]:
    """Newest exports first (own ones, or all for managers)."""
    query = select(EvidenceExport)
    if user is not None and not see_all:
        query = query.where(EvidenceExport.requester_id == user.id)
    return list(
        session.scalars(query.order_by(EvidenceExport.created_at.desc(), EvidenceExport.id.desc()).limit(limit))
    )


def export_dict(export: EvidenceExport) -> dict:
    """An export's status and progress for the API, the page and the CLI."""

    return {
        "id": export.id,
        "state": export.state,
        "state_label": EXPORT_STATES.get(export.state, export.state),
        "purpose": export.purpose,
        "requester": export.requester_name,
        "criteria": export.criteria,
        "item_count": export.item_count,
        "total_bytes": export.total_bytes,
        "needs_approval": export.needs_approval,
        "decided_at": export.decided_at,
        "decision_note": export.decision_note,
        "phase": export.phase,
        "done_items": export.done_items,
        "done_bytes": export.done_bytes,
        "percent": int(100 * export.done_bytes / export.total_bytes)
        if export.total_bytes
        else (100 if export.state == "done" else 0),
        "bundle_sha256": export.bundle_sha256,
        "bundle_size": export.bundle_size,
        "error": export.error,
        "created_at": export.created_at,
        "started_at": export.started_at,
        "finished_at": export.finished_at,
        "expires_at": export.expires_at,
        "removed_at": export.removed_at,
        "destruction_record_id": export.destruction_record_id,
        "left_out": list((export.criteria or {}).get("left_out", [])),
    }


def bundle_present(export: EvidenceExport, store) -> bool:
    """True if the export's finished bundle is still kept (in the export store, or at its ``--out`` path)."""
    if not export.bundle_path:
        return False
    if _kept_by(store, export):
        return bool(store.exists(export.id))
    return os.path.exists(export.bundle_path)


def _kept_by(store, export: EvidenceExport) -> bool:
    return store is not None and export.bundle_path == store.location(export.id)


def open_bundle(
    session: Session, actor: Actor, user: User | None, export_id: int, see_all: bool, now: datetime, store=None
):
    """Open a finished bundle (from the export store ``store``) for streamed download; the download is registered."""
    export = get_export(session, export_id, user, see_all)
    if export.state == "destroyed":
        raise errors.DomainError(
            errors.EXPORT_DESTROYED,
            details={
                "export_id": export.id,
                "record_id": export.destruction_record_id,
                "removed_at": export.removed_at.isoformat() if export.removed_at else None,
            },
        )
    if export.state == "expired":
        raise errors.DomainError(
            errors.EXPORT_EXPIRED,
            details={
                "export_id": export.id,
                "expired_at": export.removed_at.isoformat() if export.removed_at else None,
            },
        )
    if export.state == "failed":
        raise errors.DomainError(errors.EXPORT_FAILED, details={"export_id": export.id, "error": export.error})
    if export.state != "done" or not bundle_present(export, store):
        raise errors.DomainError(errors.EXPORT_NOT_FINISHED, details={"state": export.state})
    use_register.register(
        session,
        actor,
        user,
        "bundle_download",
        now,
        export_id=export.id,
        purpose=export.purpose,
        details={"bundle_sha256": export.bundle_sha256},
    )
    session.commit()
    assert export.bundle_path is not None  # bundle_present said so
    stream = store.open(export.id) if _kept_by(store, export) else open(export.bundle_path, "rb")
    return stream, f"evidence-export-{export.id}.zip"


# --- bundles kept on the server: expiry and removal ------------------------------------------------


def remove_bundle(
    session: Session, export: EvidenceExport, store, state: str, now: datetime, record_id: int | None = None
) -> list[str]:
    """Remove an export's stored bundle (and partial files) and mark it ``expired`` or ``destroyed``.

    Returns the names of the files removed. A bundle written elsewhere (``--out`` of the CLI)
    is removed from that path too: it is a copy the server made and recorded.
    """
    removed = delete_bundle_files(export, store)
    export.state, export.removed_at = state, now
    if record_id is not None:
        export.destruction_record_id = record_id
    audit.record(
        session,
        SYSTEM,
        f"evidence.export_{state}",
        "evidence_export",
        export.id,
        {"files": removed, "bundle_sha256": export.bundle_sha256, "record_id": record_id},
        at=now,
    )
    return removed


def delete_bundle_files(export: EvidenceExport, store) -> list[str]:
    """Delete the stored bundle of an export and its partial files; the names of the files removed."""
    removed = store.remove(export.id) if store is not None else []
    if export.bundle_path and os.path.exists(export.bundle_path):
        os.unlink(export.bundle_path)
        removed.append(os.path.basename(export.bundle_path))
    return removed


def expire_bundles(session: Session, store, now: datetime) -> list[int]:
    """Remove bundles kept past their ``expires_at``; the export rows stay (state ``expired``). Commits."""
    due = list(
        session.scalars(
            select(EvidenceExport)
            .where(EvidenceExport.state == "done", EvidenceExport.expires_at <= now)
            .order_by(EvidenceExport.id)
        )
    )
    for export in due:
        remove_bundle(session, export, store, "expired", now)
        session.commit()
    if due:
        log.info("removed %s expired evidence bundles", len(due))
    return [e.id for e in due]


# --- building the bundle -----------------------------------------------------------------------------


def default_bundle_path(data_dir: str, export_id: int) -> Path:
    """Where the background job writes a bundle."""
    return Path(data_dir) / "exports" / f"evidence-export-{export_id}.zip"


def _progress(
    session: Session, export: EvidenceExport, phase: str, items: int | None = None, done_bytes: int | None = None
) -> None:
    export.phase = phase
    if items is not None:
        export.done_items = items
    if done_bytes is not None:
        export.done_bytes = done_bytes
    session.commit()


def _fix_manifest(session: Session, export: EvidenceExport, sources: list, env) -> None:
    approver = session.get(User, export.decided_by_id) if export.decided_by_id else None
    items = [evidence_bundle.manifest_item(session, source) for source in sources]
    manifest = {
        "format": layout.FORMAT,
        "export": {
            "id": export.id,
            "purpose": export.purpose,
            "requester": export.requester_name,
            "requested_at": export.created_at,
            "criteria": export.criteria,
            "approved_by": use_register.user_label(approver, SYSTEM) if approver else None,
            "approved_at": export.decided_at,
        },
        # who issued the photos' tokens, as recorded when each was stamped (never this process's settings)
        "tsa": {
            "statement": layout.TSA_STATEMENT,
            "issuers": bundle_guide.distinct_issuers([item["timestamp"] for item in items if item["files"]["token"]]),
        },
        "log": {
            "name": env.signer.name,
            "public_key": layout.PUBLIC_KEY_JSON,
            "checkpoint": layout.CHECKPOINT,
            "checkpoint_timestamp": layout.CHECKPOINT_BINDING,
        },
        "hash_algorithms": ["SHA-256", "SM3 (GB/T 32905)"],
        "items": items,
    }
    left_out = (export.criteria or {}).get("left_out") or []
    if left_out:  # destroyed photos the requester asked to leave out, named so the bundle says what is missing
        manifest["left_out"] = left_out
    export.manifest = evidence_bundle.json_bytes(manifest)
    export.manifest_sha256 = hashlib.sha256(export.manifest).hexdigest()
    session.commit()


def _log_exported(session: Session, export: EvidenceExport, sources: list, now: datetime) -> None:
    requester = session.get(User, export.requester_id) if export.requester_id else None
    actor = Actor("user", str(requester.id), None, requester.role) if requester else Actor("cli")
    for source in sources:
        kind = "scan" if isinstance(source, evidence_bundle.ScanSource) else "photo"
        translog.append_event(
            session,
            "exported",
            source.key,
            {
                f"{kind}_id": source.key,
                "evidence_no": source.evidence.evidence_no,
                "export_id": export.id,
                "manifest_sha256": export.manifest_sha256,
                "requester": export.requester_name,
                "purpose": export.purpose,
            },
            now,
        )
        audit.record(
            session,
            actor,
            "evidence.exported",
            kind,
            source.key,
            {"export_id": export.id, "manifest_sha256": export.manifest_sha256},
            at=now,
        )
    export.events_logged = True
    session.commit()


def _sign_checkpoint(session: Session, env, now: datetime, tsa) -> LogCheckpoint | None:
    try:
        checkpoint = translog.make_checkpoint(session, env.signer, now, tsa)
        session.commit()
        return checkpoint
    except IntegrityError:  # another export signed the same tree size a moment earlier
        session.rollback()
        return None


def _checkpoint(session: Session, export: EvidenceExport, env, now: datetime) -> LogCheckpoint:
    """Sign and timestamp a checkpoint over the exported events, then sign one more over the token's log event.

    The bundle carries the second: its signature covers the event binding the first one's token, so
    a checkpoint token replaced inside a bundle no longer matches the signed log.
    """
    if export.checkpoint_size is None:
        # in a shell without the deployment's TSA settings the new checkpoint stays pending for the
        # worker's TSA (translog.tsa_fits_log) and the latest token already bound into the log is bundled
        stamped = _sign_checkpoint(session, env, now, env.tsa)
        bound = _sign_checkpoint(session, env, now, None) if stamped and stamped.tsa_status == "granted" else None
        checkpoint = bound or stamped or translog.latest_checkpoint(session)
        assert checkpoint is not None
        export.checkpoint_size = checkpoint.tree_size
        session.commit()
    found = session.scalar(select(LogCheckpoint).where(LogCheckpoint.tree_size == export.checkpoint_size))
    assert found is not None
    return found


def _start(session: Session, export_id: int, now: datetime, store) -> EvidenceExport | None:
    export = session.get(EvidenceExport, export_id)
    if export is None:
        raise errors.DomainError(errors.UNKNOWN_EXPORT)
    if export.state == "done" and bundle_present(export, store):
        return None
    if export.state not in ("queued", "running", "failed", "done"):
        raise errors.DomainError(errors.EXPORT_BAD_STATE, details={"state": export.state})
    export.state, export.started_at, export.error = "running", now, None
    export.done_items, export.done_bytes = 0, 0
    _progress(session, export, "collecting")
    return export


def build_bundle(
    session: Session,
    env,
    export_id: int,
    target: str | os.PathLike | None = None,
    on_progress: Callable[[EvidenceExport], None] | None = None,
) -> EvidenceExport:
    """Build (or rebuild after a crash) the bundle of an approved or queued export; idempotent."""
    now = env.clock.now()
    store = getattr(env, "exports", None)
    export = _start(session, export_id, now, store)
    if export is None:
        built = session.get(EvidenceExport, export_id)
        assert built is not None
        return built
    # a bundle goes into the export store, unless the CLI asked for a file (--out)
    out = Path(target) if target else (None if store is not None else default_bundle_path(env.data_dir, export.id))
    try:
        photos = [session.get(Photo, pid) for pid in export.photo_ids]
        destroyed = [pid for pid, p in zip(export.photo_ids, photos) if p is None or p.state == "destroyed"]
        if destroyed:  # destroyed after the request was accepted
            raise errors.DomainError(errors.EXPORT_ITEMS_DESTROYED, details={"photo_ids": destroyed[:50]})
        sources: list[evidence_bundle.ItemSource | evidence_bundle.ScanSource] = [
            evidence_bundle.load_item(session, p) for p in photos if p is not None
        ]
        for sid in export.scan_ids or []:
            scan = session.get(Scan, sid)
            assert scan is not None
            sources.append(evidence_bundle.load_scan(session, scan))
        if export.manifest is None:
            _fix_manifest(session, export, sources, env)
        if not export.events_logged:
            _log_exported(session, export, sources, now)
        checkpoint = _checkpoint(session, export, env, now)
        _write(session, env, export, sources, checkpoint, out, store, on_progress)
    except Exception as exc:
        session.rollback()
        export = session.get(EvidenceExport, export_id)
        assert export is not None
        if export.state == "destroyed":  # a destruction removed this export meanwhile; it stays so
            raise
        export.state, export.error, export.finished_at = "failed", failure_text(exc), env.clock.now()
        log.exception("evidence export %s failed", export_id)
        audit.record(session, SYSTEM, "evidence.export_failed", "evidence_export", export.id, {"error": export.error})
        session.commit()
        raise
    _register_delivery(session, export, sources, env.clock.now())
    return export


def failure_text(exc: BaseException) -> str:
    """What a failed export shows: a catalogued code and message, never a server path or a traceback."""
    if isinstance(exc, errors.DomainError):
        ids, failures = exc.details.get("photo_ids"), exc.details.get("failures")
        text = f"{exc.code}: {exc.message}" + (f" ({', '.join(ids)})" if ids else "")
        # the verifier names files inside the bundle, never a server path
        return text + (" " + json.dumps(failures[:20], ensure_ascii=False) if failures else "")
    if isinstance(exc, StoredBytesChanged):
        return f"{errors.INTERNAL.code}: {exc}"
    return f"{errors.INTERNAL.code}: {errors.INTERNAL.message}"


def _register_delivery(session: Session, export: EvidenceExport, sources: list, now: datetime) -> None:
    """The use register's ``export`` line, written once the bundle exists: what was actually delivered."""
    requester = session.get(User, export.requester_id) if export.requester_id else None
    actor = Actor("user", str(requester.id), None, requester.role) if requester else Actor("cli")
    use_register.register(
        session,
        actor,
        requester,
        "export",
        now,
        export_id=export.id,
        purpose=export.purpose,
        details={
            "items": len(sources),
            "photo_ids": [s.photo.id for s in sources],
            "left_out": [d["photo_id"] for d in (export.criteria or {}).get("left_out", [])],
            "manifest_sha256": export.manifest_sha256,
            "bundle_sha256": export.bundle_sha256,
        },
    )
    session.commit()


def _write(
    session: Session,
    env,
    export: EvidenceExport,
    sources: list,
    checkpoint: LogCheckpoint,
    out: Path | None,
    store,
    on_progress,
) -> None:
    """Write the bundle to a local partial file, check it, then hand it to the export store (or to ``out``)."""
    assert export.manifest is not None
    manifest = json.loads(export.manifest)
    items = {item.get("photo_id") or item.get("scan_id"): item for item in manifest["items"]}
    size, root = checkpoint.tree_size, bytes.fromhex(checkpoint.root_hash)
    stamp = export.created_at.astimezone(BEIJING)
    directory = out.parent if out is not None else store.staging_dir()
    name = out.name if out is not None else f"evidence-export-{export.id}.zip"
    directory.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    writer = BundleWriter(partial, stamp)
    checks: dict[str, dict] = {}
    try:
        done_bytes = 0
        for number, source in enumerate(sources, start=1):
            item = items[source.key]
            checks[source.key] = _write_item(session, env, writer, source, item, size, root)
            done_bytes += item["size"] or 0
            _progress(session, export, "originals", number, done_bytes)
            if on_progress:
                on_progress(export)
        _progress(session, export, "log")
        bound = timestamped_checkpoint(session, checkpoint)
        binding = _write_log_files(session, writer, env, checkpoint, sources, bound)
        statement = bundle_guide.tsa_statement(manifest["tsa"]["issuers"], binding["tsa"] if binding else None)
        writer.add_bytes(layout.TSA_STATEMENT, statement.encode("utf-8"))
        writer.add_bytes(layout.MANIFEST, export.manifest)
        _progress(session, export, "report")
        previews = {source.key: source.evidence.preview_key for source in sources}
        _write_report(writer, env, export, manifest, checks, checkpoint, previews, directory, statement)
        writer.add_bytes(layout.VERIFY_GUIDE, bundle_guide.verify_guide(manifest["items"], binding).encode())
        for relative in VERIFIER_SOURCES:
            writer.add_file(layout.TOOLS + relative, ROOT / relative)
        writer.finish()
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        _self_check(partial, env, sources, bound)
        session.refresh(export, ["state"])
        if export.state != "running":  # destroyed (or taken over) while it was being built: keep no copy
            problem = errors.EXPORT_DESTROYED if export.state == "destroyed" else errors.EXPORT_BAD_STATE
            raise errors.DomainError(problem, details={"export_id": export.id, "state": export.state})
        digest, size = _file_digest(partial)
        if out is not None:
            os.replace(partial, out)
            location = str(out)
        else:
            store.put_file(export.id, partial)
            location = store.location(export.id)
            session.refresh(export, ["state"])
            if export.state != "running":  # destroyed while it was being uploaded: keep no copy
                store.remove(export.id)
                raise errors.DomainError(errors.EXPORT_DESTROYED, details={"export_id": export.id})
    except BaseException:
        writer.abort()
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    export.bundle_path, export.bundle_sha256, export.bundle_size = location, digest, size
    export.state, export.phase, export.finished_at = "done", "done", env.clock.now()
    export.expires_at = export.finished_at + timedelta(days=getattr(env, "export_bundle_days", DEFAULT_BUNDLE_DAYS))
    audit.record(
        session,
        SYSTEM,
        "evidence.export_built",
        "evidence_export",
        export.id,
        {
            "bundle_sha256": export.bundle_sha256,
            "bytes": export.bundle_size,
            "items": export.item_count,
            "checkpoint_size": checkpoint.tree_size,
        },
    )
    session.commit()
    if on_progress:
        on_progress(export)


def _file_digest(path: str) -> tuple[str, int]:
    """Hex SHA-256 and size of a local file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_item(session: Session, env, writer: BundleWriter, source, item: dict, size: int, root: bytes) -> dict:
    evidence = source.evidence
    with env.blobs.open(source.blob_key) as stream:
        sha256, sm3, written = writer.add_stream(item["files"]["original"], stream, evidence.size or 0, with_sm3=True)
    if (sha256, sm3, written) != (item["sha256"], item["sm3"], item["size"]):
        raise StoredBytesChanged(
            f"stored bytes of {source.key} no longer match their recorded hashes; the export is stopped"
        )
    check = {"原始文件哈希": "一致（SHA-256、SM3）"}
    if evidence.tsa_token:
        writer.add_bytes(item["files"]["token"], evidence.tsa_token, compress=False)
        anchor = evidence.tsa_anchor_pem.encode() if evidence.tsa_anchor_pem else None
        try:
            verify_response(evidence.tsa_token, bytes.fromhex(sha256), anchor)
            chained = "证书链已验证" if anchor else "未记录根证书，证书链未验证"
            check["时间戳"] = f"有效（{'本地' if evidence.tsa_kind == 'local' else '外部'} TSA，{chained}）"
        except Exception as exc:  # a token that no longer verifies is reported, not hidden
            check["时间戳"] = f"无效：{exc}"
    else:
        check["时间戳"] = f"无（状态 {evidence.tsa_status}）"
    leaves = evidence_bundle.subject_leaves(session, source.subjects, size)
    proof = evidence_bundle.proof_document(
        session,
        leaves,
        size,
        root,
        source.key,
        "scan_id" if isinstance(source, evidence_bundle.ScanSource) else "photo_id",
    )
    proven = all(
        merkle.verify_inclusion(
            bytes.fromhex(e["leaf_hash"]), e["leaf_index"], size, [bytes.fromhex(h) for h in e["path"]], root
        )
        for e in proof["events"]
    )
    check["日志包含证明"] = f"{len(leaves)} 个事件{'均可证明' if proven else '证明失败'}"
    writer.add_bytes(item["files"]["proof"], evidence_bundle.json_bytes(proof))
    writer.add_bytes(
        item["files"]["custody"], evidence_bundle.json_bytes(evidence_bundle.custody_document(session, source, leaves))
    )
    return check


def timestamped_checkpoint(session: Session, checkpoint: LogCheckpoint) -> tuple[LogCheckpoint, object] | None:
    """The timestamped checkpoint whose token's log event the bundled checkpoint signs over, with that leaf."""
    leaf = translog.checkpoint_timestamp_event(session, checkpoint.tree_size)
    if leaf is None:
        return None
    payload = json.loads(leaf.entry)["payload"]
    stamped = session.scalar(select(LogCheckpoint).where(LogCheckpoint.tree_size == payload["checkpoint_tree_size"]))
    if (
        stamped is None
        or not stamped.tsa_token
        or hashlib.sha256(stamped.tsa_token).hexdigest() != payload.get("tsa_token_sha256")
    ):
        return None
    return stamped, leaf


def checkpoint_binding(session: Session, stamped: LogCheckpoint, leaf, size: int) -> dict:
    """``log/checkpoint-timestamp.json``: the stamped checkpoint, its token's issuer, and the proofs binding them."""
    # both proofs from the O(log n) stored subtrees, as the items' are
    consistency = translog.consistency_proof(session, stamped.tree_size, size)
    inclusion = translog.inclusion_proof(session, leaf.index, size)
    return {
        "note": layout.CHECKPOINT_TIMESTAMPED,
        "token": layout.CHECKPOINT_TOKEN,
        "timestamped_checkpoint": {
            "tree_size": stamped.tree_size,
            "root_hash": stamped.root_hash,
            "tsa_gen_time": stamped.tsa_gen_time,
        },
        "tsa": evidence_bundle.issuer(
            stamped.tsa_kind, stamped.tsa_name, stamped.tsa_url, stamped.tsa_chain_pem, stamped.tsa_anchor_pem
        ),
        "consistency": {
            "old_size": stamped.tree_size,
            "new_size": size,
            "path": consistency["path"],
        },
        "event": {
            "leaf_index": leaf.index,
            "entry": leaf.entry.decode("utf-8"),
            "leaf_hash": leaf.leaf_hash,
            "path": inclusion["path"],
        },
    }


def _write_log_files(
    session: Session,
    writer: BundleWriter,
    env,
    checkpoint: LogCheckpoint,
    sources: list,
    bound: tuple[LogCheckpoint, object] | None,
) -> dict | None:
    stamped = bound[0] if bound else None
    rows = [source.evidence for source in sources if source.evidence.tsa_token] + ([stamped] if stamped else [])
    for path, pem in sorted(evidence_bundle.issuer_files(rows).items()):
        writer.add_bytes(path, pem)
    binding = checkpoint_binding(session, bound[0], bound[1], checkpoint.tree_size) if bound else None
    writer.add_bytes(layout.CHECKPOINT, checkpoint.note.encode("utf-8"))
    if binding:
        assert stamped is not None and stamped.tsa_token is not None
        writer.add_bytes(layout.CHECKPOINT_TIMESTAMPED, stamped.note.encode("utf-8"))
        writer.add_bytes(layout.CHECKPOINT_TOKEN, stamped.tsa_token, compress=False)
        writer.add_bytes(layout.CHECKPOINT_BINDING, evidence_bundle.json_bytes(binding))
    key = translog.public_key_info(env.signer)
    writer.add_bytes(layout.PUBLIC_KEY_PEM, key["public_key_pem"].encode())
    writer.add_bytes(layout.PUBLIC_KEY_JSON, evidence_bundle.json_bytes(evidence_bundle.public_key_document(key)))
    return binding


def recorded_anchors(sources: list, bound: tuple | None) -> bytes:
    """Every TSA root the bundle's tokens were verified against when they were stamped (PEM)."""
    rows = [source.evidence for source in sources] + ([bound[0]] if bound else [])
    return b"".join(sorted({row.tsa_anchor_pem.encode() for row in rows if row.tsa_token and row.tsa_anchor_pem}))


def _self_check(path: str, env, sources: list, bound: tuple | None) -> None:
    """Run the bundled verifier on the finished ZIP, pinned to this server's log key and recorded TSA roots."""
    rows = [source.evidence for source in sources] + ([bound[0]] if bound else [])
    # pinned only when every token has its root recorded (older tokens are checked against what was bundled)
    anchors = recorded_anchors(sources, bound) if all(r.tsa_anchor_pem for r in rows if r.tsa_token) else None
    report = verify_bundle(path, Pins(tsa_roots_pem=anchors or None, log_key_pem=env.signer.public_key_pem().encode()))
    if not report.ok:
        raise errors.DomainError(
            errors.EXPORT_SELF_CHECK_FAILED, details={"failures": [str(f) for f in report.all_failures][:50]}
        )


def _write_report(
    writer: BundleWriter,
    env,
    export: EvidenceExport,
    manifest: dict,
    checks: dict,
    checkpoint: LogCheckpoint,
    previews: dict[str, str | None],
    directory: Path,
    statement: str,
) -> None:

    def preview(item: dict) -> bytes | None:
        key = previews.get(item.get("photo_id") or item.get("scan_id", ""))
        if not key:
            return None
        with env.blobs.open(key) as stream:  # previews are small JPEGs made by the pipeline
            return stream.read()

    cover = {
        "export_id": export.id,
        "purpose": export.purpose,
        "requester": export.requester_name,
        "approved_by": manifest["export"]["approved_by"],
        "requested_at": export.created_at,
        "built_at": env.clock.now(),
        "tsa_statement": statement.splitlines()[0],
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "manifest_sha256": export.manifest_sha256,
    }
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".report-", suffix=".pdf") as fh:
        render_report(fh, cover, manifest["items"], checks, preview)
        fh.flush()
        writer.add_file(layout.REPORT, fh.name, compress=True)


def build_in_app(app, export_id: int) -> dict:
    """Build the bundle of one export inside ``app`` (the job body of :mod:`workers.jobs`)."""
    with app.app_context():
        try:
            export = build_bundle(db.session(), env_for(app), int(export_id))
            return {"export_id": export.id, "state": export.state, "bundle_sha256": export.bundle_sha256}
        finally:
            db.session.remove()
