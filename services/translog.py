"""The transparency log: evidence events as RFC 6962 leaves in the database, signed checkpoints.

Leaves are appended in the caller's transaction, so an event and its log entry commit together
or not at all; so do the complete subtrees (``log_nodes``) the leaf completes, which is what lets
roots and proofs read O(log n) rows. The hashing, proof and signature code is
:mod:`verifier.merkle` (pure, through :mod:`core.merkle`) and the node arithmetic
:mod:`verifier.tree_nodes`, the same code the offline verifier ships.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import date, datetime, timezone

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from core import merkle
from models import Counter, LogCheckpoint, LogLeaf, LogNode, PhotoEvidence
from ports import shared_keys
from ports.tsa import TsaUnavailable
from services.unit_of_work import transaction
from verifier import tree_nodes
from verifier.timestamps import certificate_fingerprint, load_certificates, verify_response

COUNTER = "translog.size"
DEFAULT_NAME = "dangan-evidence-log"
LEAF_VERSION = 1


def jsonable(value):
    """JSON-ready copy of a value: aware datetimes as UTC ISO strings with Z, bytes as hex, tuples as lists."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a log payload")
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def entry_bytes(event_type: str, subject_id: str, payload: dict, now: datetime) -> bytes:
    """The canonical JSON of one log entry (what the leaf hash covers)."""
    return merkle.canonical_json(
        {
            "v": LEAF_VERSION,
            "type": event_type,
            "subject": str(subject_id),
            "at": jsonable(now),
            "payload": jsonable(payload),
        }
    )


