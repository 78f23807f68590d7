"""Every workflow state of the archive as an enum; the database holds the values with CHECK constraints.

``StrEnum`` members are their string values, so rows, JSON and templates read them unchanged;
``models`` derive their CHECK constraints and Chinese label tables from these enums.
"""

from __future__ import annotations

from enum import StrEnum


class ReviewState(StrEnum):
    """Where a capture stands in the archivists' review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    HAS_ISSUES = "has_issues"
    CLOSED = "closed"  # its dossier was destroyed before it was filed


# states in which a capture still waits for an archivist, and those an archivist decided
OPEN_REVIEW_STATES = (ReviewState.PENDING, ReviewState.HAS_ISSUES)
DECIDED_REVIEW_STATES = (ReviewState.APPROVED, ReviewState.REJECTED, ReviewState.HAS_ISSUES)


class LinkState(StrEnum):
    """Whether a capture names a known customer."""

    LINKED = "linked"
    UNLINKED = "unlinked"


class RecordState(StrEnum):
    """Whether a capture, photo or dossier entry is still kept or was destroyed with its dossier."""

    KEPT = "kept"
    DESTROYED = "destroyed"


class PhotoState(StrEnum):
    """A photo from declaration through the stamping pipeline (see services/pipeline.py)."""

    AWAITING_UPLOAD = "awaiting_upload"
    RECEIVED = "received"
    HASHED = "hashed"
    EXIF_READ = "exif_read"
    TIME_ANALYSED = "time_analysed"
    DERIVED = "derived"
    TIMESTAMPED = "timestamped"
    READY = "ready"
    INTEGRITY_FAILED = "integrity_failed"
    DESTROYED = "destroyed"


class RunStatus(StrEnum):
    """One pipeline run of an outbox event."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRY_WAIT = "retry_wait"
    DONE = "done"
    FAILED = "failed"


class TsaStatus(StrEnum):
    """The RFC 3161 token of a photo or checkpoint."""

    PENDING = "pending"
    GRANTED = "granted"
    FAILED = "failed"


class ExportState(StrEnum):
    """An evidence export from request to delivered (or removed) bundle."""

    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"
    DESTROYED = "destroyed"


class UploadState(StrEnum):
    """A tus upload."""

    RECEIVING = "receiving"
    FINISHING = "finishing"
    FINISHED = "finished"
    REJECTED = "rejected"
    TERMINATED = "terminated"
    EXPIRED = "expired"
    SWEPT = "swept"


class ObligationState(StrEnum):
    """A filing obligation counted in working days."""

    OPEN = "open"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"
    MET_LATE = "met_late"
    NO_CALENDAR = "no_calendar"


class UseState(StrEnum):
    """A registered use (consulting, copying, borrowing) of archive items."""

    REGISTERED = "registered"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    OUT = "out"
    RETURNED = "returned"
    COMPLETED = "completed"


class DisposalState(StrEnum):
    """A disposal list (销毁清册)."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTED = "executed"


class CustomerStatus(StrEnum):
    """A customer account."""

    ACTIVE = "active"
    CLOSED = "closed"


def sql_in(column: str, states: type[StrEnum]) -> str:
    """The CHECK constraint text allowing exactly the values of ``states`` in ``column``."""
    return f"{column} IN ({', '.join(repr(str(s)) for s in states)})"
