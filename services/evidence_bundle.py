"""What goes into an evidence bundle for each photo: the manifest item, its proofs, its custody log.

Reads only; the export service decides when, and writes the ZIP.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import (
    AuditEntry,
    Capture,
    Customer,
    Device,
    DossierItem,
    LogLeaf,
    Photo,
    PhotoEvidence,
    ReviewDecision,
    Scan,
    ScanEvidence,
    User,
)
from services import translog
from services.translog import jsonable
from verifier import layout
from verifier.timestamps import certificate_fingerprint, load_certificates

MIME_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
    "image/webp": ".webp",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
}
_SAFE_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")


def json_bytes(value) -> bytes:
    """Pretty, stable JSON (sorted keys, UTF-8) for bundle files people read."""
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8") + b"\n"


def extension_for(photo: Photo) -> str:
    """The original's file extension, from its name or type; never anything path-like."""
    name = (photo.filename or "").lower()
    if "." in name:
        candidate = name[name.rindex(".") :]
        if _SAFE_EXTENSION.match(candidate):
            return candidate
    return MIME_EXTENSIONS.get((photo.mime_type or "").lower(), ".bin")


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def _point(latitude, longitude, **extra) -> dict | None:
    if latitude is None or longitude is None:
        return None
    return {"latitude": latitude, "longitude": longitude, **extra}


def review_decisions(session: Session, capture_id: str | None) -> list[dict]:
    """The archivists' decisions on the photo's capture, oldest first, with who and when."""
    if not capture_id:
        return []
    rows = session.execute(
        select(ReviewDecision, User)
        .join(User, User.id == ReviewDecision.decided_by_id)
        .where(ReviewDecision.capture_id == capture_id)
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    ).all()
    return [
        {
            "decision": d.decision,
            "from_state": d.from_state,
            "decided_at": d.decided_at,
            "decided_by": _person(u),
            "reason_code": d.reason_code,
            "reason_text": d.reason_text,
            "doc_type": d.doc_type,
            "capture_revision": d.capture_revision,
            "bulk": d.bulk,
        }
        for d, u in rows
    ]


@dataclass
class ItemSource:
    """The rows one manifest item is made of."""

    photo: Photo
    evidence: PhotoEvidence
    capture: Capture | None
    customer: Customer | None
    inspector: User | None
    device: Device | None

    @property
    def key(self) -> str:
        """The item's id in the manifest (``photo_id``)."""
        return self.photo.id

    @property
    def blob_key(self) -> str:
        assert self.photo.blob_sha256 is not None
        return self.photo.blob_sha256

    @property
    def subjects(self) -> list[str]:
        """Whose evidence log events belong to this item: the photo's and its capture's."""
        return [self.photo.id] + ([self.photo.capture_id] if self.photo.capture_id else [])


@dataclass
class ScanSource:
    """The rows of one scanned paper document in a bundle."""

    scan: Scan
    evidence: ScanEvidence
    customer: Customer | None
    item: DossierItem | None

    @property
    def key(self) -> str:
        """The item's id in the manifest (``scan_id``)."""
        return self.scan.id

    @property
    def blob_key(self) -> str:
        return self.scan.sha256

    @property
    def subjects(self) -> list[str]:
        return [self.scan.id]


def load_scan(session: Session, scan: Scan) -> ScanSource:
    """Gather the rows describing one scan."""
    evidence = session.get(ScanEvidence, scan.id)
    assert evidence is not None
    return ScanSource(
        scan=scan,
        evidence=evidence,
        customer=session.get(Customer, scan.customer_id),
        item=session.get(DossierItem, scan.dossier_item_id) if scan.dossier_item_id else None,
    )


def scan_manifest_item(source: ScanSource) -> dict:
    """The manifest entry of one scanned paper document: ids, document, quality, hashes, filing."""
    scan, evidence, customer, item = source.scan, source.evidence, source.customer, source.item
    number = evidence.evidence_no
    extension = {"pdf": ".pdf", "tiff": ".tif", "jpeg": ".jpg", "png": ".png"}.get(scan.file_format, ".bin")
    return {
        "kind": "scan",
        "scan_id": scan.id,
        "evidence_no": number,
        "customer": None
        if customer is None
        else {"account_no": customer.account_no, "name": customer.name, "address": customer.address},
        "document": {
            "doc_type": scan.doc_type,
            "title": scan.title,
            "doc_date": scan.doc_date,
            "note": scan.note,
            "business_event_id": scan.business_event_id,
            "declared_pages": scan.declared_pages,
        },
        "quality": {
            "file_format": scan.file_format,
            "pages": scan.pages,
            "min_dpi": scan.min_dpi,
            "colour_modes": list(scan.colour_modes or []),
            "flags": list(scan.flags or []),
            "per_page": list(scan.quality or []),
        },
        "filename": scan.filename,
        "source": scan.source,
        "sha256": evidence.sha256,
        "sm3": evidence.sm3,
        "size": evidence.size,
        "hash_ok": evidence.hash_ok,
        "times": {
            "received_at": scan.received_at,
            "hashed_at": evidence.hashed_at,
            "tsa_gen_time": evidence.tsa_gen_time,
            "filed_at": scan.filed_at,
        },
        "filing": None
        if item is None
        else {"seq": item.seq, "page_from": item.extra.get("page_from"), "page_to": item.extra.get("page_to")},
        "timestamp": {
            "status": evidence.tsa_status,
            "gen_time": evidence.tsa_gen_time,
            "serial": evidence.tsa_serial,
            "token_sha256": hashlib.sha256(evidence.tsa_token).hexdigest() if evidence.tsa_token else None,
            **issuer(
                evidence.tsa_kind, evidence.tsa_name, evidence.tsa_url, evidence.tsa_chain_pem, evidence.tsa_anchor_pem
            ),
        },
        "files": {
            "original": layout.original_path(number, scan.id, extension),
            "token": layout.token_path(number) if evidence.tsa_token else None,
            "proof": layout.proof_path(number),
            "custody": layout.custody_path(number),
        },
    }


