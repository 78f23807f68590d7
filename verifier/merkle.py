"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and signed checkpoints; pure, no database.

The one implementation in the product: the server's evidence log (through ``core.merkle``) and
the offline verifier of evidence bundles both use it. It depends only on the standard library
and ``cryptography`` (Ed25519).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def canonical_json(value) -> bytes:
    """Canonical JSON bytes of a leaf payload: sorted keys, no spaces, UTF-8 (RFC 8785 for our value types)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def leaf_hash(data: bytes) -> bytes:
    """MTH of a single entry: SHA-256(0x00 ‖ d)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root_from_leaf_hashes(hashes: list[bytes]) -> bytes:
    """Merkle tree hash of a list of leaf hashes; the empty tree hashes to SHA-256("")."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    level = list(hashes)
    # Bottom-up pairing gives the same tree as RFC 6962's recursive split: a lone last node
    # is promoted unchanged to the next level.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_path(hashes: list[bytes], index: int) -> list[bytes]:
    """Audit path (RFC 9162 §2.1.3.1) for leaf ``index`` in the tree of ``hashes``."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ValueError("leaf index outside the tree")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_path(hashes[:k], index) + [root_from_leaf_hashes(hashes[k:])]
    return inclusion_path(hashes[k:], index - k) + [root_from_leaf_hashes(hashes[:k])]


def consistency_path(hashes: list[bytes], old_size: int) -> list[bytes]:
    """Consistency proof (RFC 9162 §2.1.4.1) between the first ``old_size`` leaves and all of them."""
    n = len(hashes)
    if not 0 < old_size <= n:
        raise ValueError("old size must be within 1..new size")
    if old_size == n:
        return []
    return _subproof(hashes, old_size, True)


def _subproof(hashes: list[bytes], m: int, complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(hashes[:k], m, complete) + [root_from_leaf_hashes(hashes[k:])]
    return _subproof(hashes[k:], m - k, False) + [root_from_leaf_hashes(hashes[:k])]


def verify_inclusion(leaf: bytes, index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """Check an inclusion proof of a leaf hash (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """Check a consistency proof between two tree heads (RFC 9162 §2.1.4.2)."""
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == 0:  # the empty tree is a prefix of every tree
        return not path
    if old_size == new_size:
        return not path and old_root == new_root
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path = [old_root] + list(path)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- signed checkpoints (C2SP tlog-checkpoint / signed-note) ----------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: origin, size and root, as a signed note."""

    origin: str
    size: int
    root: bytes

    def body(self) -> bytes:
        """The note text that is signed: ``origin\\nsize\\nbase64(root)\\n``."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n".encode()


def key_hint(name: str, public_key: bytes) -> bytes:
    """Signed-note key hint: first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ Ed25519 public key)."""
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_key).digest()[:4]


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key) -> str:
    """Return the signed note text (body, blank line, one signature line) for an Ed25519 key."""
    from cryptography.hazmat.primitives import serialization

    public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signature = private_key.sign(checkpoint.body())
    line = base64.b64encode(key_hint(name, public) + signature).decode()
    return checkpoint.body().decode() + f"\n\u2014 {name} {line}\n"


def parse_checkpoint(note: str) -> tuple[Checkpoint, list[tuple[str, bytes]]]:
    """Split a signed note into its checkpoint and (name, keyhint‖signature) lines."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise ValueError("checkpoint note has no signature block")
    lines = body.split("\n")
    if len(lines) < 3:
        raise ValueError("checkpoint body needs origin, size and root")
    checkpoint = Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True))
    sigs = []
    for line in signatures.strip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            raise ValueError("malformed signature line")
        name, _, blob = line[2:].rpartition(" ")
        sigs.append((name, base64.b64decode(blob, validate=True)))
    return checkpoint, sigs


def verify_checkpoint(note: str, name: str, public_key: bytes) -> Checkpoint:
    """Verify the note's signature by ``name`` with a raw Ed25519 public key; return the checkpoint."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    checkpoint, sigs = parse_checkpoint(note)
    hint = key_hint(name, public_key)
    for signer, blob in sigs:
        if signer == name and blob[:4] == hint:
            try:
                Ed25519PublicKey.from_public_bytes(public_key).verify(blob[4:], checkpoint.body())
            except InvalidSignature as exc:
                raise ValueError("checkpoint signature does not verify") from exc
            return checkpoint
    raise ValueError(f"no signature by {name} with this key")
