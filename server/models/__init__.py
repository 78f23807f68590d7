"""All Dangan models; importing this package registers every table on ``Base.metadata``."""
from server.models.audit import AuditEntry
from server.models.base import Base, UTCDateTime, utcnow
from server.models.captures import Blob, Capture, CaptureRevision, Photo
from server.models.customers import BusinessEvent, Counter, Customer, Dossier, DossierItem
from server.models.enrolment import EnrolmentCode
from server.models.evidence import LogCheckpoint, LogLeaf, PhotoEvidence, PipelineRun
from server.models.legal import EvidenceExport, EvidenceUse
from server.models.lifecycle import (BoxSlot, DestructionRecord, DisposalEntry, DisposalList,
                                     FilingObligation, LegalHold, PaperBox, RetentionState,
                                     UseRequest, UseRequestItem)
from server.models.outbox import OutboxEvent
from server.models.people import ROLES, Device, User
from server.models.review import CaptureLink, ReviewComment, ReviewDecision
from server.models.sync import Assignment, SyncMutation, SyncSession
from server.models.sync_feed import SyncChange
from server.models.uploads import Upload

__all__ = [
    "AuditEntry", "Base", "Blob", "BusinessEvent", "Capture", "CaptureRevision", "Counter",
    "Customer", "Device", "Dossier", "DossierItem", "OutboxEvent", "Photo", "ROLES", "SyncChange", "Upload", "User",
    "UTCDateTime", "utcnow",
    # archive lifecycle
    "BoxSlot", "DestructionRecord", "DisposalEntry", "DisposalList", "FilingObligation", "LegalHold",
    "PaperBox", "RetentionState", "UseRequest", "UseRequestItem",
    # archivist review
    "CaptureLink", "ReviewComment", "ReviewDecision",
    # evidence stamping and the transparency log
    "LogCheckpoint", "LogLeaf", "PhotoEvidence", "PipelineRun",
    # legal retrieval
    "EvidenceExport", "EvidenceUse",
    # sync
    "Assignment", "EnrolmentCode", "SyncMutation", "SyncSession",
]
