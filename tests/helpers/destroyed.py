"""Destroyed dossiers for tests: a closed customer with evidence, destroyed; searching files for bytes."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from models import Customer, DestructionRecord, EvidenceExport, PhotoEvidence
from models.database import db
from services.ports_access import ports
from tests.helpers.lifecycle_data import at, capture_with_photo, close, customer, destroy, file_item


def evidence_for(photo, number: str, thumbnail: bytes | None = None) -> PhotoEvidence:
    """A stamped evidence row for a photo (hashes from its bytes, a thumbnail blob if given)."""
    data = ports().blobs.open(photo.blob_sha256).read()
    thumb_key = None
    if thumbnail is not None:
        thumb_key = hashlib.sha256(thumbnail).hexdigest()
        ports().blobs.put_bytes(thumb_key, thumbnail)
    row = PhotoEvidence(
        photo_id=photo.id,
        evidence_no=number,
        sha256=photo.blob_sha256,
        sm3=hashlib.new("sm3", data).hexdigest(),
        size=len(data),
        hash_ok=True,
        thumbnail_key=thumb_key,
        preview_key=thumb_key,
        tsa_status="granted",
        completed_at=photo.received_at,
    )
    db.session.add(row)
    db.session.commit()
    return row


def closed_customer_with_photo(client, account_no: str, data: bytes, number: str = "EV-DESTROY-1"):
    """A high-voltage customer closed long enough ago, with one approved capture and a stamped photo."""
    customer(account_no, "高压")
    capture, photo = capture_with_photo(account_no, data)
    file_item(account_no, "supply_contract", at(date(2020, 5, 6)), capture_id=capture.id)
    evidence_for(photo, number, thumbnail=b"\xff\xd8 thumb of " + data + b"\xff\xd9")
    close(client, account_no, "2021-03-02")
    return capture, photo


def record_of(account_no: str) -> DestructionRecord:
    """The destruction record of a customer."""
    return db.session.scalar(
        select(DestructionRecord)
        .join(Customer, DestructionRecord.customer_id == Customer.id)
        .where(Customer.account_no == account_no)
    )


def destroyed_customer_with_photo(client, account_no: str, data: bytes):
    """As :func:`closed_customer_with_photo`, then destroyed through the API; (capture, photo, record)."""
    capture, photo = closed_customer_with_photo(client, account_no, data)
    destroy(client, [account_no])
    db.session.expire_all()
    return capture, photo, record_of(account_no)


def stored_bundle(export_id: int, originals: dict[str, bytes]) -> Path:
    """A bundle in the export store holding these originals (by SHA-256) with their manifest."""
    path = ports().exports.path_for(export_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    items = [
        {"photo_id": f"photo-{n}", "sha256": sha, "files": {"original": f"originals/{n}.jpg"}}
        for n, sha in enumerate(sorted(originals))
    ]
    with zipfile.ZipFile(path, "w") as bundle:
        for item in items:
            bundle.writestr(item["files"]["original"], originals[item["sha256"]])
        bundle.writestr("manifest.json", json.dumps({"items": items}))
    return path


def done_export(photo_ids: list[str], requester_id: int | None, now: datetime, bundle: Path | None) -> EvidenceExport:
    """A finished export row naming these photos, its bundle at ``bundle``."""
    export = EvidenceExport(
        requester_id=requester_id,
        requester_name="律师",
        purpose="诉讼取证",
        criteria={},
        photo_ids=photo_ids,
        item_count=len(photo_ids),
        total_bytes=0,
        state="done",
        needs_approval=False,
        done_items=len(photo_ids),
        done_bytes=0,
        events_logged=True,
        created_at=now,
        finished_at=now,
        bundle_path=str(bundle) if bundle else None,
        bundle_sha256=hashlib.sha256(bundle.read_bytes()).hexdigest() if bundle else None,
    )
    db.session.add(export)
    db.session.commit()
    return export


def files_holding(root: str | os.PathLike, contents: dict[str, bytes]) -> list[str]:
    """Every file under ``root`` (and every member of every ZIP there) that holds any of these bytes.

    A file holds bytes when its own SHA-256 is one of the digests, when the bytes occur inside it,
    or when a ZIP member's SHA-256 is one of the digests.
    """
    found = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as fh:
                data = fh.read()
            if hashlib.sha256(data).hexdigest() in contents or any(c in data for c in contents.values()):
                found.append(path)
                continue
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as bundle:
                    for member in bundle.namelist():
                        if hashlib.sha256(bundle.read(member)).hexdigest() in contents:
                            found.append(f"{path}!{member}")
    return found
