"""Data for the archive-lifecycle tests: dossier items, captures with stored photo bytes, logins."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from models import Blob, Capture, Customer, Dossier, DossierItem, Photo, User
from models.database import db
from services.ports_access import ports
from tests.helpers.api_client import ApiClient
from tests.helpers.factories import PASSWORD, make_customer, make_device, make_user


def customer(account_no: str, voltage: str = "高压", district: str | None = "城东供电所", **extra) -> Customer:
    """Create a customer through the import service and return it."""
    make_customer(
        account_no,
        f"客户{account_no}",
        voltage_class=voltage,
        usage_category="大工业用电" if voltage == "高压" else "居民生活用电",
        district=district or "",
        **extra,
    )
    return db.session.scalar(select(Customer).where(Customer.account_no == account_no))


def file_item(
    account_no: str,
    doc_type: str,
    filed_at: datetime,
    event_id: int | None = None,
    capture_id: str | None = None,
    title: str | None = None,
) -> DossierItem:
    """Append an entry to a customer's dossier index (as the archivist's approval does)."""
    dossier = db.session.scalar(select(Dossier).join(Customer).where(Customer.account_no == account_no))
    seq = (db.session.scalar(select(func.max(DossierItem.seq)).where(DossierItem.dossier_id == dossier.id)) or 0) + 1
    item = DossierItem(
        dossier_id=dossier.id,
        seq=seq,
        doc_type=doc_type,
        title=title or doc_type,
        doc_date=filed_at.date(),
        source="manual",
        filed_at=filed_at,
        business_event_id=event_id,
        capture_id=capture_id,
        extra={},
    )
    db.session.add(item)
    db.session.commit()
    return item


def capture_with_photo(
    account_no: str,
    data: bytes,
    inspector: str = "inspector1",
    review_state: str = "approved",
    received_at: datetime | None = None,
    complete: bool = True,
    payload: dict | None = None,
) -> tuple[Capture, Photo]:
    """A capture of the customer with one photo whose bytes sit in the blob store."""
    if db.session.scalar(select(User).where(User.username == inspector)) is None:
        make_user(inspector, "inspector", district="城东供电所")
    device, _token = make_device(inspector)
    cust = db.session.scalar(select(Customer).where(Customer.account_no == account_no))
    received_at = received_at or ports().clock.now()
    capture = Capture(
        id=str(uuid.uuid4()),
        device_id=device.id,
        inspector_id=device.inspector_id,
        kind="usage_inspection",
        schema_version=1,
        account_no=account_no,
        customer_id=cust.id if cust else None,
        review_state=review_state,
        complete=complete,
        received_at=received_at,
        device_created_at=received_at,
    )
    db.session.add(capture)
    if payload is not None:
        from models import CaptureRevision

        body = repr(sorted(payload.items())).encode()
        db.session.add(
            CaptureRevision(
                id=str(uuid.uuid4()),
                capture_id=capture.id,
                number=1,
                schema_version=1,
                payload=payload,
                payload_sha256=hashlib.sha256(body).hexdigest(),
                received_at=received_at,
            )
        )
    sha = hashlib.sha256(data).hexdigest()
    if db.session.get(Blob, sha) is None:
        db.session.add(
            Blob(sha256=sha, sm3=hashlib.new("sm3", data).hexdigest(), size=len(data), stored_at=received_at)
        )
    ports().blobs.put_bytes(sha, data)
    photo = Photo(
        id=str(uuid.uuid4()),
        capture_id=capture.id,
        device_id=device.id,
        category="meter",
        declared_sha256=sha,
        declared_size=len(data),
        state="ready",
        blob_sha256=sha,
        received_at=received_at,
    )
    db.session.add(photo)
    db.session.commit()
    return capture, photo


def login(client, username: str, role: str, **kw) -> ApiClient:
    """Create a user with a role (if needed) and return an API client logged in as them.

    Several users in one test each need their own ``app.test_client()``.
    """
    if db.session.scalar(select(User).where(User.username == username)) is None:
        make_user(username, role, **kw)
    api = ApiClient(client)
    response = api.login(username, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return api


def at(day: date, hour: int = 2) -> datetime:
    """An aware UTC moment on a Beijing calendar day (02:00 UTC is 10:00 in Beijing)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def destroy(client, accounts: list[str], reason: str = "保管期限已满") -> dict:
    """Propose (archivist), approve (manager) and execute a disposal list; return the execution report."""
    archivist = login(client.application.test_client(), "archivist", "archivist")
    manager = login(client.application.test_client(), "manager", "manager")
    proposed = archivist.post(
        "/api/v1/lifecycle/disposal-lists", json={"title": "到期销户档案", "reason": reason, "accounts": accounts}
    )
    assert proposed.status_code == 201, proposed.get_json()
    list_id = proposed.get_json()["id"]
    assert manager.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/approve", json={}).status_code == 200
    executed = archivist.post(f"/api/v1/lifecycle/disposal-lists/{list_id}/execute")
    assert executed.status_code == 200, executed.get_json()
    return executed.get_json()


def close(client, account_no: str, closed_on: str):
    """Close an account through the API as an archivist."""
    archivist = login(client.application.test_client(), "archivist", "archivist")
    response = archivist.post(f"/api/v1/lifecycle/customers/{account_no}/close", json={"closed_on": closed_on})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def days_later(day: date, n: int) -> date:
    """``day`` plus ``n`` calendar days."""
    return day + timedelta(days=n)
