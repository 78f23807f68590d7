"""All Dangan models; importing this package registers every table on ``Base.metadata``."""

from models import state_checks
from models.audit import AuditEntry
from models.base import Base, UTCDateTime, utcnow
from models.captures import Blob, Capture, CaptureRevision, Photo
from models.customers import BusinessEvent, Counter, Customer, Dossier, DossierItem
from models.enrolment import EnrolmentCode
from models.evidence import LogCheckpoint, LogLeaf, LogNode, PhotoEvidence, PipelineRun
from models.legal import EvidenceExport, EvidenceUse
from models.lifecycle import (
    BoxSlot,
    CalendarArrangement,
    DestructionRecord,
    DisposalEntry,
    DisposalList,
    FilingObligation,
    LegalHold,
    PaperBox,
    RetentionState,
    UseRequest,
    UseRequestItem,
)
from models.outbox import OutboxEvent
from models.people import ROLES, Device, LoginThrottle, User
from models.review import CaptureLink, ReviewComment, ReviewDecision
from models.scans import Scan, ScanEvidence
from models.sync import Assignment, SyncMutation, SyncSession
from models.sync_feed import SyncChange
from models.uploads import Upload

state_checks.attach()

__all__ = [
    "AuditEntry",
    "Base",
    "Blob",
    "BusinessEvent",
    "Capture",
    "CaptureRevision",
    "Counter",
    "Customer",
    "Device",
    "Dossier",
    "DossierItem",
    "LoginThrottle",
    "OutboxEvent",
    "Photo",
    "ROLES",
    "SyncChange",
    "Upload",
    "User",
    "UTCDateTime",
    "utcnow",
    # archive lifecycle
    "BoxSlot",
    "CalendarArrangement",
    "DestructionRecord",
    "DisposalEntry",
    "DisposalList",
    "FilingObligation",
    "LegalHold",
    "PaperBox",
    "RetentionState",
    "UseRequest",
    "UseRequestItem",
    # archivist review
    "CaptureLink",
    "ReviewComment",
    "ReviewDecision",
    # evidence stamping and the transparency log
    "LogCheckpoint",
    "LogLeaf",
    "LogNode",
    "PhotoEvidence",
    "PipelineRun",
    # legal retrieval
    "EvidenceExport",
    "EvidenceUse",
    # paper documents scanned into dossiers
    "Scan",
    "ScanEvidence",
    # sync
    "Assignment",
    "EnrolmentCode",
    "SyncMutation",
    "SyncSession",
]
