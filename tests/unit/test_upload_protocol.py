"""tus header parsing and the staging-file writer, without database or web server."""

import base64
import hashlib
import io
import uuid

import pytest

from core import errors
from sync import uploads as tus


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def metadata(**values) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in values.items())


def code_of(excinfo) -> str:
    return excinfo.value.code


def test_metadata_pairs_decode_to_text_and_keys_without_values_are_none():
    photo_id = str(uuid.uuid4())
    parsed = tus.parse_metadata(metadata(photo_id=photo_id, filename="电表 01.jpg") + ",flag")
    assert parsed == {"photo_id": photo_id, "filename": "电表 01.jpg", "flag": None}


@pytest.mark.parametrize(
    "header",
    [
        "photo_id !!!notbase64",
        "a b c",
        "dup YQ==,dup Yg==",
        " YQ==",
        "k\x01y YQ==",
        "name " + base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_metadata_is_refused_with_a_stable_code(header):
    with pytest.raises(errors.DomainError) as excinfo:
        tus.parse_metadata(header)
    assert code_of(excinfo) == "upload.metadata_invalid"
    assert excinfo.value.status == 400


def test_photo_label_requires_a_uuid_and_a_hex_sha256_and_lowercases_it():
    sha = hashlib.sha256(b"x").hexdigest().upper()
    label = tus.photo_label({"photo_id": str(uuid.uuid4()), "sha256": sha, "filetype": "image/jpeg"})
    assert label.sha256 == sha.lower()
    for bad in ({"sha256": sha}, {"photo_id": "12", "sha256": sha}, {"photo_id": str(uuid.uuid4()), "sha256": "ab"}):
        with pytest.raises(errors.DomainError) as excinfo:
            tus.photo_label(bad)
        assert code_of(excinfo) == "upload.metadata_invalid"


@pytest.mark.parametrize("filename", ["../etc/passwd", "a/b.jpg", "a\\b.jpg", "..", "x\x00.jpg", "line\nbreak.jpg"])
def test_filenames_with_path_or_control_characters_are_refused(filename):
    meta = {"photo_id": str(uuid.uuid4()), "sha256": "0" * 64, "filename": filename}
    with pytest.raises(errors.DomainError) as excinfo:
        tus.photo_label(meta)
    assert code_of(excinfo) == "upload.filename_invalid"


@pytest.mark.parametrize(
    "length, defer, code",
    [
        (None, None, "upload.length_invalid"),
        ("-1", None, "upload.length_invalid"),
        ("12a", None, "upload.length_invalid"),
        ("10", "1", "upload.length_invalid"),
        (None, "2", "upload.length_invalid"),
        ("1001", None, "upload.too_large"),
        ("9" * 40, None, "upload.length_invalid"),
    ],
)
def test_bad_creation_lengths_get_their_codes(length, defer, code):
    with pytest.raises(errors.DomainError) as excinfo:
        tus.parse_creation_length(length, defer, max_size=1000)
    assert code_of(excinfo) == code


def test_creation_length_may_be_deferred_or_given():
    assert tus.parse_creation_length(None, "1", 1000) is None
    assert tus.parse_creation_length("1000", None, 1000) == 1000


@pytest.mark.parametrize("algorithm", tus.CHECKSUM_ALGORITHMS)
def test_supported_checksums_parse_to_algorithm_and_digest(algorithm):
    digest = hashlib.new(algorithm, b"chunk").digest()
    header = f"{algorithm} {base64.b64encode(digest).decode()}"
    assert tus.parse_checksum(header) == (algorithm, digest)


@pytest.mark.parametrize(
    "header", ["crc32 AAAA", "sha1", "sha1 not-base64!", "sha1 " + base64.b64encode(b"short").decode()]
)
def test_unsupported_or_malformed_checksums_are_400(header):
    with pytest.raises(errors.DomainError) as excinfo:
        tus.parse_checksum(header)
    assert code_of(excinfo) == "upload.checksum_unsupported" and excinfo.value.status == 400


def test_only_tus_1_0_0_is_spoken_and_the_refusal_names_the_supported_version():
    tus.check_version("1.0.0")
    for value in (None, "0.2.2", "1.0"):
        with pytest.raises(errors.DomainError) as excinfo:
            tus.check_version(value)
        assert excinfo.value.status == 412 and excinfo.value.headers["Tus-Version"] == "1.0.0"


def test_content_type_must_be_offset_octet_stream():
    tus.check_content_type("application/offset+octet-stream")
    with pytest.raises(errors.DomainError) as excinfo:
        tus.check_content_type("application/octet-stream")
    assert excinfo.value.status == 415


class Interrupted(io.BytesIO):
    """A body whose client disappears after the given bytes."""

    def __init__(self, data: bytes, then_fail_after: int):
        super().__init__(data)
        self.limit = then_fail_after

    def read(self, size=-1):
        if self.tell() >= self.limit:
            raise tus.BodyInterrupted("gone")
        return super().read(min(size, self.limit - self.tell()))


def _write(path, offset, body, room=1000, checksum=None, digests=None, read_chunk=7):
    return tus.write_chunk(path, offset, body, room, read_chunk, checksum, digests, lambda: True)


def test_chunks_append_at_the_offset_and_stale_bytes_beyond_it_are_cut(tmp_path):
    path = tmp_path / "u.part"
    path.write_bytes(b"0123456789")  # 4..9 were never committed
    result = _write(path, 4, io.BytesIO(b"abc"))
    assert result.written == 3 and not result.interrupted
    assert path.read_bytes() == b"0123abc"


def test_a_checksum_mismatch_discards_the_whole_chunk(tmp_path):
    path = tmp_path / "u.part"
    path.write_bytes(b"head")
    wrong = ("sha1", hashlib.sha1(b"other").digest())
    with pytest.raises(errors.DomainError) as excinfo:
        _write(path, 4, io.BytesIO(b"payload"), checksum=wrong)
    assert excinfo.value.status == 460
    assert path.read_bytes() == b"head"


def test_a_body_past_the_declared_length_is_discarded_with_413(tmp_path):
    path = tmp_path / "u.part"
    with pytest.raises(errors.DomainError) as excinfo:
        _write(path, 0, io.BytesIO(b"x" * 20), room=10)
    assert excinfo.value.code == "upload.exceeds_length"
    assert path.read_bytes() == b""


def test_an_interrupted_body_keeps_what_arrived_unless_a_checksum_was_promised(tmp_path):
    path = tmp_path / "u.part"
    kept = _write(path, 0, Interrupted(b"abcdefghij", 6))
    assert kept.interrupted and kept.written == 6 and path.read_bytes() == b"abcdef"
    checked = _write(path, 6, Interrupted(b"ghij", 2), checksum=("md5", hashlib.md5(b"ghij").digest()))
    assert checked.interrupted and checked.written == 0 and path.read_bytes() == b"abcdef"


def test_a_lost_lock_stops_writing_before_the_next_byte(tmp_path):
    path = tmp_path / "u.part"
    calls = iter([True, False])
    with pytest.raises(errors.DomainError) as excinfo:
        tus.write_chunk(path, 0, io.BytesIO(b"x" * 20), 100, 10, None, None, lambda: next(calls))
    assert excinfo.value.code == "upload.locked"
    assert path.read_bytes() == b"x" * 10


def test_running_digests_equal_hashing_the_staged_file(tmp_path):
    data = bytes(range(256)) * 50
    path = tmp_path / "u.part"
    digests = tus.Digests()
    _write(path, 0, io.BytesIO(data[:5000]), room=len(data), digests=digests, read_chunk=333)
    _write(path, 5000, io.BytesIO(data[5000:]), room=len(data) - 5000, digests=digests, read_chunk=333)
    again = tus.hash_file(path, len(data), read_chunk=1000)
    assert digests.sha256.hexdigest() == again.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert not hasattr(digests, "sm3")  # SM3 is stamping's, computed once from the stored bytes


def test_digest_cache_only_answers_for_the_exact_offset():
    cache = tus.DigestCache(size=2)
    running = tus.Digests()
    running.update(b"abc")
    cache.keep("u1", running)
    assert cache.take("u1", 2) is None
    cache.keep("u1", running)
    assert cache.take("u1", 3) is running
    assert cache.take("u1", 3) is None  # taken means owned by one request
    assert cache.take("u2", 0).at == 0


def test_trailing_digests_are_taken_only_when_asked_for_and_never_ahead_of_the_offset():
    cache = tus.DigestCache()
    running = tus.Digests()
    running.update(b"abc")
    cache.keep("u1", running)
    assert cache.take("u1", 10, trailing=True) is running  # another process wrote bytes 3..9
    cache.keep("u1", running)
    assert cache.take("u1", 2, trailing=True).at == 0  # ahead of the offset: start again from byte 0
    assert cache.take("u2", 10, trailing=True).at == 0  # none cached: fresh ones, caught up from byte 0
    assert cache.take("u3", 10) is None


def test_digests_that_trail_the_offset_catch_up_from_the_staged_file_before_the_new_bytes(tmp_path):
    # PATCH 1 in one process, PATCH 2 in another, PATCH 3 back in the first: it reads back PATCH 2's bytes
    path = tmp_path / "u.part"
    data = bytes(range(256)) * 400
    mine = tus.Digests()
    _write(path, 0, io.BytesIO(data[:30_000]), room=len(data), digests=mine, read_chunk=4096)
    _write(path, 30_000, io.BytesIO(data[30_000:70_000]), room=len(data), digests=None, read_chunk=4096)
    assert mine.at == 30_000
    _write(path, 70_000, io.BytesIO(data[70_000:]), room=len(data), digests=mine, read_chunk=4096)
    assert mine.at == len(data) and mine.sha256.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_catch_up_that_cannot_read_the_staged_bytes_leaves_digests_of_what_they_had(tmp_path, monkeypatch):
    path = tmp_path / "u.part"
    data = b"x" * 5000 + b"y" * 5000
    path.write_bytes(data[:6000])
    digests = tus.Digests()
    digests.update(data[:1000])

    def unreadable(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(tus.os, "pread", unreadable)
    result = _write(path, 6000, io.BytesIO(data[6000:]), room=4000, digests=digests, read_chunk=512)
    assert result.written == 4000 and path.read_bytes() == data  # the PATCH itself is unaffected
    assert digests.at == 1000 and digests.sha256.hexdigest() == hashlib.sha256(data[:1000]).hexdigest()


def test_a_patch_ended_by_an_error_leaves_no_hashing_behind_and_digests_of_what_it_wrote(tmp_path):
    import threading

    path = tmp_path / "u.part"
    data = bytes(range(256)) * 40
    digests = tus.Digests()
    calls = iter([True, True, False])  # the lock is lost before the third piece
    with pytest.raises(errors.DomainError):
        tus.write_chunk(path, 0, io.BytesIO(data), len(data), 1024, None, digests, lambda: next(calls))
    assert not [t for t in threading.enumerate() if t.name == "upload-hash"]
    assert digests.at == 2048 and digests.sha256.hexdigest() == hashlib.sha256(data[:2048]).hexdigest()


def test_digests_are_complete_when_a_large_body_has_been_written(tmp_path):
    path = tmp_path / "u.part"
    data = bytes(range(256)) * 40_000  # ten pieces of 1 MiB and a rest, hashed beside the writes
    digests = tus.Digests()
    checksum = ("sha256", hashlib.sha256(data).digest())
    result = tus.write_chunk(path, 0, io.BytesIO(data), len(data), 1 << 20, checksum, digests, lambda: True)
    assert result.written == len(data) and digests.at == len(data)
    assert digests.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
