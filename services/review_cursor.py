"""Opaque keyset cursors of the review queue: (sort, received_at, capture id) in URL-safe base64."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from core import errors

SORTS = {"received_asc": "最早收到在前", "received_desc": "最新收到在前"}


def encode_cursor(sort: str, received_at: datetime, capture_id: str) -> str:
    """Encode the position after the last item of a page."""
    raw = json.dumps([sort, received_at.isoformat(), capture_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[datetime, str]:
    """Decode a cursor made for ``sort``; raise ``review.bad_cursor`` on anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        made_for, when, capture_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        received_at = datetime.fromisoformat(when)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise errors.DomainError(errors.BAD_CURSOR) from None
    if made_for != sort or received_at.tzinfo is None or not isinstance(capture_id, str) \
            or len(capture_id) > 36:
        raise errors.DomainError(errors.BAD_CURSOR)
    return received_at, capture_id