def _next_index(session: Session) -> int:
    # UPDATE … RETURNING takes the counter row's lock (PostgreSQL) or the write lock (SQLite)
    # until the caller commits, so concurrent appends get consecutive, unique indexes.
    bumped = session.execute(
        update(Counter).where(Counter.name == COUNTER).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar()
    if bumped is None:
        session.add(Counter(name=COUNTER, value=1))
        session.flush()
        bumped = 1
    return bumped - 1


def append_event(session: Session, event_type: str, subject_id: str, payload: dict, now: datetime) -> LogLeaf:
    """Append an evidence event (received, stamped, approved, rejected, exported, destroyed, …) as a leaf."""
    if not event_type or len(event_type) > 32:
        raise ValueError("event_type must be 1–32 characters")
    entry = entry_bytes(event_type, subject_id, payload, now)
    # the counter's lock (taken by _next_index until commit) also orders the node writes: the left
    # siblings read below were committed by the appends before this one
    index = _next_index(session)
    hashed = merkle.leaf_hash(entry)
    reads = tree_nodes.append_reads(index)
    stored = read_nodes(session, reads)
    completed = tree_nodes.append_nodes(index, hashed, [stored[node] for node in reads])
    leaf = LogLeaf(
        index=index,
        event_type=event_type,
        subject_id=str(subject_id),
        entry=entry,
        leaf_hash=hashed.hex(),
        appended_at=now,
    )
    session.add(leaf)
    if completed:
        session.execute(insert(LogNode), [{"level": lv, "index": i, "hash": h} for (lv, i), h in completed])
    session.flush()
    return leaf


def find_event(session: Session, event_type: str, subject_id: str) -> LogLeaf | None:
    """The first leaf of this event type for a subject, if any (pipeline steps use it to stay idempotent)."""
    return session.scalars(
        select(LogLeaf)
        .where(LogLeaf.event_type == event_type, LogLeaf.subject_id == str(subject_id))
        .order_by(LogLeaf.index)
        .limit(1)
    ).first()


def tree_size(session: Session) -> int:
    """Number of leaves committed so far (one index look-up: leaves are numbered without gaps)."""
    last = session.scalar(select(func.max(LogLeaf.index)))
    return 0 if last is None else last + 1


def read_nodes(session: Session, nodes: list[tree_nodes.NodeId]) -> dict[tree_nodes.NodeId, bytes]:
    """The stored hashes of these nodes, in two statements (leaves, then the nodes above them)."""
    wanted = set(nodes)
    found: dict[tree_nodes.NodeId, bytes] = {}
    leaves = sorted(index for level, index in wanted if level == 0)
    if leaves:
        rows = session.execute(select(LogLeaf.index, LogLeaf.leaf_hash).where(LogLeaf.index.in_(leaves)))
        found.update(((0, index), bytes.fromhex(h)) for index, h in rows)
    by_level: dict[int, list[int]] = {}
    for level, index in sorted(wanted):
        if level:
            by_level.setdefault(level, []).append(index)
    if by_level:
        # one IN list per level: each term is a primary-key look-up on PostgreSQL and SQLite (a row-value
        # IN is a full scan on SQLite); spelled as text, as building it as an expression costs more than running it
        terms: list[str] = []
        params: dict[str, int] = {}
        for lv, indexes in by_level.items():
            names = [f"i{lv}_{n}" for n in range(len(indexes))]
            terms.append(f"(level = :l{lv} AND node_index IN ({', '.join(':' + n for n in names)}))")
            params.update(zip(names, indexes), **{f"l{lv}": lv})
        rows = session.execute(
            text("SELECT level, node_index, hash FROM log_nodes WHERE " + " OR ".join(terms)), params
        )
        found.update(((level, index), bytes(h)) for level, index, h in rows)
    missing = wanted - found.keys()
    if missing:
        raise ValueError(f"the log has no stored node {min(missing)} (level, index)")
    return found


def _tree_hashes(session: Session, ranges: list[tree_nodes.LeafRange]) -> list[bytes]:
    """The tree hash of each leaf range, from the O(log n) stored nodes that cover them."""
    return tree_nodes.range_hashes(ranges, read_nodes(session, tree_nodes.nodes_for(ranges)))


def root_hash(session: Session, size: int) -> bytes:
    """The tree head of the first ``size`` leaves, from at most log2(size) stored nodes."""
    return _tree_hashes(session, [(0, size)])[0]


def inclusion_proof(session: Session, leaf_index: int, tree_size: int) -> dict:
    """Inclusion proof of one leaf in the tree of the first ``tree_size`` leaves (hex hashes)."""
    ranges = tree_nodes.inclusion_ranges(leaf_index, tree_size)
    hashes = _tree_hashes(session, [(leaf_index, leaf_index + 1), (0, tree_size)] + ranges)
    leaf = session.get(LogLeaf, leaf_index)
    assert leaf is not None  # its hash was just read
    return {
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "leaf_hash": hashes[0].hex(),
        "entry": leaf.entry.decode("utf-8"),
        "root_hash": hashes[1].hex(),
        "path": [h.hex() for h in hashes[2:]],
    }


def inclusion_paths(session: Session, leaf_indexes: list[int], tree_size: int) -> list[list[str]]:
    """The audit paths (hex, leaf to root) of several leaves in one tree, from one read of stored nodes."""
    per_leaf = [tree_nodes.inclusion_ranges(index, tree_size) for index in leaf_indexes]
    hashes = iter(_tree_hashes(session, [r for ranges in per_leaf for r in ranges]))
    return [[next(hashes).hex() for _ in ranges] for ranges in per_leaf]


def consistency_proof(session: Session, old_size: int, new_size: int) -> dict:
    """Consistency proof between two tree sizes (hex hashes)."""
    ranges = tree_nodes.consistency_ranges(old_size, new_size)
    hashes = _tree_hashes(session, [(0, old_size), (0, new_size)] + ranges)
    return {
        "old_size": old_size,
        "new_size": new_size,
        "old_root": hashes[0].hex(),
        "new_root": hashes[1].hex(),
        "path": [h.hex() for h in hashes[2:]],
    }


# --- the signing key and checkpoints --------------------------------------------------------


class LogSigner:
    """The log's Ed25519 key: ``keys/evidence-log.ed25519.pem`` under the keys dir (the data dir by default).

    Made on first use on a single machine; a cluster node (``create=False``) only reads the shared one.
    """

    def __init__(self, keys_dir: str | os.PathLike, name: str = DEFAULT_NAME, create: bool = True):
        self.path = shared_keys.log_key_path(keys_dir)
        self.name = name
        self.create = create
        self._key = None

    def private_key(self):
        """Load the key, creating it on first use when this node may."""
        from cryptography.hazmat.primitives import serialization

        if self._key is None:
            shared_keys.ensure_log_key(self.path, self.create)
            self._key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
        return self._key

    def public_key_raw(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        from cryptography.hazmat.primitives import serialization

        return self.private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def public_key_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo)."""
        from cryptography.hazmat.primitives import serialization

        return (
            self.private_key()
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


def _hold_log_lock(session: Session) -> None:
    # the lock appends take (counter row / SQLite write lock): checkpoints of several workers and
    # the appends they sign come one after the other, so two never sign the same tree size
    session.execute(update(Counter).where(Counter.name == COUNTER).values(value=Counter.value))


def make_checkpoint(session: Session, signer: LogSigner, now: datetime, tsa=None) -> LogCheckpoint | None:
    """Sign a checkpoint of the current tree (None if nothing new since the last one); timestamp it."""
    _hold_log_lock(session)
    size = tree_size(session)
    last = latest_checkpoint(session)
    if size == 0 or (last is not None and last.tree_size >= size):
        return None
    root = root_hash(session, size)
    note = merkle.sign_checkpoint(merkle.Checkpoint(signer.name, size, root), signer.name, signer.private_key())
    checkpoint = LogCheckpoint(
        tree_size=size, root_hash=root.hex(), note=note, key_name=signer.name, created_at=now, tsa_status="pending"
    )
    session.add(checkpoint)
    session.flush()
    if tsa is not None:
        timestamp_checkpoint(checkpoint, tsa, session, now)
    return checkpoint


def checkpoint_digest(checkpoint: LogCheckpoint) -> bytes:
    """What the TSA stamps for a checkpoint: SHA-256 of the signed note text."""
    return hashlib.sha256(checkpoint.note.encode("utf-8")).digest()


def checkpoint_subject(tree_size: int) -> str:
    """The subject of the ``timestamped`` event that binds a checkpoint's token into the log."""
    return f"checkpoint-{int(tree_size)}"


def timestamp_checkpoint(
    checkpoint: LogCheckpoint, tsa, session: Session | None = None, now: datetime | None = None
) -> bool:
    """Ask the TSA for a token over the checkpoint; on failure leave it pending with the reason.

    Given a session, a granted token is bound into the log: a ``timestamped`` event records the
    token's SHA-256, the note's SHA-256 and the issuer, so the next checkpoint signs over it and a
    token replaced later no longer matches the log.
    """

    if session is not None and not tsa_fits_log(session, tsa):
        checkpoint.tsa_status = "pending"
        checkpoint.tsa_error = "left to the deployment's TSA: this process has only the built-in local TSA"
        return False
    try:
        token = tsa.stamp(checkpoint_digest(checkpoint))
    except TsaUnavailable as exc:
        checkpoint.tsa_status, checkpoint.tsa_error = "pending", str(exc)[:500]
        return False
    checkpoint.tsa_status, checkpoint.tsa_kind, checkpoint.tsa_token = "granted", token.kind, token.response
    checkpoint.tsa_gen_time, checkpoint.tsa_error = token.gen_time, None
    checkpoint.tsa_name, checkpoint.tsa_url = token.tsa_name, token.url
    checkpoint.tsa_chain_pem = token.chain_pem.decode() if token.chain_pem else None
    checkpoint.tsa_anchor_pem = token.anchor_pem.decode() if token.anchor_pem else None
    if session is not None:
        anchors = load_certificates(token.anchor_pem)
        append_event(
            session,
            "timestamped",
            checkpoint_subject(checkpoint.tree_size),
            {
                "checkpoint_tree_size": checkpoint.tree_size,
                "checkpoint_root_hash": checkpoint.root_hash,
                "note_sha256": checkpoint_digest(checkpoint).hex(),
                "tsa_token_sha256": hashlib.sha256(token.response).hexdigest(),
                "tsa_kind": token.kind,
                "tsa_name": token.tsa_name,
                "tsa_url": token.url,
                "tsa_gen_time": token.gen_time,
                "tsa_anchor_sha256": certificate_fingerprint(anchors[0]) if anchors else None,
            },
            now or token.gen_time,
        )
    return True


def tsa_fits_log(session: Session, tsa) -> bool:
    """False when ``tsa`` is the built-in local TSA while the log's latest token came from an external TSA.

    That is a process started without the deployment's TSA settings (a shell without ``TSA_URL``):
    it must not add local tokens to an archive timestamped by an external TSA.
    """
    if tsa is None or tsa.kind != "local":
        return True
    latest = []
    for model in (PhotoEvidence, LogCheckpoint):
        row = session.execute(
            select(model.tsa_kind, model.tsa_gen_time)
            .where(model.tsa_status == "granted")
            .order_by(model.tsa_gen_time.desc())
            .limit(1)
        ).first()
        if row is not None and row[1] is not None:
            latest.append((row[1], row[0]))
    return not latest or max(latest)[1] == "local"


def growth_besides_timestamps(session: Session, since: int) -> int:
    """Leaves appended from index ``since`` on, not counting the events binding checkpoint tokens."""
    return (
        session.scalar(
            select(func.count())
            .select_from(LogLeaf)
            .where(
                LogLeaf.index >= since,
                ~((LogLeaf.event_type == "timestamped") & LogLeaf.subject_id.like("checkpoint-%")),
            )
        )
        or 0
    )


def checkpoint_timestamp_event(session: Session, size: int) -> LogLeaf | None:
    """The latest leaf below ``size`` binding a checkpoint's token into the log, if any."""
    return session.scalars(
        select(LogLeaf)
        .where(LogLeaf.index < size, LogLeaf.event_type == "timestamped", LogLeaf.subject_id.like("checkpoint-%"))
        .order_by(LogLeaf.index.desc())
        .limit(1)
    ).first()


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    """The most recent signed checkpoint (what evidence exports bundle with their proofs)."""
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc()).limit(1)).first()


