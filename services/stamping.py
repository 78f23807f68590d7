"""The stamping steps for one received photo; each is idempotent and records what it found.

A step reads the photo and its evidence row, does its work and writes its results to the same
session; the runner (:mod:`services.pipeline_runs`) commits after each step together with the step's
name, the photo state and an audit entry, so a crash repeats at most the step in progress.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import derivatives, exif, hashing, time_analysis
from core.beijing_time import BEIJING
from core.labels import BASIS_LABELS, flag_label
from models import Capture, Customer, Photo, PhotoEvidence, ScanEvidence
from models.sync import SyncSession
from ports.blobstore import BlobStore
from ports.clock import Clock
from ports.tsa import TsaUnavailable
from services import stamp_work, translog
from verifier.timestamps import certificate_fingerprint, load_certificates

TSA_BACKOFF_S = (30, 120, 600, 1800, 3600)


class Halt(Exception):
    """Stop the pipeline for this photo for a recorded reason (e.g. stored bytes do not match)."""


@dataclass
class StampContext:
    """What a step works with: the session, the ports, settings, the photo and its evidence row."""

    session: Session
    blobs: BlobStore
    clock: Clock
    tsa: object
    photo: Photo
    evidence: PhotoEvidence
    time_settings: time_analysis.Settings = field(default_factory=time_analysis.Settings)
    tsa_max_attempts: int = 50
    _data: bytes | None = None
    pictures: stamp_work.Pictures | None = None  # decoding started when the run opened
    token: Future | None = None  # the timestamp request sent once the bytes were hashed
    kind = "photo"

    @property
    def subject(self) -> Photo:
        """What the run stamps (the runner treats photos and scans alike)."""
        return self.photo

    def data(self) -> bytes:
        """The stored bytes, read once per run."""
        if self._data is None:
            assert self.photo.blob_sha256 is not None  # a received photo has its stored bytes
            with self.blobs.open(self.photo.blob_sha256) as stream:
                self._data = stream.read()
        return self._data

    def now(self) -> datetime:
        """The clock port's time."""
        return self.clock.now()

    def start_ahead(self) -> None:
        """Start what does not need the database: decoding (if copies are still to be made) and the timestamp."""
        done = self.evidence.steps_done or []
        if self.pictures is None and "make_derivatives" not in done:
            data = self.data()
            self.pictures = stamp_work.Pictures(lambda: derivatives.decode(data))
        if (
            self.token is None
            and "timestamp" not in done
            and self.evidence.hash_ok
            and self.evidence.sha256 is not None
            and self.evidence.tsa_status != "granted"
        ):
            self.token = stamp_work.timestamp_ahead(self.tsa, self.evidence.sha256)


def evidence_number(photo: Photo) -> str:
    """A stable, human-quotable evidence number: receipt date plus the photo id's first 12 hex digits."""
    day = (photo.received_at or photo.created_at).astimezone(BEIJING).strftime("%Y%m%d")
    return f"DGE-{day}-{photo.id.replace('-', '')[:12].upper()}"


def get_or_create_evidence(session: Session, photo: Photo, now: datetime) -> PhotoEvidence:
    """The photo's evidence row, created on first use."""
    evidence = session.get(PhotoEvidence, photo.id)
    if evidence is None:
        evidence = PhotoEvidence(
            photo_id=photo.id,
            evidence_no=evidence_number(photo),
            steps_done=[],
            exif_raw={},
            parsed={},
            flags=[],
            time_analysis={},
            tsa_status="pending",
            tsa_attempts=0,
            created_at=now,
        )
        session.add(evidence)
        session.flush()
    return evidence


