"""Received photos for tests: bytes stored in the blob store, then ``sync.photos.mark_received``.

This goes through the real meeting point of declared photos and stored bytes, so the
``photo.received`` outbox row is written exactly as in production.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from core.hashing import digest_bytes
from models import Blob, Capture, Customer, Device, Photo, User
from models.database import db
from services.ports_access import ports
from sync.photos import mark_received
from tests.helpers.factories import make_customer, make_device


def _device() -> Device:
    device = db.session.scalars(select(Device).limit(1)).first()
    return device or make_device()[0]


def make_capture(
    account_no: str = "3100012345",
    latitude: float | None = 31.230416,
    longitude: float | None = 121.473701,
    address: str | None = "上海市黄浦区人民大道 200 号",
) -> Capture:
    """A capture of a customer with registered coordinates (created if missing)."""
    device = _device()
    customer = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
    if customer is None:
        make_customer(account_no=account_no)
        customer = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
    customer.latitude, customer.longitude, customer.address = latitude, longitude, address
    inspector = db.session.get(User, db.session.get(Device, device.id).inspector_id)
    capture = Capture(
        id=str(uuid.uuid4()),
        device_id=device.id,
        inspector_id=inspector.id,
        kind="usage_inspection",
        schema_version=1,
        account_no=account_no,
        customer_id=customer.id,
        received_at=ports().clock.now(),
    )
    db.session.add(capture)
    db.session.commit()
    return capture


def received_photo(
    data: bytes,
    capture: Capture | None = None,
    device_captured_at: datetime | None = None,
    device_latitude: float | None = None,
    device_longitude: float | None = None,
    received_at: datetime | None = None,
    commit: bool = True,
) -> Photo:
    """Store ``data`` as a blob and mark a newly declared photo received (writes the outbox row)."""
    device = _device()
    now = received_at or ports().clock.now()
    digests = digest_bytes(data)
    ports().blobs.put_bytes(digests.sha256, data)
    blob = db.session.get(Blob, digests.sha256)
    if blob is None:
        blob = Blob(sha256=digests.sha256, sm3=digests.sm3, size=digests.size, stored_at=now)
        db.session.add(blob)
    photo = Photo(
        id=str(uuid.uuid4()),
        capture_id=capture.id if capture else None,
        device_id=device.id,
        slot="meter",
        category="site",
        declared_sha256=digests.sha256,
        declared_size=digests.size,
        mime_type="image/jpeg",
        filename="IMG_0001.jpg",
        device_captured_at=device_captured_at,
        device_latitude=device_latitude,
        device_longitude=device_longitude,
        declared={},
        created_at=now,
    )
    db.session.add(photo)
    db.session.flush()
    mark_received(db.session, photo, blob, now)
    if commit:
        db.session.commit()
    return photo