def load_item(session: Session, photo: Photo) -> ItemSource:
    """Gather the rows describing one photo."""
    capture = session.get(Capture, photo.capture_id) if photo.capture_id else None
    customer = session.get(Customer, capture.customer_id) if capture and capture.customer_id else None
    evidence = session.get(PhotoEvidence, photo.id)
    assert evidence is not None
    return ItemSource(
        photo=photo,
        evidence=evidence,
        capture=capture,
        customer=customer,
        inspector=session.get(User, capture.inspector_id) if capture else None,
        device=session.get(Device, photo.device_id),
    )


def issuer(kind: str | None, name: str | None, url: str | None, chain_pem: str | None, anchor_pem: str | None) -> dict:
    """Who issued a token, as recorded at stamping, with the bundle files of its root and chain."""
    anchors = load_certificates(anchor_pem.encode()) if anchor_pem else []
    chain = load_certificates(chain_pem.encode()) if chain_pem else []
    anchor_sha256 = certificate_fingerprint(anchors[0]) if anchors else None
    signer_sha256 = certificate_fingerprint(chain[0]) if chain else None
    return {
        "kind": kind,
        "tsa_name": name,
        "tsa_url": url,
        "anchor_sha256": anchor_sha256,
        "anchor": layout.tsa_root_path(anchor_sha256) if anchor_sha256 else None,
        "anchor_subject": anchors[0].subject.rfc4514_string() if anchors else None,
        "chain": layout.tsa_chain_path(signer_sha256) if signer_sha256 else None,
    }


def issuer_files(rows) -> dict[str, bytes]:
    """Bundle path → PEM of every TSA root and chain recorded for these tokens (evidence or checkpoint rows)."""
    files: dict[str, bytes] = {}
    for row in rows:
        described = issuer(row.tsa_kind, None, None, row.tsa_chain_pem, row.tsa_anchor_pem)
        if described["anchor"]:
            files[described["anchor"]] = row.tsa_anchor_pem.encode()
        if described["chain"]:
            files[described["chain"]] = row.tsa_chain_pem.encode()
    return files


def manifest_item(session: Session, source: ItemSource) -> dict:
    """The manifest entry of one photo: ids, people, every time source, EXIF, hashes, review."""
    if isinstance(source, ScanSource):
        return scan_manifest_item(source)
    photo, evidence, capture, customer = source.photo, source.evidence, source.capture, source.customer
    number = evidence.evidence_no
    token_file = layout.token_path(number) if evidence.tsa_token else None
    return {
        "photo_id": photo.id,
        "evidence_no": number,
        "capture_id": photo.capture_id,
        "capture": None
        if capture is None
        else {
            "kind": capture.kind,
            "schema_version": capture.schema_version,
            "revision": capture.current_revision,
            "account_no": capture.account_no,
            "received_at": capture.received_at,
            "device_created_at": capture.device_created_at,
            "review_state": capture.review_state,
        },
        "customer": None
        if customer is None
        else {
            "account_no": customer.account_no,
            "name": customer.name,
            "address": customer.address,
            "site": _point(customer.latitude, customer.longitude),
        },
        "inspector": _person(source.inspector),
        "device": None if source.device is None else {"id": source.device.id, "name": source.device.name},
        "category": photo.category,
        "slot": photo.slot,
        "filename": photo.filename,
        "mime_type": photo.mime_type,
        "sha256": evidence.sha256,
        "sm3": evidence.sm3,
        "size": evidence.size,
        "hash_ok": evidence.hash_ok,
        "declared_sha256": photo.declared_sha256,
        "times": {
            "device_captured_at": photo.device_captured_at,
            "device_clock_offset_ms": photo.device_clock_offset_ms,
            "received_at": photo.received_at,
            "hashed_at": evidence.hashed_at,
            "exif": {k: v for k, v in (evidence.parsed or {}).items() if "time" in k or k in ("offset",)},
            "tsa_gen_time": evidence.tsa_gen_time,
            "estimated_capture_at": evidence.estimated_capture_at,
            "estimate_basis": evidence.estimate_basis,
            "flags": list(evidence.flags or []),
            "analysis": evidence.time_analysis or {},
        },
        "place": {
            "exif_gps": _point(evidence.gps_latitude, evidence.gps_longitude),
            "device": _point(photo.device_latitude, photo.device_longitude, accuracy_m=photo.device_gps_accuracy_m),
            "customer_site": _point(customer.latitude, customer.longitude) if customer else None,
        },
        "metadata": {
            "status": evidence.metadata_status,
            "reason": evidence.metadata_reason,
            "reader": evidence.reader,
            "exif_raw": evidence.exif_raw or {},
            "parsed": evidence.parsed or {},
        },
        "timestamp": {
            "status": evidence.tsa_status,
            "gen_time": evidence.tsa_gen_time,
            "serial": evidence.tsa_serial,
            "token_sha256": hashlib.sha256(evidence.tsa_token).hexdigest() if evidence.tsa_token else None,
            **issuer(
                evidence.tsa_kind, evidence.tsa_name, evidence.tsa_url, evidence.tsa_chain_pem, evidence.tsa_anchor_pem
            ),
        },
        "review": review_decisions(session, photo.capture_id),
        "files": {
            "original": layout.original_path(number, photo.id, extension_for(photo)),
            "token": token_file,
            "proof": layout.proof_path(number),
            "custody": layout.custody_path(number),
        },
    }


