"""An RFC 6962 inclusion check written independently of the product's (recursive, straight from §2.1.1)."""

from __future__ import annotations

import hashlib


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_from_inclusion_proof(leaf_hash: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """The tree head an audit path leads to: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    if size == 1:
        return leaf_hash if index == 0 and not path else None
    if not path:
        return None
    k = _largest_power_of_two_below(size)
    if index < k:
        left = root_from_inclusion_proof(leaf_hash, index, k, path[:-1])
        return None if left is None else hashlib.sha256(b"\x01" + left + path[-1]).digest()
    right = root_from_inclusion_proof(leaf_hash, index - k, size - k, path[:-1])
    return None if right is None else hashlib.sha256(b"\x01" + path[-1] + right).digest()
