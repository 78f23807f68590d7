"""The stamping steps for one scanned document: the same evidence as a field photo's.

scan.received → verify hashes (SHA-256 + SM3) → thumbnail and preview of the first page →
RFC 3161 timestamp (shared with photos) → ``scan_stamped`` leaf in the evidence log. The
runner (:mod:`services.pipeline_runs`) commits after each step with an audit entry, exactly as
for photos; quality (pages, dpi, colour mode) was read at intake, before the archivist files.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core import derivatives, hashing, scans
from core.beijing_time import BEIJING
from models import Scan, ScanEvidence
from ports.blobstore import BlobStore
from ports.clock import Clock
from services import stamp_work, stamping, translog
from services.stamping import Halt

RECEIVED_EVENT = "scan.received"
LOG_RECEIVED = "scan_received"
LOG_STAMPED = "scan_stamped"
LOG_TIMESTAMPED = "scan_timestamped"
LOG_FILED = "scan_filed"


@dataclass
class ScanContext:
    """What a step works with: the session, the ports, the scan and its evidence row."""

    session: Session
    blobs: BlobStore
    clock: Clock
    tsa: object
    scan: Scan
    evidence: ScanEvidence
    tsa_max_attempts: int = 50
    _data: bytes | None = None
    token: Future | None = None  # the timestamp request sent once the bytes were hashed
    kind = "scan"

    @property
    def subject(self) -> Scan:
        return self.scan

    def data(self) -> bytes:
        """The stored bytes, read once per run."""
        if self._data is None:
            with self.blobs.open(self.scan.sha256) as stream:
                self._data = stream.read()
        return self._data

    def now(self) -> datetime:
        return self.clock.now()

    def start_ahead(self) -> None:
        """Send the timestamp request once the bytes are hashed, while the first page is drawn."""
        # the page itself is drawn in its step: PDFium may not run on two threads at once
        done = self.evidence.steps_done or []
        if (
            self.token is None
            and "timestamp" not in done
            and self.evidence.hash_ok
            and self.evidence.sha256 is not None
            and self.evidence.tsa_status != "granted"
        ):
            self.token = stamp_work.timestamp_ahead(self.tsa, self.evidence.sha256)


def evidence_number(scan: Scan) -> str:
    """Stable evidence number of a scan: DGS-<receipt date>-<first 12 hex digits of the id>."""
    day = scan.received_at.astimezone(BEIJING).strftime("%Y%m%d")
    return f"DGS-{day}-{scan.id.replace('-', '')[:12].upper()}"


def open_context(session: Session, env, scan_id: str) -> ScanContext | None:
    """The context of a scan's run (evidence row created on first use); None if there is no such scan."""
    scan = session.get(Scan, scan_id)
    if scan is None:
        return None
    evidence = session.get(ScanEvidence, scan.id)
    if evidence is None:
        evidence = ScanEvidence(
            scan_id=scan.id,
            evidence_no=evidence_number(scan),
            steps_done=[],
            tsa_status="pending",
            tsa_attempts=0,
            created_at=env.clock.now(),
        )
        session.add(evidence)
        session.flush()
    ctx = ScanContext(
        session=session,
        blobs=env.blobs,
        clock=env.clock,
        tsa=env.tsa,
        scan=scan,
        evidence=evidence,
        tsa_max_attempts=env.settings.tsa_max_attempts,
    )
    ctx.start_ahead()
    return ctx


def verify_hashes(ctx: ScanContext) -> None:
    """Re-hash the stored bytes and compare with the intake digests and the blob row."""
    scan, evidence = ctx.scan, ctx.evidence
    digests, evidence.hash_ok = stamp_work.verify_stored(ctx.session, ctx.data(), scan.sha256, scan.size)
    evidence.sha256, evidence.sm3, evidence.size = digests.sha256, digests.sm3, digests.size
    evidence.hashed_at = ctx.now()
    if translog.find_event(ctx.session, LOG_RECEIVED, scan.id) is None:
        translog.append_event(
            ctx.session,
            LOG_RECEIVED,
            scan.id,
            {
                "scan_id": scan.id,
                "customer_id": scan.customer_id,
                "filename": scan.filename,
                "sha256": digests.sha256,
                "sm3": digests.sm3,
                "size": digests.size,
                "received_at": scan.received_at,
            },
            ctx.now(),
        )
    if not evidence.hash_ok:
        raise Halt(f"stored bytes do not match: expected {scan.sha256}, stored {digests.sha256}")
    ctx.start_ahead()  # the timestamp request leaves now, while the first page is drawn


