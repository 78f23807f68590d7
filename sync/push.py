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
from typing import Callable

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import capture_schema
from core import errors
from core.actor import Actor
from core.states import ReviewState
from models import Blob, Capture, CaptureRevision, Customer, Device, Photo, SyncMutation, audit
from sync import photos as photo_meeting
from sync.messages import PushItemSchema

APPLIED, REPLAYED, REJECTED, RETRY = "applied", "replayed", "rejected", "retry"


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


def _same_inspector(session: Session, device_id: str, device: Device) -> bool:
    """Whether ``device_id`` is ``device`` or another (or an earlier, revoked) tablet of its inspector."""
    if device_id == device.id:
        return True
    other = session.get(Device, device_id)
    return other is not None and other.inspector_id == device.inspector_id


def lookup_replay(session: Session, device: Device, raw: dict) -> Outcome | None:
    """Return the stored outcome of an already applied revision id, or None if it is new."""
    revision_id, _ = _ids_of(raw)
    try:
        revision_id = str(uuid.UUID(revision_id)) if revision_id else None
    except ValueError:
        return None
    if revision_id is None:
        return None
    done = session.get(SyncMutation, revision_id)
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
        item = PushItemSchema().load(raw)
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


def _target_capture(session: Session, device: Device, item: dict) -> tuple[Capture | None, CaptureRevision | None]:
    capture_id, base_id = str(item["capture_id"]), item["base_revision_id"]
    capture = session.get(Capture, capture_id)
    if session.get(CaptureRevision, str(item["revision_id"])) is not None:
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
    base = session.get(CaptureRevision, str(base_id))
    if base is None or base.capture_id != capture.id:
        raise ItemRejected(errors.SYNC_BASE_UNKNOWN, details={"base_revision_id": str(base_id)})
    return capture, base


def _check_photos(session: Session, capture_id: str, photos: list[dict]) -> dict[str, Photo]:
    known = {}
    for photo in photos:
        existing = session.get(Photo, str(photo["id"]))
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
    session.flush()
    for photo in out:
        blob = session.get(Blob, photo.declared_sha256)
        if photo.blob_sha256 is None and blob is not None and blob.destroyed_at is None:
            photo_meeting.mark_received(session, photo, blob, now)
    return [{"id": p.id, "slot": p.slot, "needs_upload": p.blob_sha256 is None} for p in out]


def apply_item(
    session: Session,
    device: Device,
    actor: Actor,
    raw,
    now: datetime,
    offset_ms: int | None,
    on_revision: RevisionHook | None = None,
) -> Outcome:
    """Apply one push item in the caller's transaction (the caller commits or rolls back).

    ``on_revision`` lets the use case act on the capture once its new revision is in place (the
    archive rules live above the protocol: a capture of a destroyed dossier is closed).
    """
    replay = lookup_replay(session, device, raw)
    if replay is not None:
        return replay
    item, data, photos = _validate(raw)
    capture, base = _target_capture(session, device, item)
    customer = session.scalar(select(Customer).where(Customer.account_no == item["account_no"]))
    known = _check_photos(session, str(item["capture_id"]), photos)
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
    photo_states = _declare_photos(session, device, capture, photos, known, now, offset_ms)
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
    session.add(
        SyncMutation(
            id=revision.id,
            device_id=device.id,
            capture_id=capture.id,
            content_sha256=canonical_sha256(raw),
            result=result,
            applied_at=now,
        )
    )
    audit.record(
        session,
        actor,
        "capture.amend" if amendment else "capture.create",
        "capture",
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
        at=now,
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
