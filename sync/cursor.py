"""Opaque pull cursors: a feed sequence number and the sync epoch, signed for one device.

The tablet stores the cursor as an opaque string and sends it back; it never holds device or
wall-clock time, only the server's monotonic feed sequence. The HMAC stops a tablet from
forging a position (skipping changes) or borrowing another tablet's cursor.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

VERSION = 1


class CursorInvalid(ValueError):
    """The cursor string is malformed, forged or belongs to another device."""


@dataclass(frozen=True)
class Position:
    """Where a device stands in the feed: after sequence ``seq`` of epoch ``epoch``."""

    seq: int
    epoch: int


def _mac(secret: bytes, device_id: str, body: bytes) -> str:
    digest = hmac.new(secret, device_id.encode() + b"|" + body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def encode(position: Position, device_id: str, secret: bytes) -> str:
    """Return the opaque cursor string for a position, bound to one device."""
    body = json.dumps({"v": VERSION, "s": position.seq, "e": position.epoch},
                      separators=(",", ":")).encode()
    text = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{text}.{_mac(secret, device_id, body)}"


def decode(cursor: str, device_id: str, secret: bytes) -> Position:
    """Parse and verify a cursor string; raise CursorInvalid when it cannot be trusted."""
    if not isinstance(cursor, str) or len(cursor) > 200 or cursor.count(".") != 1:
        raise CursorInvalid("malformed cursor")
    text, mac = cursor.split(".")
    try:
        body = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise CursorInvalid("malformed cursor") from None
    if not hmac.compare_digest(mac, _mac(secret, device_id, body)):
        raise CursorInvalid("cursor signature does not match this device")
    try:
        data = json.loads(body)
        if data.get("v") != VERSION:
            raise CursorInvalid("unknown cursor version")
        seq, epoch = data["s"], data["e"]
    except (ValueError, KeyError, AttributeError):
        raise CursorInvalid("malformed cursor") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (seq, epoch)):
        raise CursorInvalid("malformed cursor")
    return Position(seq, epoch)
