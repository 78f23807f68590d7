"""A large evidence log made quickly: leaves and their complete subtrees bulk-inserted in batches.

The nodes come from the same arithmetic appends use (:class:`verifier.tree_nodes.CompactRange`),
so the result is the log ``translog.append_event`` would have built, minus the per-event cost.
Used by the statement-count tests and by ``bench/log_bench.py``; :func:`leaf_hashes` is the O(n)
read the tests and the bench compare the stored-subtree proofs with (the product reads every leaf
only in ``log verify``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Counter, LogLeaf
from services import translog
from verifier import tree_nodes

AT = datetime(2026, 3, 2, 1, 15, 30, tzinfo=timezone.utc)
# translog.entry_bytes("received", subject, {"sha256": …, "size": …}, AT), spelled out for speed
ENTRY = '{"at":"2026-03-02T01:15:30Z","payload":{"sha256":"%064x","size":%d},"subject":"%s","type":"received","v":1}'


def subject(index: int) -> str:
    """The subject of bulk leaf ``index``."""
    return f"photo-{index:010d}"


def entry(index: int) -> bytes:
    """The canonical entry of bulk leaf ``index`` (a ``received`` event like the pipeline's)."""
    return (ENTRY % (index, index, subject(index))).encode()


def leaf_hashes(session: Session, size: int) -> list[bytes]:
    """Leaf hashes of the first ``size`` leaves, in order: every leaf read, for the naive RFC 6962 functions."""
    rows = session.scalars(select(LogLeaf.leaf_hash).where(LogLeaf.index < size).order_by(LogLeaf.index)).all()
    if len(rows) != size:
        raise ValueError(f"the log has {len(rows)} leaves below index {size}")
    return [bytes.fromhex(h) for h in rows]


def _placeholders(conn: sa.Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def bulk_log(
    conn: sa.Connection, size: int, batch: int = 20_000, progress: Callable[[int], None] | None = None
) -> tree_nodes.CompactRange:
    """Append ``size`` leaves to an empty log through ``conn``, committing each batch; return the compact range."""
    leaves_sql = (
        "INSERT INTO log_leaves (leaf_index, event_type, subject_id, entry, leaf_hash, appended_at) "
        f"VALUES ({_placeholders(conn, 6)})"
    )
    nodes_sql = f"INSERT INTO log_nodes (level, node_index, hash) VALUES ({_placeholders(conn, 3)})"
    to_column = LogLeaf.__table__.c.appended_at.type.bind_processor(conn.dialect)
    at = to_column(AT) if to_column else AT
    builder = tree_nodes.CompactRange()
    leaves: list[tuple] = []
    nodes: list[tuple] = []
    for index in range(size):
        data = entry(index)
        hashed = hashlib.sha256(b"\x00" + data).digest()
        leaves.append((index, "received", subject(index), data, hashed.hex(), at))
        nodes += [(level, i, h) for (level, i), h in builder.append(hashed)]
        if len(leaves) >= batch or index == size - 1:
            conn.exec_driver_sql(leaves_sql, leaves)
            if nodes:
                conn.exec_driver_sql(nodes_sql, nodes)
            conn.commit()
            leaves, nodes = [], []
            if progress:
                progress(index + 1)
    # later appends continue the numbering where the bulk load stopped
    counters = Counter.__table__
    if not conn.execute(sa.update(counters).where(counters.c.name == translog.COUNTER).values(value=size)).rowcount:
        conn.execute(sa.insert(counters).values(name=translog.COUNTER, value=size))
    conn.commit()
    return builder
