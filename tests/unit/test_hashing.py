"""SHA-256 and SM3 in one streamed pass, matching the GB/T 32905 test vector."""

import hashlib
import io

from core.hashing import CHUNK, digest_bytes, digest_stream


def test_sm3_matches_the_gbt_32905_example():
    assert digest_bytes(b"abc").sm3 == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_streamed_digests_equal_whole_digests_across_chunk_boundaries():
    data = bytes(range(256)) * (CHUNK // 256 * 2 + 7)
    streamed = digest_stream(io.BytesIO(data))
    assert streamed == digest_bytes(data)
    assert streamed.sha256 == hashlib.sha256(data).hexdigest() and streamed.size == len(data)


def test_an_sm3_not_yet_computed_is_not_compared_but_a_recorded_one_must_match():
    from core.hashing import matches, sha256_hex

    data = b"photo bytes"
    digests = digest_bytes(data)
    assert sha256_hex(data) == digests.sha256
    assert matches(digests, digests.sha256, None, len(data))
    assert matches(digests, digests.sha256, digests.sm3, len(data))
    assert not matches(digests, digests.sha256, "0" * 64, len(data))
    assert not matches(digests, "0" * 64, None, len(data))
    assert not matches(digests, digests.sha256, None, len(data) + 1)