def make_derivatives(ctx: ScanContext) -> None:
    """Thumbnail and preview of the first page into the blob store (content-addressed)."""
    evidence = ctx.evidence
    try:
        made = derivatives.small_copies(scans.first_page(ctx.data(), ctx.scan.file_format, derivatives.PREVIEW_EDGE))
    except scans.ScanError as exc:
        evidence.derivatives_error = str(exc)
        return
    stamp_work.store_copies(ctx.blobs, evidence, made)


def timestamped_payload(scan_id: str, evidence: ScanEvidence) -> dict:
    """What the ``scan_timestamped`` log entry records: the token's hash and who issued it."""
    assert evidence.tsa_token is not None  # recorded once the token is granted
    return {
        "scan_id": scan_id,
        "evidence_no": evidence.evidence_no,
        "sha256": evidence.sha256,
        "tsa_kind": evidence.tsa_kind,
        "tsa_name": evidence.tsa_name,
        "tsa_url": evidence.tsa_url,
        "tsa_gen_time": evidence.tsa_gen_time,
        "tsa_serial": evidence.tsa_serial,
        "tsa_anchor_sha256": stamping.anchor_sha256(evidence.tsa_anchor_pem),
        "tsa_token_sha256": hashing.sha256_hex(evidence.tsa_token),
    }


def log_timestamped(session, scan_id: str, evidence: ScanEvidence, now) -> None:
    """Append the scan's ``scan_timestamped`` event (once)."""
    if translog.find_event(session, LOG_TIMESTAMPED, scan_id) is None:
        translog.append_event(session, LOG_TIMESTAMPED, scan_id, timestamped_payload(scan_id, evidence), now)


def timestamp(ctx: ScanContext) -> None:
    """Ask the TSA for a token over the scan's SHA-256; unreachable, it stays pending (filing is never blocked)."""
    if stamping.request_timestamp(ctx.evidence, ctx.tsa, ctx.now(), ctx.tsa_max_attempts, ctx.token):
        log_timestamped(ctx.session, ctx.scan.id, ctx.evidence, ctx.now())


def stamped_payload(scan: Scan, evidence: ScanEvidence) -> dict:
    """What the ``scan_stamped`` log entry records."""
    return {
        "scan_id": scan.id,
        "evidence_no": evidence.evidence_no,
        "sha256": evidence.sha256,
        "sm3": evidence.sm3,
        "size": evidence.size,
        "file_format": scan.file_format,
        "pages": scan.pages,
        "min_dpi": scan.min_dpi,
        "colour_modes": list(scan.colour_modes or []),
        "quality_flags": list(scan.flags or []),
        "thumbnail": evidence.thumbnail_key,
        "preview": evidence.preview_key,
        "tsa_status": evidence.tsa_status,
        "tsa_kind": evidence.tsa_kind,
        "tsa_gen_time": evidence.tsa_gen_time,
        "tsa_token_sha256": hashing.sha256_hex(evidence.tsa_token) if evidence.tsa_token else None,
    }


def log_append(ctx: ScanContext) -> None:
    """Append the ``scan_stamped`` event to the evidence log (once)."""
    if ctx.evidence.stamped_leaf_index is None:
        existing = translog.find_event(ctx.session, LOG_STAMPED, ctx.scan.id)
        leaf = existing or translog.append_event(
            ctx.session, LOG_STAMPED, ctx.scan.id, stamped_payload(ctx.scan, ctx.evidence), ctx.now()
        )
        ctx.evidence.stamped_leaf_index = leaf.index
    ctx.evidence.completed_at = ctx.evidence.completed_at or ctx.now()
