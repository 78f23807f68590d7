"""Use case: a tablet pushes a batch of capture revisions.

A batch is applied in one transaction: the tablet's row is locked first (pushes of one tablet
run one after the other), the rows the items need are read with one query per table, and every
item's effect, dedup record and audit entry are written together by one flush (set-based
inserts) and one commit. Each item keeps its own result: an invalid item never touches the
database. When that flush fails (an identical push from another tablet or node committed the
same ids meanwhile) or an item fails unexpectedly, the batch is rolled back and applied again
item by item, each item its own transaction, so one failing item costs only itself and the
database's unique keys settle the race: whichever commits second finds the first one's stored
answer and returns it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Device, SyncSession
from models.lifecycle import DestructionRecord
from services.lifecycle import destruction
from sync import push as push_logic
from sync.messages import PROTOCOL_VERSIONS, PushRequestSchema

log = logging.getLogger("dangan.sync")


@dataclass(frozen=True)
class PushLimits:
    """The documented batch limits (bytes of the JSON body, number of items)."""

    max_bytes: int = 1024 * 1024
    max_items: int = 200

    def details(self) -> dict:
        """The limits as error details."""
        return {"limit_bytes": self.max_bytes, "max_items": self.max_items}


def too_large(limits: PushLimits) -> errors.DomainError:
    """The 413 answer for an oversized batch."""
    return errors.DomainError(
        errors.SYNC_BATCH_TOO_LARGE,
        f"A push batch may hold at most {limits.max_bytes} bytes and {limits.max_items} items.",
        limits.details(),
    )


def _echo(value):
    """A value of the request to quote back in an error, kept JSON-safe (no Infinity, no deep trees)."""
    return value if isinstance(value, (int, str)) or value is None else repr(value)[:40]


def parse_request(body: bytes, limits: PushLimits) -> dict:
    """Decode and check the push envelope; items are checked one by one later."""
    if len(body) > limits.max_bytes:
        raise too_large(limits)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile nesting depth
        raise errors.DomainError(errors.INVALID_JSON) from None
    if not isinstance(document, dict):
        raise errors.DomainError(errors.VALIDATION_FAILED, details={"fields": {"_body": ["Not an object."]}})
    if document.get("protocol", 1) not in PROTOCOL_VERSIONS:
        raise errors.DomainError(
            errors.SYNC_PROTOCOL_UNSUPPORTED,
            details={"protocol": _echo(document.get("protocol")), "supported": list(PROTOCOL_VERSIONS)},
        )
    try:
        envelope = PushRequestSchema().load(document)
    except ValidationError as exc:
        raise errors.DomainError(errors.VALIDATION_FAILED, details={"fields": exc.messages}) from None
    if len(envelope["items"]) > limits.max_items:
        raise too_large(limits)
    return envelope


def _stored_answer(session: Session, device: Device, raw) -> push_logic.Outcome | None:
    """The stored answer of this very item, committed meanwhile by a concurrent identical push."""
    try:
        return push_logic.lookup_replay(session, device, raw)
    except push_logic.ItemRejected:
        return None


def _one(
    session: Session, device: Device, actor: Actor, raw, now: datetime, offset_ms: int | None
) -> push_logic.Outcome:
    for attempt in (1, 2, 3):
        try:
            outcome = push_logic.apply_item(
                session, device, actor, raw, now, offset_ms, on_revision=destruction.close_if_destroyed
            )
            session.commit()
            return outcome
        except push_logic.ItemRejected as exc:
            session.rollback()
            if exc.problem is errors.SYNC_ID_REUSED:
                # An identical push racing this one may have committed this item between our
                # look-up and our checks: its stored answer is ours too.
                stored = session.get(Device, device.id)
                assert stored is not None  # the pushing device
                replay = _stored_answer(session, stored, raw)
                session.rollback()
                if replay is not None:
                    return replay
            result = push_logic.error_result(raw, exc.problem, exc.message, exc.details)
            return push_logic.Outcome(result, result["status"])
        except IntegrityError:
            # the same revision (or capture, or photo) was committed concurrently: look again
            session.rollback()
            stored = session.get(Device, device.id)
            assert stored is not None  # the pushing device
            device = stored
            if attempt == 3:
                break
        except OperationalError:
            session.rollback()
            raise
        except Exception:  # one item's surprise must not cost the others
            session.rollback()
            log.exception("push item failed for device %s", device.id)
            break
    result = push_logic.error_result(raw, errors.SYNC_ITEM_FAILED)
    return push_logic.Outcome(result, result["status"])


def _rejected(raw, exc: push_logic.ItemRejected) -> push_logic.Outcome:
    result = push_logic.error_result(raw, exc.problem, exc.message, exc.details)
    return push_logic.Outcome(result, result["status"])


def _batch(
    session: Session, device: Device, actor: Actor, items: list, now: datetime, offset_ms: int | None
) -> list[push_logic.Outcome] | None:
    """Apply every item in the open transaction and flush once; None (rolled back) when that fails."""
    device_id = device.id
    lookups = push_logic.BatchLookups(session, items)
    destroyed = set(
        session.scalars(
            select(DestructionRecord.customer_id).where(DestructionRecord.customer_id.in_(lookups.customer_ids()))
        )
    )
    # closing a capture audits too: keep every entry in the session then, so they stay in order
    lookups.defer_audit = not destroyed

    def close_if_destroyed(session: Session, actor: Actor, capture, now: datetime) -> object:
        # only a capture naming a destroyed dossier's customer needs the archive rule's look-up
        if capture.customer_id in destroyed:
            return destruction.close_if_destroyed(session, actor, capture, now)
        return False

    outcomes = []
    try:
        for raw in items:
            try:
                outcomes.append(
                    push_logic.apply_item(
                        session, device, actor, raw, now, offset_ms, on_revision=close_if_destroyed, lookups=lookups
                    )
                )
            except push_logic.ItemRejected as exc:
                replay = _stored_answer(session, device, raw) if exc.problem is errors.SYNC_ID_REUSED else None
                outcomes.append(replay or _rejected(raw, exc))
        session.flush()
        lookups.write_audit()
    except OperationalError:
        session.rollback()
        raise
    except Exception as exc:  # a concurrent push's rows (IntegrityError) or one item's surprise
        session.rollback()
        log.info("push batch of device %s applied item by item (%s)", device_id, type(exc).__name__)
        return None
    return outcomes


def push(session: Session, device: Device, actor: Actor, body: bytes, now: datetime, limits: PushLimits) -> dict:
    """Apply a push batch; return per-item results, uploads wanted and the clock offset."""
    envelope = parse_request(body, limits)
    offset_ms = push_logic.clock_offset_ms(envelope["device_time"], now)
    device_id = device.id
    counts = {push_logic.APPLIED: 0, push_logic.REPLAYED: 0, push_logic.REJECTED: 0, push_logic.RETRY: 0}
    # Writing the tablet's row first takes its lock (SQLite: the database's write lock) before
    # anything is read, so a resent batch of the same tablet waits and then reads the answers.
    device.last_seen_at = now
    session.flush()
    outcomes = _batch(session, device, actor, envelope["items"], now, offset_ms)
    if outcomes is None:
        outcomes = []
        for raw in envelope["items"]:
            stored = session.get(Device, device_id)
            assert stored is not None  # the pushing device
            outcomes.append(_one(session, stored, actor, raw, now, offset_ms))
    results = [outcome.result for outcome in outcomes]
    for outcome in outcomes:
        counts[outcome.kind] += 1
    stored = session.get(Device, device_id)
    assert stored is not None  # the pushing device
    stored.last_seen_at = now
    session.add(
        SyncSession(
            device_id=device_id,
            kind="push",
            server_time=now,
            device_time=envelope["device_time"],
            clock_offset_ms=offset_ms,
            request_bytes=len(body),
            items=len(results),
            applied=counts[push_logic.APPLIED],
            replayed=counts[push_logic.REPLAYED],
            rejected=counts[push_logic.REJECTED] + counts[push_logic.RETRY],
        )
    )
    captures = sorted({r["capture_id"] for r in results if r["status"] in ("applied",)})
    uploads = push_logic.photos_awaiting_upload(session, captures)
    session.commit()
    return {
        "server_time": now,
        "clock_offset_ms": offset_ms,
        "results": results,
        "uploads": uploads,
        "counts": counts,
        "limits": limits.details(),
    }
