"""Which column holds which workflow state: the database refuses any value outside its enum."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Table

from core.states import (
    CustomerStatus,
    DisposalState,
    ExportState,
    LinkState,
    ObligationState,
    PhotoState,
    RecordState,
    ReviewState,
    RunStatus,
    TsaStatus,
    UploadState,
    UseState,
    sql_in,
)
from models.captures import Capture, Photo
from models.customers import Customer, DossierItem
from models.evidence import LogCheckpoint, PhotoEvidence, PipelineRun
from models.legal import EvidenceExport
from models.lifecycle import DisposalList, FilingObligation, UseRequest
from models.uploads import Upload

STATE_COLUMNS = (
    (Capture, "review_state", ReviewState),
    (Capture, "link_state", LinkState),
    (Capture, "record_state", RecordState),
    (DossierItem, "record_state", RecordState),
    (Photo, "state", PhotoState),
    (PipelineRun, "status", RunStatus),
    (PhotoEvidence, "tsa_status", TsaStatus),
    (LogCheckpoint, "tsa_status", TsaStatus),
    (EvidenceExport, "state", ExportState),
    (Upload, "state", UploadState),
    (FilingObligation, "state", ObligationState),
    (UseRequest, "state", UseState),
    (DisposalList, "state", DisposalState),
    (Customer, "status", CustomerStatus),
)


def attach() -> None:
    """Add a CHECK constraint per state column to the tables (named ``ck_<table>_<column>``)."""
    for model, column, states in STATE_COLUMNS:
        table = model.__table__
        assert isinstance(table, Table)
        if not any(isinstance(c, CheckConstraint) and c.name == column for c in table.constraints):
            table.append_constraint(CheckConstraint(sql_in(column, states), name=column))
