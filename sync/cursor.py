"""Opaque pull cursors: a feed sequence number and the sync epoch, signed for one device.

The tablet stores the cursor as an opaque string and sends it back; it never holds device or
wall-clock time, only the server's monotonic feed sequence. The HMAC stops a tablet from
forging a position (skipping changes) or borrowing another tablet's cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import cursors

VERSION = 1


CursorInvalid = cursors.CursorInvalid  # malformed, forged or belonging to another device


@dataclass(frozen=True)
class Position:
    """Where a device stands in the feed: after sequence ``seq`` of epoch ``epoch``."""

    seq: int
    epoch: int


def encode(position: Position, device_id: str, secret: bytes) -> str:
    """Return the opaque cursor string for a position, bound to one device."""
    return cursors.signed_encode({"v": VERSION, "s": position.seq, "e": position.epoch}, secret, device_id)


def decode(cursor: str, device_id: str, secret: bytes) -> Position:
    """Parse and verify a cursor string; raise CursorInvalid when it cannot be trusted."""
    data = cursors.signed_decode(cursor, secret, device_id)
    if data.get("v") != VERSION:
        raise CursorInvalid("unknown cursor version")
    seq, epoch = data.get("s"), data.get("e")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (seq, epoch)):
        raise CursorInvalid("malformed cursor")
    return Position(seq, epoch)
