"""The pipeline table: which steps run, in which order, after which outbox event.

photo.received → verify hashes → EXIF → time analysis → derivatives → timestamp → log append
→ ready for review; scan.received (a scanned paper document) → verify hashes → derivatives →
timestamp → log append → ready. Each step names the state it leaves behind. A step that cannot
reach the TSA leaves the timestamp pending (retried by the dispatcher) and the photo still
becomes ready: review is never blocked by the TSA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from models import Photo, Scan
from services import scan_stamping, stamping


@dataclass(frozen=True)
class Step:
    """One idempotent step and the photo state after it."""

    name: str
    run: Callable[[stamping.StampContext], None] | Callable[[scan_stamping.ScanContext], None]
    state_after: str


PHOTO_RECEIVED = (
    Step("verify_hashes", stamping.verify_hashes, "hashed"),
    Step("read_exif", stamping.read_exif, "exif_read"),
    Step("analyse_time", stamping.analyse_time, "time_analysed"),
    Step("make_derivatives", stamping.make_derivatives, "derived"),
    Step("timestamp", stamping.timestamp, "timestamped"),
    Step("log_append", stamping.log_append, "ready"),
)

# A scanned paper document: quality was read at intake; no EXIF or time analysis for paper.
SCAN_RECEIVED = (
    Step("verify_hashes", scan_stamping.verify_hashes, "hashed"),
    Step("make_derivatives", scan_stamping.make_derivatives, "derived"),
    Step("timestamp", scan_stamping.timestamp, "timestamped"),
    Step("log_append", scan_stamping.log_append, "ready"),
)

PIPELINES: dict[str, tuple[Step, ...]] = {"photo.received": PHOTO_RECEIVED, scan_stamping.RECEIVED_EVENT: SCAN_RECEIVED}
# How a run finds its subject and evidence row: a callable (session, env, subject_id) → context or None.
OPENERS: dict[str, Callable] = {
    "photo.received": stamping.open_context,
    scan_stamping.RECEIVED_EVENT: scan_stamping.open_context,
}
# The row each pipeline stamps (checked before anything is made of it: a destroyed one is left alone)
SUBJECTS: dict[str, type] = {"photo.received": Photo, scan_stamping.RECEIVED_EVENT: Scan}

# The photo state when a pipeline stops for good (bytes do not match their hash).
HALTED_STATE = "integrity_failed"
READY_STATE = "ready"


def steps_for(event: str) -> tuple[Step, ...]:
    """The ordered steps run for an outbox event; KeyError for events without a pipeline."""
    return PIPELINES[event]


def job_id(event: str, subject_id: str, attempt: int) -> str:
    """Deterministic RQ job id of one attempt (RQ forbids ':' in ids)."""
    return f"{event.replace('.', '-')}-{subject_id}-a{attempt}"
