"""Upgrading a database whose log already holds leaves builds every stored subtree from them."""

import os
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from core import merkle
from server import create_app
from tests.integration.test_migrations import _empty_database
from verifier import tree_nodes

AT = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def test_the_migration_backfills_the_subtrees_of_existing_leaves_and_proofs_follow(database_factory, tmp_path):
    url = _empty_database(database_factory, tmp_path)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DANGAN_DATA_DIR": str(tmp_path),
            "REDIS_URL": "redis://unused",
        }
    )
    size = 23
    entries = [f'{{"n":{i}}}'.encode() for i in range(size)]
    hashes = [merkle.leaf_hash(e) for e in entries]
    with app.app_context():
        from models.database import db
        from services import translog

        upgrade(revision="0014")
        with db.engine.begin() as conn:
            for i, entry in enumerate(entries):
                conn.execute(
                    sa.text(
                        "INSERT INTO log_leaves (leaf_index, event_type, subject_id, entry, leaf_hash, appended_at) "
                        "VALUES (:i, 'approved', :s, :e, :h, :a)"
                    ),
                    {"i": i, "s": f"c{i}", "e": entry, "h": hashes[i].hex(), "a": AT},
                )
            if not conn.execute(
                sa.text("UPDATE counters SET value = :v WHERE name = 'translog.size'"), {"v": size}
            ).rowcount:
                conn.execute(sa.text("INSERT INTO counters (name, value) VALUES ('translog.size', :v)"), {"v": size})
        upgrade()
        with db.engine.connect() as conn:
            stored = {(lv, i): bytes(h) for lv, i, h in conn.execute(sa.text("SELECT * FROM log_nodes"))}
        builder, expected = tree_nodes.CompactRange(), {}
        for leaf in hashes:
            expected.update(builder.append(leaf))
        assert stored == expected
        proof = translog.inclusion_proof(db.session, 5, size)
        assert proof["path"] == [h.hex() for h in merkle.inclusion_path(hashes, 5)]
        translog.append_event(db.session, "approved", "next", {}, AT)  # appends continue on the backfilled nodes
        db.session.commit()
        leaf = merkle.leaf_hash(db.session.get(translog.LogLeaf, size).entry)
        assert translog.root_hash(db.session, size + 1) == merkle.root_from_leaf_hashes(hashes + [leaf])
        db.session.remove()
        db.engine.dispose()
    if os.environ.get("TEST_DATABASE_URL"):
        database_factory.drop(url)
