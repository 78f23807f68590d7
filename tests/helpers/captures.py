"""Captures for review tests, inserted through the models as a push would leave them.

Photos get real JPEG bytes in the app's blob store, so previews and hashes can be checked.
Tests that exercise the wire protocol use the device client (``tests/helpers/device.py``).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from models import Blob, Capture, CaptureRevision, Customer, Device, Photo
from models.database import db
from services.ports_access import ports
from tests.helpers.images import make_jpeg

INSPECTION_V2 = {
    "inspected_at": "2026-03-02T09:30:00+08:00",
    "inspection_type": "periodic",
    "meter_number": "3300123456781",
    "meter_readings": {"total": 12345.6, "peak": 4000.1},
    "seal_status": "intact",
    "seal_numbers": ["ZJ00012345"],
    "wiring_status": "correct",
    "findings": "正常",
    "defects": [],
    "customer_signed": True,
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_photo_bytes(data: bytes) -> Blob:
    """Put bytes into the blob store and record the blob row (as a finished upload does)."""
    key = _sha(data)
    ports().blobs.put_bytes(key, data)
    blob = db.session.get(Blob, key)
    if blob is None:
        blob = Blob(sha256=key, sm3=hashlib.new("sm3", data).hexdigest(), size=len(data), stored_at=ports().clock.now())
        db.session.add(blob)
    return blob


def make_capture(
    device: Device,
    account_no: str = "3100012345",
    *,
    kind: str = "usage_inspection",
    schema_version: int = 2,
    data: dict | None = None,
    photos: int = 1,
    category: str = "meter",
    uploaded: bool = True,
    received_at: datetime | None = None,
    gps: tuple[float, float] | None = (30.2101, 120.2105),
    revisions: list[dict] | None = None,
    conflict: bool = False,
    review_state: str = "pending",
    commit: bool = True,
) -> Capture:
    """Insert a capture with its revisions and photos; linked when the 户号 is a known customer."""
    now = ports().clock.now()
    received_at = received_at or now
    customer = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
    payloads = revisions or [data or dict(INSPECTION_V2)]
    capture = Capture(
        id=str(uuid.uuid4()),
        device_id=device.id,
        inspector_id=device.inspector_id,
        kind=kind,
        schema_version=schema_version,
        account_no=account_no,
        customer_id=customer.id if customer else None,
        link_state="linked" if customer else "unlinked",
        review_state=review_state,
        current_revision=len(payloads),
        has_conflict=conflict,
        complete=uploaded or photos == 0,
        device_created_at=received_at - timedelta(hours=1),
        received_at=received_at,
    )
    db.session.add(capture)
    db.session.flush()
    for number, payload in enumerate(payloads, start=1):
        db.session.add(
            CaptureRevision(
                id=str(uuid.uuid4()),
                capture_id=capture.id,
                number=number,
                schema_version=schema_version,
                payload=payload,
                payload_sha256=_sha(repr(sorted(payload.items())).encode()),
                conflict=conflict and number == len(payloads),
                device_time=received_at - timedelta(hours=1),
                received_at=received_at,
            )
        )
    for index in range(photos):
        image = make_jpeg(seed=index + 1, gps=gps, width=320, height=240)
        blob = store_photo_bytes(image) if uploaded else None
        db.session.add(
            Photo(
                id=str(uuid.uuid4()),
                capture_id=capture.id,
                device_id=device.id,
                slot="meter" if index == 0 else "scene",
                category=category,
                declared_sha256=_sha(image),
                declared_size=len(image),
                mime_type="image/jpeg",
                filename=f"IMG_{index:04d}.jpg",
                device_captured_at=received_at - timedelta(hours=1, minutes=5),
                device_latitude=gps[0] if gps else None,
                device_longitude=gps[1] if gps else None,
                device_gps_accuracy_m=8.0 if gps else None,
                declared={},
                state="received" if uploaded else "awaiting_upload",
                blob_sha256=blob.sha256 if blob else None,
                received_at=received_at if uploaded else None,
                created_at=received_at,
            )
        )
    if commit:
        db.session.commit()
    return capture


def utc(*args) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=timezone.utc)


HIGH = "3100012345"
LOW = "5200098761"


def review_world():
    """Two customers (high and low voltage, with site coordinates), a tablet, and office users.

    Returns ``(device, token)`` of the tablet of ``inspector1``.
    """
    from tests.helpers.factories import make_customer, make_device, make_user

    make_customer(
        HIGH,
        "江南精密机械有限公司",
        "高压",
        "大工业用电",
        latitude="30.2101",
        longitude="120.2105",
        district="城东供电所",
        meter_number="3300123456781",
        address="杭州市滨江区江南大道 1088 号",
        phone="057186001234",
    )
    make_customer(
        LOW,
        "张建国",
        "低压",
        "居民生活用电",
        latitude="30.2512",
        longitude="120.1744",
        district="城西供电所",
        meter_number="3300987654321",
        address="杭州市上城区清泰街 12 号",
        phone="13800138001",
        id_number="330102198001011234",
    )
    device, token = make_device("inspector1")
    for name, role in (
        ("archivist", "archivist"),
        ("archivist2", "archivist"),
        ("legal", "legal"),
        ("manager", "manager"),
        ("admin", "admin"),
    ):
        make_user(name, role, display_name={"archivist": "李档案", "archivist2": "周档案"}.get(name, name))
    return device, token
