"""The one codec of opaque page cursors: keyset positions for lists, signed positions for the sync feed.

Clients treat a cursor as an opaque string and send it back; anything they change or invent is
refused with :class:`CursorInvalid`, which each caller maps to its catalogued error code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

MAX_LENGTH = 512  # no cursor we issue is longer; longer input is refused before any decoding


class CursorInvalid(ValueError):
    """The cursor string is malformed, forged, of another kind or bound to someone else."""


def _pack(body: bytes) -> str:
    return base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")


def _unpack(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
    except (ValueError, binascii.Error, UnicodeError):
        raise CursorInvalid("malformed cursor") from None


def _checked(token) -> str:
    if not isinstance(token, str) or not token or len(token) > MAX_LENGTH:
        raise CursorInvalid("malformed cursor")
    return token


def keyset_encode(sort: str, moment: datetime, row_id: str) -> str:
    """The position after the row (moment, id) of a list in ``sort`` order."""
    return _pack(json.dumps([sort, moment.isoformat(), row_id], separators=(",", ":")).encode("utf-8"))


def keyset_decode(token: str, sort: str, max_id_length: int = 64) -> tuple[datetime, str]:
    """(moment, id) of a keyset cursor made for ``sort``."""
    try:
        made_for, when, row_id = json.loads(_unpack(_checked(token)))
        moment = datetime.fromisoformat(when)
    except (ValueError, TypeError):
        raise CursorInvalid("malformed cursor") from None
    if made_for != sort or moment.tzinfo is None or not isinstance(row_id, str) or len(row_id) > max_id_length:
        raise CursorInvalid("cursor of another list or order")
    return moment, row_id


def _mac(secret: bytes, bound_to: str, body: bytes) -> str:
    digest = hmac.new(secret, bound_to.encode("utf-8") + b"|" + body, hashlib.sha256).digest()
    return _pack(digest[:16])


def signed_encode(payload: dict, secret: bytes, bound_to: str) -> str:
    """A cursor carrying ``payload`` that only ``bound_to`` (e.g. one device) can send back unchanged."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return f"{_pack(body)}.{_mac(secret, bound_to, body)}"


def signed_decode(token: str, secret: bytes, bound_to: str) -> dict:
    """The payload of a signed cursor, after checking its signature for ``bound_to``."""
    token = _checked(token)
    if token.count(".") != 1:
        raise CursorInvalid("malformed cursor")
    text, mac = token.split(".")
    body = _unpack(text)
    if not hmac.compare_digest(mac, _mac(secret, bound_to, body)):
        raise CursorInvalid("cursor signature does not match")
    try:
        payload = json.loads(body)
    except ValueError:
        raise CursorInvalid("malformed cursor") from None
    if not isinstance(payload, dict):
        raise CursorInvalid("malformed cursor")
    return payload