def open_context(session: Session, env, photo_id: str) -> StampContext | None:
    """The context of a photo's run (evidence row created on first use); None if it is not received."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.blob_sha256 is None:
        return None
    evidence = get_or_create_evidence(session, photo, env.clock.now())
    ctx = StampContext(
        session=session,
        blobs=env.blobs,
        clock=env.clock,
        tsa=env.tsa,
        photo=photo,
        evidence=evidence,
        time_settings=env.settings.time,
        tsa_max_attempts=env.settings.tsa_max_attempts,
    )
    try:
        ctx.start_ahead()
    except OSError:  # unreadable bytes: the step that reads them fails, and is retried, as a step
        pass
    return ctx


# --- step 1 -----------------------------------------------------------------------------------


def verify_hashes(ctx: StampContext) -> None:
    """Re-hash the stored bytes (SHA-256 and SM3) and compare with the declaration and the blob row."""
    photo, evidence = ctx.photo, ctx.evidence
    assert photo.blob_sha256 is not None  # a received photo has its stored bytes
    digests, stored_ok = stamp_work.verify_stored(ctx.session, ctx.data(), photo.blob_sha256)
    evidence.sha256, evidence.sm3, evidence.size = digests.sha256, digests.sm3, digests.size
    evidence.hashed_at = ctx.now()
    evidence.hash_ok = stored_ok and digests.sha256 == photo.declared_sha256
    if translog.find_event(ctx.session, "received", photo.id) is None:
        translog.append_event(
            ctx.session,
            "received",
            photo.id,
            {
                "photo_id": photo.id,
                "capture_id": photo.capture_id,
                "device_id": photo.device_id,
                "declared_sha256": photo.declared_sha256,
                "sha256": digests.sha256,
                "sm3": digests.sm3,
                "size": digests.size,
                "received_at": photo.received_at,
            },
            ctx.now(),
        )
    if not evidence.hash_ok:
        raise Halt(f"stored bytes do not match: declared {photo.declared_sha256}, stored {digests.sha256}")
    ctx.start_ahead()  # the timestamp request leaves now, while EXIF is read and copies are drawn


# --- step 2 -----------------------------------------------------------------------------------


def read_exif(ctx: StampContext) -> None:
    """Read EXIF/XMP; an unreadable file is recorded with its reason, never raised."""
    meta = exif.read_metadata(ctx.data())
    evidence = ctx.evidence
    evidence.metadata_status, evidence.metadata_reason, evidence.reader = meta.status, meta.reason, meta.reader
    evidence.exif_raw = meta.raw
    parsed = meta.as_dict()
    parsed.pop("raw")
    evidence.parsed = parsed
    evidence.gps_latitude, evidence.gps_longitude = meta.gps_latitude, meta.gps_longitude


# --- step 3 -----------------------------------------------------------------------------------


def device_clock_offset(session: Session, device_id: str, at: datetime | None) -> float | None:
    """The tablet's clock offset (seconds, device minus server) from its latest sync up to ``at``."""
    query = select(SyncSession.clock_offset_ms).where(
        SyncSession.device_id == device_id, SyncSession.clock_offset_ms.is_not(None)
    )
    if at is not None:
        query = query.where(SyncSession.server_time <= at + timedelta(minutes=5))
    value = session.scalar(query.order_by(SyncSession.server_time.desc()).limit(1))
    return None if value is None else value / 1000.0


def _customer(session: Session, photo: Photo) -> tuple[Capture | None, Customer | None]:
    capture = session.get(Capture, photo.capture_id) if photo.capture_id else None
    customer = session.get(Customer, capture.customer_id) if capture and capture.customer_id else None
    return capture, customer


def facts_for(session: Session, photo: Photo) -> time_analysis.DeviceFacts:
    """What the tablet declared and the server measured about this photo."""
    _capture, customer = _customer(session, photo)
    return time_analysis.DeviceFacts(
        device_captured_at=photo.device_captured_at,
        device_latitude=photo.device_latitude,
        device_longitude=photo.device_longitude,
        clock_offset_s=device_clock_offset(session, photo.device_id, photo.received_at),
        received_at=photo.received_at,
        site_latitude=customer.latitude if customer else None,
        site_longitude=customer.longitude if customer else None,
    )


