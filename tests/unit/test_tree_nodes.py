"""Roots and proofs combined from stored complete subtrees equal the RFC 6962 ones computed from every leaf."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import merkle
from verifier import tree_nodes

MAX = 300
HASHES = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(MAX)]


def _stored(size: int) -> dict:
    """Every node a log of ``size`` leaves stores, built by appending leaves one at a time."""
    nodes = {(0, i): h for i, h in enumerate(HASHES[:size])}
    builder = tree_nodes.CompactRange()
    for leaf in HASHES[:size]:
        nodes.update(builder.append(leaf))
    return nodes


STORED = _stored(MAX)


def _only_needed(ranges) -> dict:
    """The stored nodes a proof names, and nothing else (a proof reading any other node fails)."""
    return {node: STORED[node] for node in tree_nodes.nodes_for(ranges)}


def test_a_log_stores_two_n_minus_popcount_nodes_and_each_append_completes_trailing_ones():
    assert len(_stored(MAX)) == 2 * MAX - bin(MAX).count("1")
    for index in range(64):
        assert len(tree_nodes.append_reads(index)) == len(bin(index)) - len(bin(index).rstrip("1"))


@pytest.mark.parametrize("size", range(0, MAX + 1))
def test_the_root_of_every_size_from_stored_nodes_is_the_rfc6962_root(size):
    ranges = [(0, size)]
    assert tree_nodes.range_hashes(ranges, _only_needed(ranges)) == [merkle.root_from_leaf_hashes(HASHES[:size])]
    assert len(tree_nodes.range_nodes(0, size)) == bin(size).count("1")


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_inclusion_and_consistency_proofs_at_the_edges_of_every_size_equal_the_naive_ones(size):
    hashes = HASHES[:size]
    for index in sorted({0, size // 2, size - 1}):
        ranges = tree_nodes.inclusion_ranges(index, size)
        assert tree_nodes.range_hashes(ranges, _only_needed(ranges)) == merkle.inclusion_path(hashes, index)
    for old in sorted({1, size // 2 or 1, size - 1 or 1, size}):
        ranges = tree_nodes.consistency_ranges(old, size)
        assert tree_nodes.range_hashes(ranges, _only_needed(ranges)) == merkle.consistency_path(hashes, old)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, MAX).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_random_inclusion_proofs_equal_the_naive_ones(pair):
    index, size = pair
    ranges = tree_nodes.inclusion_ranges(index, size)
    assert tree_nodes.range_hashes(ranges, _only_needed(ranges)) == merkle.inclusion_path(HASHES[:size], index)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, MAX).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_random_consistency_proofs_equal_the_naive_ones(pair):
    old, new = pair
    ranges = tree_nodes.consistency_ranges(old, new)
    assert tree_nodes.range_hashes(ranges, _only_needed(ranges)) == merkle.consistency_path(HASHES[:new], old)


@given(st.integers(1, 2**40).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_a_proof_names_at_most_two_log2_n_nodes_at_any_size(pair):
    index, size = pair
    bound = 2 * max(size.bit_length(), 1)
    assert len(tree_nodes.nodes_for(tree_nodes.inclusion_ranges(index, size))) <= bound
    assert len(tree_nodes.nodes_for(tree_nodes.consistency_ranges(index + 1, size))) <= bound


def test_a_compact_range_restarted_from_stored_nodes_continues_the_same_tree():
    builder = tree_nodes.CompactRange.from_stored(137, STORED)
    completed = {}
    for leaf in HASHES[137:MAX]:
        completed.update(builder.append(leaf))
    assert builder.root() == merkle.root_from_leaf_hashes(HASHES)
    assert all(STORED[node] == value for node, value in completed.items())


def test_out_of_range_requests_are_refused_as_the_naive_functions_refuse_them():
    for call in (
        lambda: tree_nodes.inclusion_ranges(5, 5),
        lambda: tree_nodes.inclusion_ranges(-1, 5),
        lambda: tree_nodes.consistency_ranges(0, 5),
        lambda: tree_nodes.consistency_ranges(6, 5),
        lambda: tree_nodes.range_nodes(3, 2),
    ):
        with pytest.raises(ValueError):
            call()
