"""Opaque keyset cursors of the review queue: (sort, received_at, capture id) in URL-safe base64."""

from __future__ import annotations

from datetime import datetime

from core import cursors, errors

SORTS = {"received_asc": "最早收到在前", "received_desc": "最新收到在前"}


def encode_cursor(sort: str, received_at: datetime, capture_id: str) -> str:
    """Encode the position after the last item of a page."""
    return cursors.keyset_encode(sort, received_at, capture_id)


def decode_cursor(token: str, sort: str) -> tuple[datetime, str]:
    """Decode a cursor made for ``sort``; raise ``review.bad_cursor`` on anything else."""
    try:
        return cursors.keyset_decode(token, sort, max_id_length=36)
    except cursors.CursorInvalid:
        raise errors.DomainError(errors.BAD_CURSOR) from None