def public_key_info(signer: LogSigner) -> dict:
    """The log's name and public key, for verifiers."""
    raw = signer.public_key_raw()
    return {
        "name": signer.name,
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(raw).decode(),
        "public_key_pem": signer.public_key_pem(),
        "key_hint": merkle.key_hint(signer.name, raw).hex(),
    }


VERIFIED = "translog.verified"
VERIFY_BATCH = 10_000


def _check_stored_nodes(session: Session, completed: dict[tree_nodes.NodeId, bytes], problems: list[str]) -> None:
    """Compare the nodes a batch of leaves completes with the stored ones (one range query per level)."""
    by_level: dict[int, list[int]] = {}
    for level, index in completed:
        by_level.setdefault(level, []).append(index)
    stored: dict[tree_nodes.NodeId, bytes] = {}
    for level, indexes in by_level.items():
        rows = session.execute(
            select(LogNode.index, LogNode.hash).where(
                LogNode.level == level, LogNode.index.between(min(indexes), max(indexes))
            )
        )
        stored.update(((level, index), bytes(h)) for index, h in rows)
    for node, expected in sorted(completed.items()):
        if node not in stored:
            problems.append(f"node {node}: missing from the stored subtrees")
        elif stored[node] != expected:
            problems.append(f"node {node}: stored hash differs from the leaves under it")


