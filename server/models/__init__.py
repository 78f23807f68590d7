"""All Dangan models; importing this package registers every table on ``Base.metadata``."""
from server.models.audit import AuditEntry
from server.models.base import Base, UTCDateTime, utcnow
from server.models.captures import Blob, Capture, CaptureRevision, Photo
from server.models.customers import BusinessEvent, Counter, Customer, Dossier, DossierItem
from server.models.outbox import OutboxEvent
from server.models.people import ROLES, Device, User
from server.models.sync_feed import SyncChange

__all__ = [
    "AuditEntry", "Base", "Blob", "BusinessEvent", "Capture", "CaptureRevision", "Counter",
    "Customer", "Device", "Dossier", "DossierItem", "OutboxEvent", "Photo", "ROLES", "SyncChange", "User",
    "UTCDateTime", "utcnow",
]
