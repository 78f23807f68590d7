"""Use case: a tablet pushes a batch of capture revisions.

Each item is its own transaction (effect + dedup record + audit entry commit together), so a
crash in the middle of a batch leaves every earlier item recorded and the retry replays them;
one failing item rolls back only itself. An identical push racing this one (another connection,
process or node) is settled by the database's unique keys: whichever commits second finds the
first one's stored answer and returns it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import Device, SyncSession
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


def push(session: Session, device: Device, actor: Actor, body: bytes, now: datetime, limits: PushLimits) -> dict:
    """Apply a push batch item by item; return per-item results, uploads wanted and the clock offset."""
    envelope = parse_request(body, limits)
    offset_ms = push_logic.clock_offset_ms(envelope["device_time"], now)
    device_id = device.id
    results, counts = [], {push_logic.APPLIED: 0, push_logic.REPLAYED: 0, push_logic.REJECTED: 0, push_logic.RETRY: 0}
    for raw in envelope["items"]:
        stored = session.get(Device, device_id)
        assert stored is not None  # the pushing device
        device = stored
        outcome = _one(session, device, actor, raw, now, offset_ms)
        results.append(outcome.result)
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
