"""Pieces of the reference client that need no server: backoff, batching, upload URL storage, photo types."""

import json

import pytest

from capture_schema.base import PHOTO_MIME_TYPES
from clients.device_client import DeviceClient, PhotoIdFingerprint, SqliteUrlStorage, backoff_delays, photo_mime_type
from tests.helpers.images import make_image


class NoNetwork:
    def post_json(self, path, body):
        raise AssertionError("no request expected")

    get_json = post_json


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff_delays(6, base=1.0, cap=10.0, rng=lambda: 1.0) == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert all(0 <= d <= 10.0 for d in backoff_delays(20, base=1.0, cap=10.0))


def test_batches_respect_the_byte_cap_and_keep_outbox_order(tmp_path):
    client = DeviceClient(str(tmp_path / "t.sqlite3"), NoNetwork(), max_batch_bytes=1200, max_batch_items=50)
    for n in range(6):
        client.capture("site_survey", "3100012345", {"n": n, "pad": "x" * 300}, schema_version=1)
    pending = client.pending()
    seqs, body = client._batch(pending)
    assert len(body) <= 1200 and seqs == [p[0] for p in pending[: len(seqs)]]
    assert [item["data"]["n"] for item in json.loads(body)["items"]] == list(range(len(seqs)))
    one_seqs, _ = DeviceClient(str(tmp_path / "t.sqlite3"), NoNetwork(), max_batch_bytes=10)._batch(pending)
    assert one_seqs == [pending[0][0]]  # an item larger than the cap still goes alone


def test_upload_urls_are_kept_per_photo_in_the_client_file(tmp_path):
    client = DeviceClient(str(tmp_path / "t.sqlite3"), NoNetwork())
    storage = SqliteUrlStorage(client)
    key = PhotoIdFingerprint("p-1").get_fingerprint(None)
    storage.set_item(key, None)  # tuspy stores None before it has a URL
    assert storage.get_item(key) is None
    storage.set_item(key, "http://server/api/v1/uploads/abc")
    client.close()
    reopened = SqliteUrlStorage(DeviceClient(str(tmp_path / "t.sqlite3"), NoNetwork()))
    assert reopened.get_item(key) == "http://server/api/v1/uploads/abc"
    reopened.remove_item(key)
    assert reopened.get_item(key) is None


def test_an_amendment_names_the_last_local_revision_and_keeps_earlier_photos(tmp_path):
    client = DeviceClient(str(tmp_path / "t.sqlite3"), NoNetwork())
    capture_id, first = client.capture("site_survey", "3100012345", {"v": 1}, schema_version=1)
    second = client.amend(capture_id, {"v": 2})
    third = client.amend(capture_id, {"v": 3})
    bodies = [json.loads(b) for _, b in client.pending()]
    assert [b["base_revision_id"] for b in bodies] == [None, first, second]
    assert bodies[2]["revision_id"] == third and bodies[2]["data"] == {"v": 3}


@pytest.mark.parametrize(
    "fmt,name,expected",
    [
        ("HEIF", "IMG_0001.HEIC", "image/heic"),
        ("HEIF", "photo.heif", "image/heif"),
        ("PNG", "shot.png", "image/png"),
        ("WEBP", "shot.webp", "image/webp"),
        ("HEIF", "no-extension", "image/heic"),
        ("PNG", "odd.bin", "image/png"),
        ("WEBP", "odd.dat", "image/webp"),
    ],
)
def test_the_tablet_declares_every_photo_type_the_server_accepts(tmp_path, fmt, name, expected):
    path = tmp_path / name
    path.write_bytes(make_image(fmt))
    assert photo_mime_type(str(path)) == expected
    assert expected in PHOTO_MIME_TYPES
