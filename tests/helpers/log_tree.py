"""A large evidence log made quickly: leaves and their complete subtrees bulk-inserted in batches.

The nodes come from the same arithmetic appends use (:class:`verifier.tree_nodes.CompactRange`),
so the result is the log ``translog.append_event`` would have built, minus the per-event cost.
Used by the statement-count tests and by ``bench/log_bench.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa

from models import Counter, LogLeaf, LogNode
from services import translog
from verifier import tree_nodes

AT = datetime(2026, 3, 2, 1, 15, 30, tzinfo=timezone.utc)


def entry(index: int) -> bytes:
    """The canonical entry of bulk leaf ``index`` (a ``received`` event like the pipeline's)."""
    return translog.entry_bytes("received", f"photo-{index:010d}", {"sha256": f"{index:064x}", "size": index}, AT)


def bulk_log(
    conn: sa.Connection, size: int, batch: int = 20_000, progress: Callable[[int], None] | None = None
) -> tree_nodes.CompactRange:
    """Append ``size`` leaves to an empty log through ``conn`` (the caller commits); return the compact range."""
    builder = tree_nodes.CompactRange()
    leaves, nodes = [], []
    for index in range(size):
        data = entry(index)
        hashed = translog.merkle.leaf_hash(data)
        leaves.append(
            {
                "leaf_index": index,
                "event_type": "received",
                "subject_id": f"photo-{index:010d}",
                "entry": data,
                "leaf_hash": hashed.hex(),
                "appended_at": AT,
            }
        )
        nodes += [{"level": lv, "node_index": i, "hash": h} for (lv, i), h in builder.append(hashed)]
        if len(leaves) >= batch or index == size - 1:
            conn.execute(LogLeaf.__table__.insert(), leaves)
            if nodes:
                conn.execute(LogNode.__table__.insert(), nodes)
            leaves, nodes = [], []
            if progress:
                progress(index + 1)
    # later appends continue the numbering where the bulk load stopped
    counters = Counter.__table__
    if not conn.execute(sa.update(counters).where(counters.c.name == translog.COUNTER).values(value=size)).rowcount:
        conn.execute(sa.insert(counters).values(name=translog.COUNTER, value=size))
    return builder