def analyse_time(ctx: StampContext) -> None:
    """Estimate the capture time from every source and flag disagreements."""
    meta = exif.Metadata(**{**ctx.evidence.parsed, "raw": ctx.evidence.exif_raw})
    analysis = time_analysis.analyse(meta, facts_for(ctx.session, ctx.photo), ctx.time_settings)
    ctx.evidence.estimated_capture_at = analysis.estimated_capture_at
    ctx.evidence.estimate_basis = analysis.basis
    ctx.evidence.flags = analysis.flags
    ctx.evidence.time_analysis = analysis.as_dict()


# --- step 4 -----------------------------------------------------------------------------------


def _china_time(moment: datetime | None) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）" if moment else "未知"


def band_for(ctx: StampContext) -> derivatives.Band:
    """The evidence band text of the stamped copy."""
    capture, customer = _customer(ctx.session, ctx.photo)
    evidence, analysis = ctx.evidence, ctx.evidence.time_analysis
    basis = BASIS_LABELS.get(analysis.get("basis_code", ""), "")
    details = analysis.get("details", {})
    if analysis.get("basis_code") == "exif":
        if evidence.parsed.get("offset"):
            basis += f"（时区 {evidence.parsed['offset']}）"
        elif details.get("offset_inferred_from_gps"):
            basis += f"（时区由GPS时间推定 {details['offset_inferred_from_gps']}）"
        else:
            basis += f"（未记录时区，按 {details.get('offset_assumed', '+08:00')} 计）"
    if evidence.gps_latitude is not None:
        place = f"{evidence.gps_latitude:.6f}, {evidence.gps_longitude:.6f}（照片GPS）"
    elif ctx.photo.device_latitude is not None:
        place = f"{ctx.photo.device_latitude:.6f}, {ctx.photo.device_longitude:.6f}（平板定位）"
    else:
        place = "无定位"
    if customer is not None and customer.address:
        place += f"  客户地址 {customer.address}"
    return derivatives.Band(
        evidence_no=evidence.evidence_no,
        sha256=evidence.sha256 or ctx.photo.declared_sha256,
        account_no=capture.account_no if capture else None,
        account_name=customer.name if customer else None,
        captured=_china_time(evidence.estimated_capture_at),
        basis=basis,
        place=place,
        received=_china_time(ctx.photo.received_at),
        flags=[flag_label(f) for f in evidence.flags],
    )


def make_derivatives(ctx: StampContext) -> None:
    """Thumbnail, preview and stamped copy into the blob store (content-addressed)."""
    evidence = ctx.evidence
    if evidence.metadata_status == "unreadable" and (evidence.metadata_reason or "").startswith("decompression bomb"):
        evidence.derivatives_error = f"not decoded: {evidence.metadata_reason}"
        return
    ctx.start_ahead()
    assert ctx.pictures is not None  # started when the run opened
    try:
        band = band_for(ctx)
        stamped = derivatives.stamped_copy(ctx.pictures.image(), band)
        made = {**ctx.pictures.small_copies(), "stamped_key": stamped}
    except derivatives.DerivativeError as exc:
        evidence.derivatives_error = str(exc)
        return
    stamp_work.store_copies(ctx.blobs, evidence, made)


# --- step 5 -----------------------------------------------------------------------------------


def timestamp(ctx: StampContext) -> None:
    """Ask the TSA for a token over the SHA-256; if it is unreachable, leave it pending (never blocks review)."""
    if request_timestamp(ctx.evidence, ctx.tsa, ctx.now(), ctx.tsa_max_attempts, ctx.token):
        log_timestamped(ctx.session, ctx.evidence, ctx.now())


def anchor_sha256(anchor_pem: str | None) -> str | None:
    """SHA-256 fingerprint of the recorded anchor certificate (DER), as ``openssl x509 -fingerprint`` shows."""
    certificates = load_certificates(anchor_pem.encode()) if anchor_pem else []
    return certificate_fingerprint(certificates[0]) if certificates else None


