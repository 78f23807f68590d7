"""Every worker of a cluster signs checkpoints from its housekeeping tick: several at the same
moment sign one checkpoint per tree size, and none fails on the unique tree size."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from threading import Barrier

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import LogCheckpoint
from models.database import db
from services import translog

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def test_workers_signing_at_the_same_moment_make_one_checkpoint_and_no_error(app, database_url, tmp_path):
    for n in range(5):
        translog.append_event(db.session, "received", f"photo-{n}", {"n": n}, NOW)
    db.session.commit()
    signer = translog.LogSigner(tmp_path / "keys")
    signer.private_key()  # made once, before the workers race
    workers = 6
    start = Barrier(workers)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool, connect_args=_connect_args(database_url))

    def worker_tick(_):
        with Session(engine) as session:
            start.wait()
            made = translog.checkpoint_now(session, signer, NOW)
            return None if made is None else made.tree_size

    try:
        with ThreadPoolExecutor(workers) as pool:
            sizes = list(pool.map(worker_tick, range(workers)))
    finally:
        engine.dispose()
    assert sorted(s for s in sizes if s is not None) == [5]
    assert db.session.scalars(sa.select(LogCheckpoint.tree_size)).all() == [5]


def _connect_args(url: str) -> dict:
    # SQLite: wait for the write lock as the app's connections do (server/app.py sets busy_timeout)
    return {"timeout": 10} if url.startswith("sqlite") else {}
