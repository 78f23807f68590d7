"""Applying one pushed capture revision exactly once.

The dedup record (``SyncMutation``, keyed by the client's revision id) is written in the same
transaction as the revision it creates. A retried, replayed or reordered push finds the record
and gets the stored result back, whichever tablet of the same inspector sends it (another tablet,
or the same tablet registered again); the same id with other content, or from another
inspector's tablet, gets ``sync.id_reused``. An
invalid item is reported with its field errors and never touches the database, so it cannot
block the items after it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

from marshmallow import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import capture_schema
from core import errors
from core.actor import Actor
from core.states import ReviewState
from models import AuditEntry, Blob, Capture, CaptureRevision, Customer, Device, Photo, SyncMutation, audit
from sync import photos as photo_meeting
from sync.messages import PushItemSchema

APPLIED, REPLAYED, REJECTED, RETRY = "applied", "replayed", "rejected", "retry"
# one instance for every item: building a marshmallow schema costs more than loading an item
_ITEM_SCHEMA = PushItemSchema()


@dataclass
class Outcome:
    """What happened to one item: the JSON result returned to the tablet and how it counts."""

    result: dict
    kind: str  # applied | replayed | rejected | retry


RevisionHook = Callable[[Session, Actor, Capture, datetime], object]


def canonical_sha256(value) -> str:
    """SHA-256 of a JSON value in canonical form (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clock_offset_ms(device_time: datetime | None, server_time: datetime) -> int | None:
    """Device clock minus server clock in milliseconds (None when the device sent no time)."""
    if device_time is None:
        return None
    return round((device_time - server_time).total_seconds() * 1000)


def _ids_of(raw) -> tuple[str | None, str | None]:
    if not isinstance(raw, dict):
        return None, None
    rev, cap = raw.get("revision_id"), raw.get("capture_id")
    return (rev if isinstance(rev, str) else None), (cap if isinstance(cap, str) else None)


def error_result(raw, problem: errors.Problem, message: str | None = None, details: dict | None = None) -> dict:
    """The per-item result of an item that was not applied."""
    revision_id, capture_id = _ids_of(raw)
    temporary = problem in (errors.SYNC_BASE_UNKNOWN, errors.SYNC_ITEM_FAILED)
    return {
        "status": RETRY if temporary else REJECTED,
        "revision_id": revision_id,
        "capture_id": capture_id,
        "error": errors.DomainError(problem, message, details).to_dict(),
    }


class ItemRejected(Exception):
    """Raised inside item processing to report a per-item error."""

    def __init__(self, problem: errors.Problem, message: str | None = None, details: dict | None = None):
        super().__init__(message or problem.message)
        self.problem, self.message, self.details = problem, message, details or {}


def _uuid_text(value) -> str | None:
    """The canonical text of a UUID sent by a tablet, or None when it is none."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class Lookups:
    """How item processing finds stored rows: one look-up per row, as a single item needs."""

    batched = False

    def __init__(self, session: Session):
        self.session = session

    def mutation(self, revision_id: str) -> SyncMutation | None:
        """The dedup record of a revision id."""
        return self.session.get(SyncMutation, revision_id)

    def capture(self, capture_id: str) -> Capture | None:
        """A capture by id."""
        return self.session.get(Capture, capture_id)

    def revision(self, revision_id: str) -> CaptureRevision | None:
        """A capture revision by id."""
        return self.session.get(CaptureRevision, revision_id)

    def photo(self, photo_id: str) -> Photo | None:
        """A declared photo by id."""
        return self.session.get(Photo, photo_id)

    def blob(self, sha256: str) -> Blob | None:
        """A stored blob by SHA-256."""
        return self.session.get(Blob, sha256)

    def customer(self, account_no: str) -> Customer | None:
        """The customer with this 户号."""
        return self.session.scalar(select(Customer).where(Customer.account_no == account_no))

    def added(self, capture: Capture, revision: CaptureRevision, photos: list[Photo], mutation: SyncMutation) -> None:
        """Note the rows an applied item added (they are found by the items after it)."""

    def audit(self, actor: Actor, action: str, capture_id: str, details: dict, at: datetime) -> None:
        """Record the audit entry of an applied item (in the session, committed with the item)."""
        audit.record(self.session, actor, action, "capture", capture_id, details, at=at)


class BatchLookups(Lookups):
    """Look-ups for a whole push batch: one query per table up front, then the session's own rows.

    A key asked for up front and not found is known absent (no second query); the rows the
    batch adds are found by the items after it, so an amendment may follow its base in one batch.
    Rows a concurrent push commits meanwhile are not seen here: the database's unique keys
    refuse the batch then, and the caller applies it again item by item.
    """

    batched = True

    def __init__(self, session: Session, items: Iterable, defer_audit: bool = True):
        super().__init__(session)
        self.defer_audit = defer_audit
        self.audit_rows: list[dict] = []
        revision_ids, capture_ids, photo_ids, hashes, accounts = set(), set(), set(), set(), set()
        for raw in items:
            if not isinstance(raw, dict):
                continue
            for key in ("revision_id", "base_revision_id"):
                if (text := _uuid_text(raw.get(key))) is not None:
                    revision_ids.add(text)
            if (text := _uuid_text(raw.get("capture_id"))) is not None:
                capture_ids.add(text)
            if isinstance(raw.get("account_no"), str):
                accounts.add(raw["account_no"])
            for photo in raw.get("photos") if isinstance(raw.get("photos"), list) else ():
                if isinstance(photo, dict):
                    if (text := _uuid_text(photo.get("id"))) is not None:
                        photo_ids.add(text)
                    if isinstance(photo.get("sha256"), str):
                        hashes.update((photo["sha256"], photo["sha256"].lower()))
        self.rows: dict[type, dict] = {
            SyncMutation: self._load(SyncMutation, SyncMutation.id, revision_ids),
            Capture: self._load(Capture, Capture.id, capture_ids),
            CaptureRevision: self._load(CaptureRevision, CaptureRevision.id, revision_ids),
            Photo: self._load(Photo, Photo.id, photo_ids),
            Blob: self._load(Blob, Blob.sha256, hashes),
            Customer: self._load(Customer, Customer.account_no, accounts),
        }
        self.asked = {
            SyncMutation: revision_ids,
            Capture: capture_ids,
            CaptureRevision: revision_ids,
            Photo: photo_ids,
            Blob: hashes,
            Customer: accounts,
        }

    def _load(self, model, column, keys: set[str]) -> dict:
        found: dict = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            for row in self.session.scalars(select(model).where(column.in_(ordered[start : start + 500]))):
                found[getattr(row, column.key)] = row
        return found

    def _find(self, model, key: str, fallback: Callable[[], object]):
        rows = self.rows[model]
        if key in rows:
            return rows[key]
        if key in self.asked[model]:
            return None
        return fallback()

    def mutation(self, revision_id: str) -> SyncMutation | None:
        """The dedup record of a revision id (stored, or added by this batch)."""
        return self._find(SyncMutation, revision_id, lambda: super(BatchLookups, self).mutation(revision_id))

    def capture(self, capture_id: str) -> Capture | None:
        """A capture by id (stored, or added by this batch)."""
        return self._find(Capture, capture_id, lambda: super(BatchLookups, self).capture(capture_id))

    def revision(self, revision_id: str) -> CaptureRevision | None:
        """A capture revision by id (stored, or added by this batch)."""
        return self._find(CaptureRevision, revision_id, lambda: super(BatchLookups, self).revision(revision_id))

    def photo(self, photo_id: str) -> Photo | None:
        """A declared photo by id (stored, or added by this batch)."""
        return self._find(Photo, photo_id, lambda: super(BatchLookups, self).photo(photo_id))

    def blob(self, sha256: str) -> Blob | None:
        """A stored blob by SHA-256."""
        return self._find(Blob, sha256, lambda: super(BatchLookups, self).blob(sha256))

    def customer(self, account_no: str) -> Customer | None:
        """The customer with this 户号."""
        return self._find(Customer, account_no, lambda: super(BatchLookups, self).customer(account_no))

    def customer_ids(self) -> list[int]:
        """Ids of the customers the batch names."""
        return sorted(c.id for c in self.rows[Customer].values())

    def added(self, capture: Capture, revision: CaptureRevision, photos: list[Photo], mutation: SyncMutation) -> None:
        """Note the rows an applied item added (they are found by the items after it)."""
        self.rows[Capture][capture.id] = capture
        self.rows[CaptureRevision][revision.id] = revision
        self.rows[SyncMutation][mutation.id] = mutation
        for photo in photos:
            self.rows[Photo][photo.id] = photo

    def audit(self, actor: Actor, action: str, capture_id: str, details: dict, at: datetime) -> None:
        """Keep the audit entry for :meth:`write_audit` (one multi-row insert for the batch)."""
        if not self.defer_audit:
            return super().audit(actor, action, capture_id, details, at)
        self.audit_rows.append(
            {
                "at": at,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "action": action,
                "object_type": "capture",
                "object_id": capture_id,
                "details": details,
                "ip": actor.ip,
            }
        )

    def write_audit(self) -> None:
        """Insert the kept audit entries, in the order of the items (ORM inserts would go row by row on SQLite)."""
        if self.audit_rows:
            self.session.execute(insert(AuditEntry), self.audit_rows)
            self.audit_rows = []


def _same_inspector(session: Session, device_id: str, device: Device) -> bool:
    """Whether ``device_id`` is ``device`` or another (or an earlier, revoked) tablet of its inspector."""
    if device_id == device.id:
        return True
    other = session.get(Device, device_id)
    return other is not None and other.inspector_id == device.inspector_id


def lookup_replay(session: Session, device: Device, raw: dict, lookups: Lookups | None = None) -> Outcome | None:
    """Return the stored outcome of an already applied revision id, or None if it is new."""
    revision_id, _ = _ids_of(raw)
    try:
        revision_id = str(uuid.UUID(revision_id)) if revision_id else None
    except ValueError:
        return None
    if revision_id is None:
        return None
    done = (lookups or Lookups(session)).mutation(revision_id)
    if done is None:
        return None
    if done.content_sha256 == canonical_sha256(raw) and _same_inspector(session, done.device_id, device):
        return Outcome(done.result, REPLAYED)
    raise ItemRejected(
        errors.SYNC_ID_REUSED,
        f"Revision id {revision_id} was already used with different content.",
        {"id": revision_id, "entity": "revision"},
    )


def _validate(raw) -> tuple[dict, dict, list[dict]]:
    if not isinstance(raw, dict):
        raise ItemRejected(errors.SYNC_CAPTURE_INVALID, details={"fields": {"_item": ["Not an object."]}})
    try:
        item = _ITEM_SCHEMA.load(raw)
    except ValidationError as exc:
        raise ItemRejected(errors.SYNC_CAPTURE_INVALID, details={"fields": exc.messages}) from None
    try:
        data, photos = capture_schema.validate_capture(
            item["kind"], item["schema_version"], item["data"], item["photos"]
        )
    except capture_schema.UnknownKind as exc:
        raise ItemRejected(errors.SYNC_UNKNOWN_KIND, str(exc), exc.details) from None
    except capture_schema.UnknownVersion as exc:
        raise ItemRejected(errors.SYNC_UNKNOWN_VERSION, str(exc), exc.details) from None
    except capture_schema.CaptureInvalid as exc:
        raise ItemRejected(errors.SYNC_CAPTURE_INVALID, details={"fields": exc.fields}) from None
    return item, data, photos


def _target_capture(lookups: Lookups, device: Device, item: dict) -> tuple[Capture | None, CaptureRevision | None]:
    capture_id, base_id = str(item["capture_id"]), item["base_revision_id"]
    capture = lookups.capture(capture_id)
    if lookups.revision(str(item["revision_id"])) is not None:
        raise ItemRejected(errors.SYNC_ID_REUSED, details={"id": str(item["revision_id"]), "entity": "revision"})
    if base_id is None:
        if capture is not None:
            raise ItemRejected(
                errors.SYNC_ID_REUSED,
                f"Capture {capture_id} already exists; amend it with base_revision_id instead.",
                {"id": capture_id, "entity": "capture"},
            )
        return None, None
    if capture is None:
        raise ItemRejected(errors.SYNC_BASE_UNKNOWN, details={"base_revision_id": str(base_id)})
    if capture.inspector_id != device.inspector_id:
        raise ItemRejected(errors.SYNC_NOT_OWNER, details={"capture_id": capture_id})
    if capture.kind != item["kind"]:
        raise ItemRejected(
            errors.SYNC_CAPTURE_INVALID,
            details={"fields": {"kind": [f"the capture is a {capture.kind!r}; an amendment cannot change its kind"]}},
        )
    base = lookups.revision(str(base_id))
    if base is None or base.capture_id != capture.id:
        raise ItemRejected(errors.SYNC_BASE_UNKNOWN, details={"base_revision_id": str(base_id)})
    return capture, base


def _check_photos(lookups: Lookups, capture_id: str, photos: list[dict]) -> dict[str, Photo]:
    known = {}
    for photo in photos:
        existing = lookups.photo(str(photo["id"]))
        if existing is None:
            continue
        if existing.capture_id not in (None, capture_id) or existing.declared_sha256 != photo["sha256"]:
            raise ItemRejected(
                errors.SYNC_ID_REUSED,
                f"Photo id {photo['id']} was already declared with other bytes or for another capture.",
                {"id": str(photo["id"]), "entity": "photo"},
            )
        known[existing.id] = existing
    return known


def _declare_photos(
    session: Session,
    lookups: Lookups,
    device: Device,
    capture: Capture,
    photos: list[dict],
    known: dict[str, Photo],
    now: datetime,
    offset_ms: int | None,
) -> list[dict]:
    out = []
    for meta in photos:
        photo_id = str(meta["id"])
        photo = known.get(photo_id)
        if photo is None:
            gps = meta.get("gps") or {}
            photo = Photo(
                id=photo_id,
                capture_id=capture.id,
                device_id=device.id,
                slot=meta["slot"],
                category=meta["category"],
                declared_sha256=meta["sha256"],
                declared_size=meta["size"],
                mime_type=meta["mime_type"],
                filename=meta.get("filename"),
                device_captured_at=meta["captured_at"],
                device_latitude=gps.get("latitude"),
                device_longitude=gps.get("longitude"),
                device_gps_accuracy_m=gps.get("accuracy_m"),
                declared=capture_schema.to_json(meta),
                state="awaiting_upload",
                created_at=now,
                device_clock_offset_ms=offset_ms,
            )
            session.add(photo)
        elif photo.capture_id is None:  # bytes came first and named this photo; claim it now
            photo.capture_id = capture.id
        out.append(photo)
    if not lookups.batched:
        session.flush()
    for photo in out:
        blob = lookups.blob(photo.declared_sha256)
        if photo.blob_sha256 is None and blob is not None and blob.destroyed_at is None:
            photo_meeting.mark_received(session, photo, blob, now)
    return out


def apply_item(
    session: Session,
    device: Device,
    actor: Actor,
    raw,
    now: datetime,
    offset_ms: int | None,
    on_revision: RevisionHook | None = None,
    lookups: Lookups | None = None,
) -> Outcome:
    """Apply one push item in the caller's transaction (the caller commits or rolls back).

    ``on_revision`` lets the use case act on the capture once its new revision is in place (the
    archive rules live above the protocol: a capture of a destroyed dossier is closed).
    ``lookups`` (a :class:`BatchLookups`) lets a batch find its rows without a query per item;
    the rows are then written by the caller's flush, all items at once.
    """
    lookups = lookups or Lookups(session)
    replay = lookup_replay(session, device, raw, lookups)
    if replay is not None:
        return replay
    item, data, photos = _validate(raw)
    capture, base = _target_capture(lookups, device, item)
    customer = lookups.customer(item["account_no"])
    known = _check_photos(lookups, str(item["capture_id"]), photos)
    amendment = capture is not None
    if capture is None:
        capture = Capture(
            id=str(item["capture_id"]),
            device_id=device.id,
            inspector_id=device.inspector_id,
            kind=item["kind"],
            schema_version=item["schema_version"],
            current_revision=0,
            has_conflict=False,
            complete=False,
            review_state=ReviewState.PENDING,
            device_created_at=item["device_time"],
            received_at=now,
        )
        session.add(capture)
    conflict = amendment and base.number != capture.current_revision
    if not amendment or capture.account_no != item["account_no"]:
        # An amendment naming the same 户号 keeps the link an archivist may have chosen by hand.
        capture.customer_id = customer.id if customer else None
        capture.link_state = "linked" if customer else "unlinked"
    capture.account_no = item["account_no"]
    capture.schema_version = item["schema_version"]
    capture.current_revision += 1
    capture.has_conflict = capture.has_conflict or conflict
    if amendment and capture.review_state != ReviewState.PENDING:
        # a retake or correction goes back to the archivists' queue
        capture.review_state = ReviewState.PENDING
        capture.review_version = (capture.review_version or 1) + 1
    if not lookups.batched:
        session.flush()
    if on_revision is not None:
        on_revision(session, actor, capture, now)  # e.g. close it: the customer's dossier is gone
    revision = CaptureRevision(
        id=str(item["revision_id"]),
        capture_id=capture.id,
        number=capture.current_revision,
        base_revision_id=str(item["base_revision_id"]) if amendment else None,
        schema_version=item["schema_version"],
        payload=raw["data"],
        payload_sha256=canonical_sha256(raw["data"]),
        conflict=conflict,
        device_time=item["device_time"],
        received_at=now,
        device_clock_offset_ms=offset_ms,
    )
    session.add(revision)
    declared = _declare_photos(session, lookups, device, capture, photos, known, now, offset_ms)
    photo_states = [{"id": p.id, "slot": p.slot, "needs_upload": p.blob_sha256 is None} for p in declared]
    if lookups.batched and not amendment:
        # a new capture has no photos but the ones it declares: no query needed
        capture.complete = all(p.blob_sha256 is not None for p in declared)
        complete = capture.complete
    else:
        complete = photo_meeting.refresh_completeness(session, capture.id)
    result = {
        "status": APPLIED,
        "revision_id": revision.id,
        "capture_id": capture.id,
        "revision": revision.number,
        "conflict": conflict,
        "link_state": capture.link_state,
        "complete": complete,
        "photos": photo_states,
    }
    mutation = SyncMutation(
        id=revision.id,
        device_id=device.id,
        capture_id=capture.id,
        content_sha256=canonical_sha256(raw),
        result=result,
        applied_at=now,
    )
    session.add(mutation)
    lookups.added(capture, revision, declared, mutation)
    lookups.audit(
        actor,
        "capture.amend" if amendment else "capture.create",
        capture.id,
        {
            "revision": revision.number,
            "revision_id": revision.id,
            "kind": capture.kind,
            "schema_version": capture.schema_version,
            "link_state": capture.link_state,
            "conflict": conflict,
            "photos": len(photo_states),
        },
        now,
    )
    return Outcome(result, APPLIED)


def photos_awaiting_upload(session: Session, capture_ids: list[str]) -> list[dict]:
    """The photos of these captures whose bytes the server still lacks, right now."""
    if not capture_ids:
        return []
    rows = session.execute(
        select(Photo.id, Photo.declared_sha256, Photo.capture_id)
        .where(Photo.capture_id.in_(capture_ids), Photo.blob_sha256.is_(None))
        .order_by(Photo.id)
    )
    return [{"photo_id": r.id, "sha256": r.declared_sha256, "capture_id": r.capture_id} for r in rows]