def log_timestamped(session: Session, evidence: PhotoEvidence, now: datetime) -> None:
    """Append the photo's ``timestamped`` event (once): the token's hash and who issued it."""
    if translog.find_event(session, "timestamped", evidence.photo_id) is not None:
        return
    assert evidence.tsa_token is not None  # logged once the token is granted
    translog.append_event(
        session,
        "timestamped",
        evidence.photo_id,
        {
            "photo_id": evidence.photo_id,
            "evidence_no": evidence.evidence_no,
            "sha256": evidence.sha256,
            "tsa_kind": evidence.tsa_kind,
            "tsa_name": evidence.tsa_name,
            "tsa_url": evidence.tsa_url,
            "tsa_gen_time": evidence.tsa_gen_time,
            "tsa_serial": evidence.tsa_serial,
            "tsa_anchor_sha256": anchor_sha256(evidence.tsa_anchor_pem),
            "tsa_token_sha256": hashing.sha256_hex(evidence.tsa_token),
        },
        now,
    )


def request_timestamp(
    evidence: PhotoEvidence | ScanEvidence, tsa, now: datetime, max_attempts: int, sent: Future | None = None
) -> bool:
    """One attempt at a token (``sent``: a request already on its way); records status, attempts, retry time, error.

    True if granted.
    """
    if evidence.tsa_status == "granted":
        return True
    evidence.tsa_attempts = (evidence.tsa_attempts or 0) + 1
    assert evidence.sha256 is not None  # hashed before any timestamp
    try:
        token = sent.result() if sent is not None else tsa.stamp(bytes.fromhex(evidence.sha256))
    except TsaUnavailable as exc:
        evidence.tsa_error = str(exc)[:500]
        if evidence.tsa_attempts >= max_attempts:
            evidence.tsa_status, evidence.tsa_next_attempt_at = "failed", None
        else:
            evidence.tsa_status = "pending"
            delay = TSA_BACKOFF_S[min(evidence.tsa_attempts - 1, len(TSA_BACKOFF_S) - 1)]
            evidence.tsa_next_attempt_at = now + timedelta(seconds=delay)
        return False
    evidence.tsa_status, evidence.tsa_kind, evidence.tsa_name = "granted", token.kind, token.tsa_name
    evidence.tsa_token, evidence.tsa_gen_time, evidence.tsa_serial = token.response, token.gen_time, token.serial
    evidence.tsa_error, evidence.tsa_next_attempt_at = None, None
    evidence.tsa_url = token.url
    evidence.tsa_chain_pem = token.chain_pem.decode() if token.chain_pem else None
    evidence.tsa_anchor_pem = token.anchor_pem.decode() if token.anchor_pem else None
    return True


# --- step 6 -----------------------------------------------------------------------------------


def stamped_payload(photo: Photo, evidence: PhotoEvidence) -> dict:
    """What the ``stamped`` log entry records."""
    return {
        "photo_id": photo.id,
        "evidence_no": evidence.evidence_no,
        "sha256": evidence.sha256,
        "sm3": evidence.sm3,
        "size": evidence.size,
        "metadata_status": evidence.metadata_status,
        "reader": evidence.reader,
        "estimated_capture_at": evidence.estimated_capture_at,
        "estimate_basis": evidence.estimate_basis,
        "flags": list(evidence.flags or []),
        "thumbnail": evidence.thumbnail_key,
        "preview": evidence.preview_key,
        "stamped_copy": evidence.stamped_key,
        "tsa_status": evidence.tsa_status,
        "tsa_kind": evidence.tsa_kind,
        "tsa_gen_time": evidence.tsa_gen_time,
        "tsa_token_sha256": hashing.sha256_hex(evidence.tsa_token) if evidence.tsa_token else None,
    }


def log_append(ctx: StampContext) -> None:
    """Append the ``stamped`` event to the transparency log (once)."""
    if ctx.evidence.stamped_leaf_index is None:
        existing = translog.find_event(ctx.session, "stamped", ctx.photo.id)
        leaf = existing or translog.append_event(
            ctx.session, "stamped", ctx.photo.id, stamped_payload(ctx.photo, ctx.evidence), ctx.now()
        )
        ctx.evidence.stamped_leaf_index = leaf.index
    ctx.evidence.completed_at = ctx.evidence.completed_at or ctx.now()
