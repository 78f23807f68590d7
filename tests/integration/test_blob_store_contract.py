"""Every blob store keeps the same promises: write-once by SHA-256, streamed and ranged reads, real deletion.

The S3 adapter runs against a real SeaweedFS; it also proves what only an object store can: the
store itself refuses bytes that do not match their checksum, and destruction removes every
version in a versioned bucket.
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from ports import s3_objects
from ports.blobstore import InMemoryBlobStore, LocalBlobStore
from ports.s3_blobstore import S3BlobStore
from tests.helpers.seaweedfs import BUCKET, VERSIONED_BUCKET, new_prefix

DATA = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit: larger than one read chunk
KEY = hashlib.sha256(DATA).hexdigest()
OTHER = b"another photo"
OTHER_KEY = hashlib.sha256(OTHER).hexdigest()


def _s3(server, tmp_path, bucket=BUCKET, **kwargs) -> S3BlobStore:
    return S3BlobStore(server.client(), bucket, new_prefix(), tmp_path / "staging", **kwargs)


@pytest.fixture(params=["local", "memory", "s3"])
def store(request, tmp_path):
    """Each adapter of the blob store port, fresh."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    if request.param == "memory":
        return InMemoryBlobStore(tmp_path / "staging")
    return _s3(request.getfixturevalue("seaweedfs"), tmp_path)


def _staged(store, data: bytes, name: str = "part") -> str:
    path = store.staging_dir() / name
    path.write_bytes(data)
    return str(path)


def test_a_finished_file_is_moved_in_once_and_a_second_put_changes_nothing(store):
    first = _staged(store, DATA)
    assert store.put_file(KEY, first) is True
    assert not os.path.exists(first)  # moved in: no local copy left behind
    again = _staged(store, DATA, "again")
    assert store.put_file(KEY, again) is False
    assert not os.path.exists(again)
    assert store.exists(KEY) and store.size(KEY) == len(DATA)
    with store.open(KEY) as stream:
        assert stream.read() == DATA


def test_put_bytes_is_write_once(store):
    assert store.put_bytes(OTHER_KEY, OTHER) is True
    assert store.put_bytes(OTHER_KEY, OTHER) is False
    with store.open(OTHER_KEY) as stream:
        assert stream.read() == OTHER


def test_a_blob_streams_in_chunks_and_seeks(store):
    store.put_bytes(KEY, DATA)
    with store.open(KEY) as stream:
        chunks = []
        while block := stream.read(64 * 1024):
            chunks.append(block)
        assert b"".join(chunks) == DATA and max(len(c) for c in chunks) <= 64 * 1024
        stream.seek(1000)
        assert stream.read(10) == DATA[1000:1010]
        stream.seek(-4, io.SEEK_END)
        assert stream.read() == b"tail"


def test_ranged_reads_return_exactly_the_window(store):
    store.put_bytes(KEY, DATA)
    with store.open_range(KEY, 5, 100) as stream:
        assert stream.read() == DATA[5:105]
    with store.open_range(KEY, len(DATA) - 10) as stream:
        assert stream.read() == DATA[-10:]
    with store.open_range(KEY, len(DATA) - 3, 100) as stream:
        assert stream.read() == DATA[-3:]
    with store.open_range(KEY, len(DATA) + 5, 10) as stream:
        assert stream.read() == b""


def test_a_missing_blob_is_absent_everywhere(store):
    assert store.exists(KEY) is False
    with pytest.raises(FileNotFoundError):
        store.open(KEY)
    with pytest.raises(FileNotFoundError):
        store.size(KEY)
    assert store.destroy(KEY) is False


def test_destroy_really_deletes(store):
    store.put_bytes(KEY, DATA)
    store.put_bytes(OTHER_KEY, OTHER)
    assert store.destroy(KEY) is True
    assert store.exists(KEY) is False and store.exists(OTHER_KEY) is True
    with pytest.raises(FileNotFoundError):
        store.open(KEY)
    assert store.destroy(KEY) is False
    assert store.put_bytes(KEY, DATA) is True  # bytes brought again are a new blob


def test_keys_must_be_sha256_hex(store):
    for bad in ("../etc/passwd", KEY.upper(), KEY[:-1], ""):
        with pytest.raises(ValueError):
            store.exists(bad)


