"""RFC 6962 Merkle hashing, proofs and signed checkpoints for the evidence log.

The implementation lives in :mod:`verifier.merkle` so the offline verifier of evidence bundles
stands alone; this module is the name the server's code uses.
"""

from verifier.merkle import (
    LEAF_PREFIX,
    NODE_PREFIX,
    Checkpoint,
    canonical_json,
    consistency_path,
    inclusion_path,
    key_hint,
    leaf_hash,
    node_hash,
    parse_checkpoint,
    root_from_leaf_hashes,
    sign_checkpoint,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "Checkpoint",
    "canonical_json",
    "consistency_path",
    "inclusion_path",
    "key_hint",
    "leaf_hash",
    "node_hash",
    "parse_checkpoint",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
