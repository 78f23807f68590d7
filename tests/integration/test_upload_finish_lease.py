"""An upload whose finisher died keeps its lease until it expires: meanwhile HEAD and a resent last
chunk answer 423 with Retry-After, never "complete", and the first request after the lease finishes it."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

from sqlalchemy import update

from models import Photo, Upload
from models.database import db
from ports.blobstore import StoreUnavailable
from services.ports_access import ports
from tests.helpers.factories import make_device
from tests.helpers.uploads import declare_photo, tus_create, tus_head, tus_patch


def test_a_finishing_upload_held_by_a_dead_finisher_is_never_reported_complete_and_finishes_after_its_lease(
    app, client, clock, monkeypatch
):
    device, token = make_device()
    data = os.urandom(100_000)
    photo = declare_photo(device, data)
    location = tus_create(client, token, data, photo.id)
    upload_id = location.rsplit("/", 1)[1]

    # the last chunk is hashed and marked finishing, then its process dies before the bytes are stored
    store = ports().blobs
    monkeypatch.setattr(store, "put_file", lambda *a, **k: (_ for _ in ()).throw(StoreUnavailable("gone")))
    assert tus_patch(client, token, location, 0, data).status_code == 503
    monkeypatch.undo()
    lease_end = clock.now() + timedelta(seconds=30)
    db.session.execute(
        update(Upload)
        .where(Upload.id == upload_id)
        .values(lock_token="dead", lock_owner="other-host:4242", lock_expires_at=lease_end)
    )
    db.session.commit()
    assert db.session.get(Upload, upload_id, populate_existing=True).state == "finishing"

    head = tus_head(client, token, location)
    assert head.status_code == 423 and head.headers["Retry-After"] == "30"  # HEAD answers carry no body
    resent = tus_patch(client, token, location, 0, data)
    assert resent.status_code == 423 and resent.get_json()["code"] == "upload.locked"
    assert db.session.get(Photo, photo.id, populate_existing=True).state == "awaiting_upload"

    clock.advance(seconds=31)
    after = tus_head(client, token, location)
    assert after.status_code == 200 and after.headers["Upload-Offset"] == str(len(data))
    assert db.session.get(Upload, upload_id, populate_existing=True).state == "finished"
    assert db.session.get(Photo, photo.id, populate_existing=True).state == "received"
    with store.open(hashlib.sha256(data).hexdigest()) as stored:
        assert stored.read() == data
