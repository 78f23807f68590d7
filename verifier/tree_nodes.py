"""Stored subtree hashes of an RFC 6962 tree: which nodes a root or a proof needs, and how they combine.

Node ``(level, index)`` is the root of the complete subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 nodes are the leaf hashes. A log that
stores every complete node (each append completes as many as the trailing one bits of its index)
answers a root, an inclusion proof or a consistency proof from O(log n) of them: each proof step
is the tree hash of a leaf range, and every range an RFC 6962 proof uses splits into at most
log2(n) complete subtrees (a compact range, as in transparency-dev's ``compact`` package).

Pure: the standard library and :mod:`verifier.merkle` only; the database reads live in the server.
"""

from __future__ import annotations

import hashlib
from typing import Dict, Iterable, List, Mapping, Tuple

from verifier.merkle import node_hash

NodeId = Tuple[int, int]  # (level, index)
LeafRange = Tuple[int, int]  # leaves [begin, end)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(begin: int, end: int) -> List[NodeId]:
    """The complete subtrees covering leaves ``[begin, end)``, left to right (the fewest aligned blocks)."""
    if not 0 <= begin <= end:
        raise ValueError("a leaf range needs 0 <= begin <= end")
    nodes = []
    while begin < end:
        size = begin & -begin if begin else 1 << (end - 1).bit_length()
        while size > end - begin:
            size >>= 1
        level = size.bit_length() - 1
        nodes.append((level, begin >> level))
        begin += size
    return nodes


def fold(hashes: List[bytes]) -> bytes:
    """Tree hash of an RFC 6962 subtree from the hashes of its complete subtrees, left to right."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> List[LeafRange]:
    """The leaf ranges whose tree hashes form the audit path of leaf ``index`` (RFC 9162 §2.1.3.1), leaf first."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    ranges = []
    begin, end = 0, size
    while end - begin > 1:
        k = _split(end - begin)
        if index < begin + k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> List[LeafRange]:
    """The leaf ranges whose tree hashes form the consistency proof old → new (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size <= new_size:
        raise ValueError("old size must be within 1..new size")
    ranges: List[LeafRange] = []
    if old_size == new_size:
        return ranges
    begin, end, m, complete = 0, new_size, old_size, True
    while m != end - begin:
        k = _split(end - begin)
        if m <= k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin, m, complete = begin + k, m - k, False
    if not complete:
        ranges.append((begin, end))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[LeafRange]) -> List[NodeId]:
    """Every stored node the tree hashes of these ranges need, without repeats, in a stable order."""
    seen: Dict[NodeId, None] = {}
    for begin, end in ranges:
        for node in range_nodes(begin, end):
            seen[node] = None
    return list(seen)


def range_hashes(ranges: Iterable[LeafRange], stored: Mapping[NodeId, bytes]) -> List[bytes]:
    """The tree hash of each range, combined from the stored nodes that :func:`nodes_for` named."""
    return [fold([stored[node] for node in range_nodes(begin, end)]) for begin, end in ranges]


def append_reads(index: int) -> List[NodeId]:
    """The stored left siblings that appending leaf ``index`` combines with, lowest level first."""
    reads = []
    level, position = 0, index
    while position & 1:
        reads.append((level, position - 1))
        level, position = level + 1, position >> 1
    return reads


def append_nodes(index: int, leaf: bytes, left_siblings: List[bytes]) -> List[Tuple[NodeId, bytes]]:
    """The nodes above level 0 that leaf ``index`` completes, given the hashes :func:`append_reads` named."""
    completed = []
    level, position, current = 0, index, leaf
    for sibling in left_siblings:
        current = node_hash(sibling, current)
        level, position = level + 1, position >> 1
        completed.append(((level, position), current))
    return completed


class CompactRange:
    """The complete subtrees of leaves ``[0, size)`` (largest first): a growing tree's right border.

    Appending leaves one by one yields every node they complete, which is how a log is built or
    re-checked in one pass without holding its leaves in memory.
    """

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()):
        self.size = size
        self.hashes = list(hashes)
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError("a compact range holds one hash per one bit of its size")

    @classmethod
    def from_stored(cls, size: int, stored: Mapping[NodeId, bytes]) -> "CompactRange":
        """The compact range of ``[0, size)`` from stored nodes (those ``range_nodes(0, size)`` names)."""
        return cls(size, [stored[node] for node in range_nodes(0, size)])

    def append(self, leaf: bytes) -> List[Tuple[NodeId, bytes]]:
        """Add the next leaf hash; return the nodes above level 0 it completes."""
        count = len(append_reads(self.size))
        lefts = list(reversed(self.hashes[len(self.hashes) - count :]))
        completed = append_nodes(self.size, leaf, lefts)
        del self.hashes[len(self.hashes) - count :]
        self.hashes.append(completed[-1][1] if completed else leaf)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The tree hash of the first ``size`` leaves."""
        return fold(self.hashes)