# --- Merkle proofs of an item's events ---------------------------------------------------------


def subject_leaves(session: Session, subjects: list[str], size: int) -> list[LogLeaf]:
    """Log leaves about these subjects inside the first ``size`` leaves, in log order."""
    return list(
        session.scalars(
            select(LogLeaf).where(LogLeaf.subject_id.in_(subjects), LogLeaf.index < size).order_by(LogLeaf.index)
        )
    )


def proof_document(
    session: Session, leaves: list[LogLeaf], size: int, root: bytes, photo_id: str, id_key: str = "photo_id"
) -> dict:
    """Inclusion proofs of a photo's (or scan's, ``id_key="scan_id"``) log events against one checkpoint."""
    # RFC 9162 audit paths, leaf to root, from the O(log n) stored subtrees (never every leaf), all of
    # the item's events in one read; a path that does not reach the checkpoint's root fails the
    # bundle's own check
    paths = translog.inclusion_paths(session, [leaf.index for leaf in leaves], size)
    return {
        id_key: photo_id,
        "algorithm": "RFC 6962 / RFC 9162 SHA-256 Merkle tree",
        "checkpoint": {"tree_size": size, "root_hash": root.hex()},
        "events": [
            {
                "leaf_index": leaf.index,
                "event_type": leaf.event_type,
                "entry": leaf.entry.decode("utf-8"),
                "leaf_hash": leaf.leaf_hash,
                "path": path,
            }
            for leaf, path in zip(leaves, paths)
        ],
    }


def custody_document(session: Session, source: ItemSource, leaves: list[LogLeaf]) -> dict:
    """The custody log of a photo or scan: its audit entries and evidence log events, in time order."""
    if isinstance(source, ScanSource):
        conditions = [and_(AuditEntry.object_type == "scan", AuditEntry.object_id == source.scan.id)]
    else:
        photo = source.photo
        conditions = [and_(AuditEntry.object_type == "photo", AuditEntry.object_id == photo.id)]
        if photo.capture_id:
            conditions.append(and_(AuditEntry.object_type == "capture", AuditEntry.object_id == photo.capture_id))
    audits = session.scalars(select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.at, AuditEntry.id)).all()
    user_ids = {
        int(a.actor_id) for a in audits if a.actor_kind == "user" and a.actor_id is not None and a.actor_id.isdigit()
    }
    names: dict[str | None, str]
    names = (
        {
            str(u.id): f"{u.display_name}（{u.username}）"
            for u in session.scalars(select(User).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    entries: list[dict]
    entries = [
        {
            "source": "audit",
            "at": a.at,
            "action": a.action,
            "object": f"{a.object_type}:{a.object_id}",
            "actor": names.get(a.actor_id, f"{a.actor_kind}:{a.actor_id or ''}"),
            "details": a.details or {},
            "sort": (jsonable(a.at), 1, a.id),
        }
        for a in audits
    ]
    entries += [
        {
            "source": "evidence_log",
            "at": leaf.appended_at,
            "event_type": leaf.event_type,
            "leaf_index": leaf.index,
            "entry": leaf.entry.decode("utf-8"),
            "sort": (jsonable(leaf.appended_at), 0, leaf.index),
        }
        for leaf in leaves
    ]
    entries.sort(key=lambda e: e.pop("sort"))
    if isinstance(source, ScanSource):
        return {"scan_id": source.scan.id, "evidence_no": source.evidence.evidence_no, "entries": entries}
    return {
        "photo_id": photo.id,
        "evidence_no": source.evidence.evidence_no,
        "capture_id": photo.capture_id,
        "entries": entries,
    }


def public_key_document(key_info: dict) -> dict:
    """The log's public key file (name, algorithm, base64 raw key, key hint)."""
    return {k: key_info[k] for k in ("name", "algorithm", "public_key", "key_hint")}
