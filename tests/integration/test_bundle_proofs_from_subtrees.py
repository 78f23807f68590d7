"""Evidence bundles take their Merkle proofs from the stored subtrees: O(log n) rows of the log per proof.

The proofs are compared with the paths read off every level of the tree built from every leaf
(how bundles computed them before) and with the RFC 6962 recursion, so the bundle files keep
their content byte for byte.
"""

from __future__ import annotations

import json
import math
import zipfile

from sqlalchemy import event

from core import merkle
from core.actor import SYSTEM
from models.database import db
from services import evidence_export, export_approval, stamping_env, translog
from tests.helpers.legal_world import ACCOUNT, approve_capture_of, pins_of, push_photos
from tests.helpers.log_tree import bulk_log, leaf_hashes
from verifier import layout
from verifier.check import EXIT_VERIFIED, verify_bundle

BULK = 12_345  # leaves already in the log before the photos arrive


def levels_of(hashes: list[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, a lone last node carried up unchanged."""
    levels = [list(hashes)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        upper = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        levels.append(upper + level[len(level) - len(level) % 2 :])
    return levels


def path_off_levels(levels: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` read off the levels: each level's sibling, leaf to root."""
    path = []
    for level in levels[:-1]:
        if index ^ 1 < len(level):
            path.append(level[index ^ 1])
        index >>= 1
    return path


def test_stored_subtree_paths_equal_the_paths_read_off_every_level_for_every_size_and_index(app):
    with db.engine.connect() as conn:
        bulk_log(conn, 70)
    hashes = leaf_hashes(db.session, 70)
    for size in range(1, 71):
        levels = levels_of(hashes[:size])
        for index in range(size):
            proof = translog.inclusion_proof(db.session, index, size)
            expected = path_off_levels(levels, index)
            assert expected == merkle.inclusion_path(hashes[:size], index)
            assert proof["path"] == [h.hex() for h in expected], (size, index)
            assert proof["root_hash"] == levels[-1][0].hex()
        # every leaf's path of one tree from one read: the same paths
        assert translog.inclusion_paths(db.session, list(range(size)), size) == [
            [h.hex() for h in path_off_levels(levels, index)] for index in range(size)
        ]


class LogRowsRead:
    """Rows the session's statements on ``log_leaves`` returned while active, and the largest single read."""

    def __init__(self):
        self.rows, self.largest = 0, 0

    def __enter__(self):
        event.listen(db.session, "do_orm_execute", self._orm)
        return self

    def __exit__(self, *exc):
        event.remove(db.session, "do_orm_execute", self._orm)

    def _orm(self, state):
        if not state.is_select or "log_leaves" not in str(state.statement):
            return None
        frozen = state.invoke_statement().freeze()
        self.rows += len(frozen.data)
        self.largest = max(self.largest, len(frozen.data))
        return frozen()


def test_a_bundle_over_a_large_log_reads_o_log_n_leaves_and_its_proofs_equal_the_full_tree_ones(
    app, client, clock, tmp_path
):
    with db.engine.connect() as conn:
        bulk_log(conn, BULK)
    photos = push_photos(app, client, tmp_path, count=2)
    clock.advance(minutes=30)
    approve_capture_of(photos[0], clock.now())
    export = evidence_export.request_export(
        db.session,
        SYSTEM,
        None,
        evidence_export.Criteria(account_no=ACCOUNT),
        "张三窃电案",
        clock.now(),
        export_approval.ApprovalLimits(),
    )
    target = tmp_path / "case.zip"
    with LogRowsRead() as reads:
        evidence_export.build_bundle(db.session, stamping_env.env_for(app), export.id, target)

    report = verify_bundle(target, pins_of(app, tmp_path))
    assert report.exit_code == EXIT_VERIFIED, "\n".join(report.lines())
    with zipfile.ZipFile(target) as zf:
        manifest = json.loads(zf.read(layout.MANIFEST))
        proofs = [json.loads(zf.read(item["files"]["proof"])) for item in manifest["items"]]
        binding = json.loads(zf.read(layout.CHECKPOINT_BINDING))
    size = proofs[0]["checkpoint"]["tree_size"]
    proven = [e for proof in proofs for e in proof["events"]] + [binding["event"]]
    # a bundle reads its items' own events and, per proof, the O(log n) leaves among the stored
    # subtrees: never the whole log (the previous computation read every one of its leaves)
    assert size > BULK and len(proven) >= 10
    assert reads.largest <= 2 * math.log2(size), reads.largest
    assert reads.rows <= len(proven) * 2 * math.log2(size), (reads.rows, len(proven))

    hashes = leaf_hashes(db.session, size)
    levels = levels_of(hashes)
    assert all(proof["checkpoint"] == {"tree_size": size, "root_hash": levels[-1][0].hex()} for proof in proofs)
    for e in proven:
        assert e["leaf_hash"] == hashes[e["leaf_index"]].hex()
        assert e["path"] == [h.hex() for h in path_off_levels(levels, e["leaf_index"])]
    old = binding["consistency"]["old_size"]
    assert binding["consistency"]["new_size"] == size
    assert binding["consistency"]["path"] == [h.hex() for h in merkle.consistency_path(hashes, old)]
