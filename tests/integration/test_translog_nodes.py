"""The evidence log's stored subtrees: appends write them, roots and proofs read O(log n) of them.

Everything is compared with the naive RFC 6962 functions run over every leaf hash, on SQLite and,
with TEST_DATABASE_URL, on PostgreSQL.
"""

import math
import threading
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from core import merkle
from models import LogLeaf, LogNode
from models.database import db
from services import stamping_env, translog
from tests.helpers.log_tree import bulk_log, leaf_hashes
from verifier import tree_nodes

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
SIZE = 260
FIXTURE_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _append(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        translog.append_event(db.session, "approved", f"capture-{i}", {"n": i}, NOW)


def _stored_nodes() -> dict:
    rows = db.session.execute(select(LogNode.level, LogNode.index, LogNode.hash))
    return {(level, index): bytes(h) for level, index, h in rows}


def _expected_nodes(hashes: list[bytes]) -> dict:
    builder, nodes = tree_nodes.CompactRange(), {}
    for leaf in hashes:
        nodes.update(builder.append(leaf))
    return nodes


@pytest.fixture
def grown(app):
    """A log of SIZE leaves appended one event at a time, and its leaf hashes."""
    _append(SIZE)
    db.session.commit()
    return leaf_hashes(db.session, SIZE)


def test_appends_store_exactly_the_complete_subtrees_of_the_tree(grown):
    assert _stored_nodes() == _expected_nodes(grown)
    assert len(_stored_nodes()) == SIZE - bin(SIZE).count("1")


def test_a_rolled_back_append_leaves_no_node_and_the_next_one_completes_the_same_subtrees(app):
    _append(3)
    db.session.commit()
    _append(1, start=3)  # leaf 3 completes nodes (1, 1) and (2, 0)
    db.session.rollback()
    assert set(_stored_nodes()) == {(1, 0)}
    _append(1, start=4)
    db.session.commit()
    assert _stored_nodes() == _expected_nodes(leaf_hashes(db.session, 4))


def test_the_root_of_every_size_from_stored_nodes_is_the_naive_root(grown):
    for size in range(1, SIZE + 1):
        assert translog.root_hash(db.session, size) == merkle.root_from_leaf_hashes(grown[:size])


def test_proofs_at_the_edges_of_every_size_equal_the_naive_ones(grown):
    for size in range(1, SIZE + 1):
        for index in sorted({0, size - 1}):
            proof = translog.inclusion_proof(db.session, index, size)
            assert proof["path"] == [h.hex() for h in merkle.inclusion_path(grown[:size], index)]
            assert proof["root_hash"] == merkle.root_from_leaf_hashes(grown[:size]).hex()
            assert proof["leaf_hash"] == grown[index].hex()
        for old in sorted({size // 2 or 1, size}):
            proof = translog.consistency_proof(db.session, old, size)
            assert proof["path"] == [h.hex() for h in merkle.consistency_path(grown[:size], old)]
            assert proof["old_root"] == merkle.root_from_leaf_hashes(grown[:old]).hex()


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_HEALTH)
@given(data=st.data())
def test_random_inclusion_and_consistency_proofs_equal_the_naive_ones(grown, data):
    size = data.draw(st.integers(1, SIZE))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    inclusion = translog.inclusion_proof(db.session, index, size)
    assert inclusion["path"] == [h.hex() for h in merkle.inclusion_path(grown[:size], index)]
    consistency = translog.consistency_proof(db.session, old, size)
    assert consistency["path"] == [h.hex() for h in merkle.consistency_path(grown[:size], old)]
    assert consistency["new_root"] == merkle.root_from_leaf_hashes(grown[:size]).hex()


def test_a_proof_beyond_the_log_is_refused_as_before(grown):
    with pytest.raises(ValueError):
        translog.inclusion_proof(db.session, 3, SIZE + 1)
    with pytest.raises(ValueError):
        translog.consistency_proof(db.session, 3, SIZE + 5)


class Reads:
    """Statements sent to the database and rows they returned, while active."""

    def __init__(self):
        self.statements, self.rows = 0, 0

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._statement)
        event.listen(db.session, "do_orm_execute", self._orm)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._statement)
        event.remove(db.session, "do_orm_execute", self._orm)

    def _statement(self, *args):
        self.statements += 1

    def _orm(self, state):
        if state.is_insert or state.is_update or state.is_delete:
            return None
        frozen = state.invoke_statement().freeze()
        self.rows += len(frozen.data)
        return frozen()


def test_append_proofs_and_checkpoint_read_a_number_of_rows_bounded_by_log2_n(app):
    size = 2**17 - 1  # the next append completes 17 subtrees: the most an append at this size can
    with db.engine.connect() as conn:
        builder = bulk_log(conn, size)
    bound = math.log2(size)
    checks = {
        "inclusion": lambda: translog.inclusion_proof(db.session, 54_321, size),
        "consistency": lambda: translog.consistency_proof(db.session, 99_999, size),
        "root": lambda: translog.root_hash(db.session, size),
        "tree size": lambda: translog.tree_size(db.session),
        "append": lambda: translog.append_event(db.session, "approved", "c", {}, NOW),
    }
    for name, call in checks.items():
        db.session.expunge_all()
        with Reads() as reads:
            result = call()
        assert reads.statements <= 3 * bound, name
        assert reads.rows <= 3 * bound, name
    db.session.commit()
    builder.append(bytes.fromhex(result.leaf_hash))  # the appended leaf
    assert translog.tree_size(db.session) == size + 1
    assert translog.root_hash(db.session, size + 1) == builder.root()
    assert db.session.get(LogNode, (17, 0)).hash == builder.root()
    env = stamping_env.env_for(app)
    with Reads() as reads:
        checkpoint = translog.make_checkpoint(db.session, env.signer, NOW)
    assert checkpoint is not None and reads.statements <= 3 * bound and reads.rows <= 3 * bound


def test_concurrent_appends_number_leaves_without_gaps_and_store_consistent_nodes(app):
    threads, per_thread = 4, 12
    barrier = threading.Barrier(threads)
    failures = []

    def appender(worker: int) -> None:
        with app.app_context():  # its own session, as a request on another server thread has
            barrier.wait()
            try:
                for i in range(per_thread):
                    translog.append_event(db.session, "approved", f"w{worker}-{i}", {}, NOW)
                    db.session.commit()
            except Exception as exc:  # reported below, not lost in the thread
                failures.append(exc)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=appender, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not failures
    total = threads * per_thread
    assert (
        translog.tree_size(db.session)
        == total
        == db.session.scalar(select(func.count(LogNode.level))) + bin(total).count("1")
    )
    assert _stored_nodes() == _expected_nodes(leaf_hashes(db.session, total))


def test_bulk_leaves_are_the_entries_appends_would_write_and_verify(app):
    from tests.helpers.log_tree import AT, entry, subject

    assert entry(7) == translog.entry_bytes("received", subject(7), {"sha256": f"{7:064x}", "size": 7}, AT)
    with db.engine.connect() as conn:
        builder = bulk_log(conn, 37, batch=10)
    env = stamping_env.env_for(app)
    translog.make_checkpoint(db.session, env.signer, NOW)
    db.session.commit()
    report = translog.verify_log(db.session, env.signer.public_key_raw(), env.signer.name)
    assert report["ok"] and report["root_hash"] == builder.root().hex()
    assert db.session.get(LogLeaf, 5).appended_at == AT
