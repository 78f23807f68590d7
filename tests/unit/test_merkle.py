"""RFC 6962 / RFC 9162 hashing and proofs, checked against the published test vectors.

Vectors: certificate-transparency / transparency-dev/merkle ``proof/verify_test.go``
(leaves, the roots of trees of size 1..8, inclusion and consistency proofs).
"""

import hashlib

import pytest

from core import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
# (1-based leaf, tree size, proof)
INCLUSION = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def test_empty_tree_hashes_to_sha256_of_nothing():
    assert merkle.root_from_leaf_hashes([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_tree_heads_match_the_rfc6962_vectors(size):
    assert merkle.root_from_leaf_hashes(HASHES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize("leaf,size,proof", INCLUSION)
def test_inclusion_proofs_match_the_vectors_and_verify(leaf, size, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert merkle.inclusion_path(HASHES[:size], leaf - 1) == expected
    assert merkle.verify_inclusion(HASHES[leaf - 1], leaf - 1, size, expected, ROOTS[size - 1])


@pytest.mark.parametrize("leaf,size,proof", INCLUSION)
def test_tampered_inclusion_proofs_are_rejected(leaf, size, proof):
    path = [bytes.fromhex(h) for h in proof]
    index, root, hashed = leaf - 1, ROOTS[size - 1], HASHES[leaf - 1]
    assert not merkle.verify_inclusion(hashed, index + 1, size, path, root)
    assert not merkle.verify_inclusion(hashed, index, size * 2, path, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"WrongLeaf"), index, size, path, root)
    assert not merkle.verify_inclusion(hashed, index, size, path + [root], root)
    assert not merkle.verify_inclusion(hashed, index, size, [root] + path, root)
    assert not merkle.verify_inclusion(hashed, index, size, path[:-1], root)
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        assert not merkle.verify_inclusion(hashed, index, size, flipped, root)


@pytest.mark.parametrize("old,new,proof", CONSISTENCY)
def test_consistency_proofs_match_the_vectors_and_verify(old, new, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert merkle.consistency_path(HASHES[:new], old) == expected
    assert merkle.verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], expected)


@pytest.mark.parametrize("old,new,proof", CONSISTENCY)
def test_tampered_consistency_proofs_are_rejected(old, new, proof):
    path = [bytes.fromhex(h) for h in proof]
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    assert not merkle.verify_consistency(old + 1, new, r1, r2, path)
    assert not merkle.verify_consistency(old, new * 2, r1, r2, path)
    assert not merkle.verify_consistency(old, new, r2, r1, path)
    assert not merkle.verify_consistency(old, new, r1, r2, [])
    assert not merkle.verify_consistency(old, new, r1, r2, path + [r1])
    assert not merkle.verify_consistency(old, new, r1, r2, path[:-1])
    assert not merkle.verify_consistency(new, old, r2, r1, path)  # a tree never shrinks
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        assert not merkle.verify_consistency(old, new, r1, r2, flipped)


def test_every_generated_proof_verifies_for_trees_up_to_40_leaves():
    hashes = [merkle.leaf_hash(str(i).encode()) for i in range(40)]
    for size in range(1, 41):
        root = merkle.root_from_leaf_hashes(hashes[:size])
        for index in range(size):
            assert merkle.verify_inclusion(
                hashes[index], index, size, merkle.inclusion_path(hashes[:size], index), root
            )
        for old in range(1, size + 1):
            old_root = merkle.root_from_leaf_hashes(hashes[:old])
            assert merkle.verify_consistency(old, size, old_root, root, merkle.consistency_path(hashes[:size], old))


def test_signed_checkpoint_verifies_and_detects_a_changed_root():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    note = merkle.sign_checkpoint(merkle.Checkpoint("dangan/evidence-log", 8, ROOTS[7]), "dangan", key)
    assert note.startswith("dangan/evidence-log\n8\n")
    assert merkle.verify_checkpoint(note, "dangan", public).root == ROOTS[7]
    forged = note.replace(
        merkle.Checkpoint("x", 8, ROOTS[7]).body().decode().split("\n")[2],
        merkle.Checkpoint("x", 8, ROOTS[6]).body().decode().split("\n")[2],
    )
    with pytest.raises(ValueError):
        merkle.verify_checkpoint(forged, "dangan", public)