def _check_no_node_beyond(session: Session, size: int, problems: list[str]) -> None:
    """No stored subtree reaches past the last leaf (a planted node would shape later proofs)."""
    top = session.scalar(select(func.max(LogNode.level))) or 0
    for level in range(1, top + 1):
        last = session.scalar(select(func.max(LogNode.index)).where(LogNode.level == level))
        if last is not None and (last + 1) << level > size:
            problems.append(f"node {(level, last)}: beyond the {size} leaves of the log")


def _leaves_from(session: Session, start: int):
    """Every leaf from index ``start`` on, in order, read a batch at a time."""
    cursor = start
    while True:
        # plain rows, not entities: nothing accumulates in the session over a log of any size
        batch = session.execute(
            select(LogLeaf.index, LogLeaf.entry, LogLeaf.leaf_hash)
            .where(LogLeaf.index >= cursor)
            .order_by(LogLeaf.index)
            .limit(VERIFY_BATCH)
        ).all()
        if not batch:
            return
        yield batch
        cursor = batch[-1][0] + 1


def verify_log(session: Session, public_key: bytes, name: str, tsa=None, start: int = 0) -> dict:
    """Recompute leaf hashes, stored subtrees and checkpoint roots from leaf ``start`` on; check every checkpoint.

    From 0 every leaf is re-hashed. From ``start`` > 0 the leaves before it are represented by
    the stored subtrees covering them (O(log n)), so only the new part is re-hashed: each later
    checkpoint's signed root still binds those subtrees, and every checkpoint's signature, token
    and consistency with the previous one (a proof from the stored subtrees) is checked as in full.
    """
    problems: list[str] = []
    size = tree_size(session)
    if not 0 <= start <= size:
        raise ValueError(f"the log has {size} leaves; cannot start at {start}")
    checkpoints = session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size)).all()
    wanted = {c.tree_size for c in checkpoints}
    builder = tree_nodes.CompactRange()
    if start:
        try:
            builder = tree_nodes.CompactRange.from_stored(start, read_nodes(session, tree_nodes.range_nodes(0, start)))
        except ValueError as exc:
            problems.append(f"the subtrees before leaf {start}: {exc}")
            start, builder = 0, tree_nodes.CompactRange()
    roots = {start: builder.root()}
    expected_index, count = start, start
    for batch in _leaves_from(session, start):
        completed: dict[tree_nodes.NodeId, bytes] = {}
        for index, entry, stored_hash in batch:
            if index != expected_index:
                problems.append(f"leaf index gap: expected {expected_index}, found {index}")
            expected_index, count = index + 1, count + 1
            computed = merkle.leaf_hash(entry)
            if computed.hex() != stored_hash:
                problems.append(f"leaf {index}: stored hash does not match its entry")
            completed.update(builder.append(computed))
            if builder.size in wanted:
                roots[builder.size] = builder.root()
        _check_stored_nodes(session, completed, problems)
    _check_no_node_beyond(session, size, problems)
    bindings = {}
    for leaf in session.scalars(
        select(LogLeaf).where(LogLeaf.event_type == "timestamped", LogLeaf.subject_id.like("checkpoint-%"))
    ):
        payload = json.loads(leaf.entry)["payload"]
        bindings[leaf.subject_id] = (payload.get("tsa_token_sha256"), payload.get("note_sha256"))
    checked = []
    previous = None
    for checkpoint in checkpoints:
        result = {
            "tree_size": checkpoint.tree_size,
            "signature": "ok",
            "root": "ok",
            "timestamp": checkpoint.tsa_status,
        }
        try:
            signed = merkle.verify_checkpoint(checkpoint.note, name, public_key)
            if signed.size != checkpoint.tree_size or signed.root.hex() != checkpoint.root_hash:
                result["signature"] = "note does not match the stored row"
        except ValueError as exc:
            result["signature"] = str(exc)
        if checkpoint.tree_size > count:
            result["root"] = "checkpoint is larger than the log"
        elif checkpoint.tree_size in roots and roots[checkpoint.tree_size].hex() != checkpoint.root_hash:
            result["root"] = "recomputed root differs"
        elif checkpoint.tree_size not in roots and _stored_root(session, checkpoint.tree_size) != checkpoint.root_hash:
            result["root"] = "the stored subtrees give another root"
        if previous is not None and result["root"] == "ok":
            try:
                proof = consistency_proof(session, previous.tree_size, checkpoint.tree_size)
                consistent = merkle.verify_consistency(
                    previous.tree_size,
                    checkpoint.tree_size,
                    bytes.fromhex(previous.root_hash),
                    bytes.fromhex(checkpoint.root_hash),
                    [bytes.fromhex(h) for h in proof["path"]],
                )
            except ValueError:
                consistent = False
            if not consistent:
                result["root"] = "not consistent with the previous checkpoint"
        if checkpoint.tsa_token and (tsa is not None or checkpoint.tsa_anchor_pem):
            try:
                if checkpoint.tsa_anchor_pem:  # the root recorded at stamping: a later TSA change does not matter
                    verify_response(
                        checkpoint.tsa_token, checkpoint_digest(checkpoint), checkpoint.tsa_anchor_pem.encode()
                    )
                else:
                    tsa.verify(checkpoint.tsa_token, checkpoint_digest(checkpoint))
                result["timestamp"] = f"verified ({checkpoint.tsa_kind})"
            except Exception as exc:  # any failure to verify is a finding, not a crash
                result["timestamp"] = f"invalid: {exc}"
            bound = bindings.get(checkpoint_subject(checkpoint.tree_size))
            if bound is not None and bound != (
                hashlib.sha256(checkpoint.tsa_token).hexdigest(),
                checkpoint_digest(checkpoint).hex(),
            ):
                result["timestamp"] = "invalid: differs from the token the log bound to this checkpoint"
        if result["signature"] != "ok" or result["root"] != "ok" or str(result["timestamp"]).startswith("invalid"):
            problems.append(
                f"checkpoint {checkpoint.tree_size}: signature {result['signature']}, "
                f"root {result['root']}, timestamp {result['timestamp']}"
            )
        checked.append(result)
        previous = checkpoint
    return {
        "ok": not problems,
        "leaves": count,
        "from": start,
        "root_hash": builder.root().hex(),
        "checkpoints": checked,
        "problems": problems,
    }


def _stored_root(session: Session, size: int) -> str | None:
    """The root the stored subtrees give for ``size`` leaves (hex), None when some are missing."""
    try:
        return root_hash(session, size).hex()
    except ValueError:
        return None


def last_verified(session: Session) -> int:
    """The log size the last clean ``log verify`` reached (0 before any)."""
    return session.scalar(select(Counter.value).where(Counter.name == VERIFIED)) or 0


@transaction
def record_verified(session: Session, size: int) -> None:
    """Remember the size a clean verification reached, where the next incremental one starts."""
    counter = session.get(Counter, VERIFIED)
    if counter is None:
        session.add(Counter(name=VERIFIED, value=size))
    else:
        counter.value = size


@transaction
def checkpoint_now(session: Session, signer: LogSigner, now: datetime, tsa=None) -> LogCheckpoint | None:
    """Sign (and timestamp) a checkpoint now if the log grew since the last one (the operator's command)."""
    return make_checkpoint(session, signer, now, tsa)