# --- only an object store can show these -----------------------------------------------------------


def test_the_object_store_refuses_bytes_that_do_not_match_their_key(seaweedfs, tmp_path):
    store = _s3(seaweedfs, tmp_path)
    corrupted = _staged(store, DATA[:-1] + b"X")
    with pytest.raises(s3_objects.IntegrityRefused):
        store.put_file(KEY, corrupted)
    assert os.path.exists(corrupted)  # kept, so the upload can be finished again
    with pytest.raises(s3_objects.IntegrityRefused):
        store.put_bytes(OTHER_KEY, b"not the other photo")
    assert not store.exists(KEY) and not store.exists(OTHER_KEY)


def test_a_large_file_goes_up_in_checked_parts_and_a_wrong_one_is_not_completed(seaweedfs, tmp_path):
    mib = 1024 * 1024
    store = _s3(seaweedfs, tmp_path, multipart_threshold=5 * mib, part_size=5 * mib)
    big = os.urandom(11 * mib)
    key = hashlib.sha256(big).hexdigest()
    assert store.put_file(key, _staged(store, big)) is True
    with store.open(key) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == key
    assert store.put_file(key, _staged(store, big, "again")) is False
    wrong = os.urandom(11 * mib)
    with pytest.raises(s3_objects.IntegrityRefused):
        store.put_file(hashlib.sha256(b"something else").hexdigest(), _staged(store, wrong, "wrong"))
    assert not store.exists(hashlib.sha256(b"something else").hexdigest())


def test_a_streamed_read_fetches_only_what_is_read(seaweedfs, tmp_path):
    store = _s3(seaweedfs, tmp_path)
    big = os.urandom(8 * 1024 * 1024)
    key = hashlib.sha256(big).hexdigest()
    store.put_bytes(key, big)
    with store.open(key) as stream:
        assert stream.read(64 * 1024) == big[: 64 * 1024]
        assert stream.raw.tell() <= s3_objects.CHUNK  # one buffer, not the object
        stream.seek(7 * 1024 * 1024)
        assert stream.read(10) == big[7 * 1024 * 1024 : 7 * 1024 * 1024 + 10]


def test_destroy_in_a_versioned_bucket_removes_every_version(seaweedfs, tmp_path):
    store = _s3(seaweedfs, tmp_path, bucket=VERSIONED_BUCKET)
    store.put_bytes(KEY, DATA)
    name = store.object_key(KEY)
    # an older version of the same key (written around the adapter, as a replication tool might)
    seaweedfs.client().put_object(Bucket=VERSIONED_BUCKET, Key=name, Body=DATA)
    versions = seaweedfs.client().list_object_versions(Bucket=VERSIONED_BUCKET, Prefix=name)
    assert len(versions.get("Versions", [])) == 2
    assert store.destroy(KEY) is True
    left = seaweedfs.client().list_object_versions(Bucket=VERSIONED_BUCKET, Prefix=name)
    assert left.get("Versions", []) == [] and left.get("DeleteMarkers", []) == []
    assert not store.exists(KEY)
    assert store.put_bytes(KEY, DATA) is True  # nothing, not even a delete marker, was left


def test_two_nodes_storing_the_same_blob_at_once_never_overwrite_each_other(seaweedfs, tmp_path):
    store = _s3(seaweedfs, tmp_path)
    assert store.put_bytes(KEY, DATA) is True
    # the second node passed its HEAD check before the first one's PUT landed: the PUT is conditional
    name = store.object_key(KEY)
    assert s3_objects.put_bytes(store.client, store.bucket, name, DATA, KEY, write_once=True) is False
    path = _staged(store, DATA)
    assert s3_objects.put_file(store.client, store.bucket, name, path, KEY, write_once=True) is False
    mib = 1024 * 1024
    big = os.urandom(6 * mib)
    big_key = hashlib.sha256(big).hexdigest()
    big_name = store.object_key(big_key)
    store.put_bytes(big_key, big)
    parts = dict(threshold=5 * mib, part_size=5 * mib)
    path = _staged(store, big, "big")
    assert s3_objects.put_file(store.client, store.bucket, big_name, path, big_key, True, **parts) is False
