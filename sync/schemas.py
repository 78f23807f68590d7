"""Publishing the capture schemas to every tablet through the feed (scope ``all``).

Schemas live in code, so a server upgrade can bring new versions without any data change. The
first pull after such an upgrade notices that the published fingerprints differ from the code
and publishes the changed descriptors before it reads the feed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import capture_schema
from models import SyncChange
from sync import feed
from sync.scope import SCHEMA

_published: set[tuple[str, str]] = set()  # (database, fingerprint) known to be in the feed


def entity_id(kind: str, version: int) -> str:
    """Feed id of one schema version, e.g. ``usage_inspection.v2``."""
    return f"{kind}.v{version}"


def current_descriptors() -> dict[str, dict]:
    """Every schema version as it should appear in the feed, by entity id."""
    out = {}
    for (kind, version), spec in sorted(capture_schema.REGISTRY.items()):
        descriptor = capture_schema.describe(spec)
        descriptor["fingerprint"] = capture_schema.fingerprint(spec)
        out[entity_id(kind, version)] = descriptor
    return out


def _database(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def ensure_published(session: Session) -> int:
    """Publish schema descriptors missing from or outdated in the feed; return how many."""
    wanted = current_descriptors()
    database = _database(session)
    if all((database, d["fingerprint"]) in _published for d in wanted.values()):
        return 0
    latest = (
        select(SyncChange.entity_id, func.max(SyncChange.id).label("id"))
        .where(SyncChange.scope == feed.ALL, SyncChange.entity == SCHEMA)
        .group_by(SyncChange.entity_id)
        .subquery()
    )
    rows = session.execute(select(SyncChange).join(latest, SyncChange.id == latest.c.id)).scalars()
    have = {row.entity_id: (row.payload or {}).get("fingerprint") for row in rows}
    count = 0
    for key, descriptor in wanted.items():
        if have.get(key) != descriptor["fingerprint"]:
            feed.publish(session, feed.ALL, SCHEMA, key, "upsert", descriptor)
            count += 1
    return count


def remember_published(session: Session) -> None:
    """Note (after commit) that this process's schemas are in this database's feed."""
    database = _database(session)
    _published.update((database, d["fingerprint"]) for d in current_descriptors().values())
