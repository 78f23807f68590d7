"""Batch import of scanned backlogs: a folder of files and a manifest (CSV in UTF-8/GB18030, XLSX).

Manifest columns: 户号, 文件类型 (code or name from the filing scope table), 文件日期, 文件名
(relative to the folder), and optionally 业务单号 (the reference of the customer's business event),
页数, 备注. Each row is kept and filed in its own transactions, so a bad row never stops the good
ones and an import killed at any moment is finished by running it again: a file already kept
is found by its content hash (SHA-256) and filed only if it is not filed yet — each scan ends up
in the 卷内目录 exactly once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import BusinessEvent, Customer, audit
from services import filing_scope, scans
from services.customer_import import map_header, open_rows
from services.lifecycle.settings import LifecycleSettings

COLUMNS: dict[str, tuple[str, ...]] = {
    "account_no": ("户号", "account_no"),
    "doc_type": ("文件类型", "doc_type"),
    "doc_date": ("文件日期", "doc_date"),
    "filename": ("文件名", "filename"),
    "reference": ("业务单号", "reference"),
    "pages": ("页数", "pages"),
    "note": ("备注", "note"),
}
REQUIRED = ("account_no", "doc_type", "doc_date", "filename")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")


@dataclass
class ScanImportReport:
    """What an import did: counts and one entry per refused row."""

    manifest: str
    encoding: str = ""
    rows: int = 0
    kept: int = 0  # files new to the archive
    already_kept: int = 0  # files found by their content hash
    filed: int = 0  # entries appended to a 卷内目录 by this run
    already_filed: int = 0
    flagged: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "manifest": self.manifest,
            "encoding": self.encoding,
            "rows": self.rows,
            "kept": self.kept,
            "already_kept": self.already_kept,
            "filed": self.filed,
            "already_filed": self.already_filed,
            "flagged": self.flagged,
            "failed": len(self.errors),
            "errors": self.errors,
        }


class RowProblem(Exception):
    """A manifest row that cannot be imported: the column and the reason."""

    def __init__(self, column: str, reason: str, code: str = errors.SCAN_MANIFEST_ROW_INVALID.code):
        super().__init__(reason)
        self.column, self.reason, self.code = column, reason, code


def parse_date(value: str) -> date:
    """A manifest date: 2026-03-01, 2026/03/01, 20260301 or 2026.03.01."""
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowProblem("文件日期", f"not a date: {value!r} (use YYYY-MM-DD)")


def doc_type_code(scope: filing_scope.FilingScope, value: str) -> str:
    """The document type code from a code or its Chinese name."""
    text = value.strip()
    if text in scope.doc_types:
        return text
    by_label = {label: code for code, label in scope.doc_types.items()}
    if text in by_label:
        return by_label[text]
    raise RowProblem("文件类型", f"not in the filing scope table: {value!r}", errors.SCAN_UNKNOWN_DOC_TYPE.code)


def resolve_file(folder: str, name: str) -> str:
    """The file's path inside ``folder``; names that leave the folder are refused."""
    relative = name.strip().replace("\\", "/")
    if not relative or relative.startswith("/") or re.search(r"(^|/)\.\.(/|$)", relative):
        raise RowProblem("文件名", f"must be a path inside the folder: {name!r}")
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([root, path]) != root:
        raise RowProblem("文件名", f"must be a path inside the folder: {name!r}")
    if not os.path.isfile(path):
        raise RowProblem("文件名", f"no such file in the folder: {name!r}")
    return path


def _event_id(session: Session, account_no: str, reference: str) -> int | None:
    if not reference.strip():
        return None
    event_id = session.scalar(
        select(BusinessEvent.id)
        .join(Customer, BusinessEvent.customer_id == Customer.id)
        .where(Customer.account_no == account_no, BusinessEvent.reference == reference.strip())
        .order_by(BusinessEvent.id)
        .limit(1)
    )
    if event_id is None:
        raise RowProblem(
            "业务单号", f"no business event {reference.strip()!r} for this customer", errors.UNKNOWN_BUSINESS_EVENT.code
        )
    return event_id


def _pages(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise RowProblem("页数", f"not a page count: {value!r}")
    return int(text)


def import_row(
    session: Session,
    actor: Actor,
    folder: str,
    values: dict,
    now: datetime,
    blobs,
    settings: LifecycleSettings,
    max_bytes: int,
    report: ScanImportReport,
    row_number: int,
) -> None:
    """Keep and file one manifest row (each step committed on its own)."""
    scope = filing_scope.current()
    account_no = values.get("account_no", "").strip()
    if not account_no:
        raise RowProblem("户号", "empty")
    path = resolve_file(folder, values.get("filename", ""))
    if os.path.getsize(path) > max_bytes:
        raise RowProblem("文件名", f"file larger than {max_bytes} bytes", errors.SCAN_TOO_LARGE.code)
    request = scans.ScanRequest(
        doc_type=doc_type_code(scope, values.get("doc_type", "")),
        doc_date=parse_date(values.get("doc_date", "")),
        business_event_id=_event_id(session, account_no, values.get("reference", "")),
        declared_pages=_pages(values.get("pages", "")),
        note=values.get("note") or None,
    )
    with open(path, "rb") as fh:
        data = fh.read()
    kept = scans.intake(
        session,
        actor,
        None,
        account_no,
        data,
        os.path.basename(path),
        request,
        now,
        blobs,
        source="import",
        max_bytes=max_bytes,
    )
    if kept.created:
        report.kept += 1
    else:
        report.already_kept += 1
    if kept.scan.flags:
        report.flagged.append({"row": row_number, "file": values.get("filename", ""), "flags": list(kept.scan.flags)})
    if kept.scan.dossier_item_id is not None:
        report.already_filed += 1
        return
    scans.file_scan(session, actor, None, kept.scan.id, now, settings)
    report.filed += 1


def import_scans(
    session: Session,
    actor: Actor,
    folder: str,
    manifest: str,
    now: datetime,
    blobs,
    settings: LifecycleSettings,
    *,
    max_manifest_bytes: int,
    max_scan_bytes: int,
    on_progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ScanImportReport:
    """Import every manifest row; file-level problems raise before anything is written."""
    if not os.path.isdir(folder):
        raise errors.DomainError(errors.IMPORT_UNREADABLE, f"No such folder: {folder}")
    encoding, rows, estimate = open_rows(manifest, max_manifest_bytes)
    report = ScanImportReport(manifest=manifest, encoding=encoding)
    if on_total:
        on_total(estimate)
    mapping: dict[int, str] | None = None
    for line, row in enumerate(rows, start=1):
        if mapping is None:
            mapping = map_header(row, COLUMNS, REQUIRED)
            continue
        if not any(str(cell).strip() for cell in row):
            continue
        report.rows += 1
        values = {name: str(row[index]) if index < len(row) else "" for index, name in mapping.items()}
        try:
            import_row(session, actor, folder, values, now, blobs, settings, max_scan_bytes, report, line)
        except RowProblem as problem:
            session.rollback()
            report.errors.append(
                {
                    "row": line,
                    "file": values.get("filename", ""),
                    "column": problem.column,
                    "code": problem.code,
                    "reason": problem.reason,
                }
            )
        except errors.DomainError as exc:
            session.rollback()
            report.errors.append(
                {
                    "row": line,
                    "file": values.get("filename", ""),
                    "column": "",
                    "code": exc.code,
                    "reason": exc.message + (f": {exc.details['reason']}" if "reason" in exc.details else ""),
                }
            )
        if on_progress:
            on_progress(1)
    if mapping is None:
        raise errors.DomainError(errors.IMPORT_UNREADABLE, "The manifest has no header row.")
    audit.record(
        session,
        actor,
        "scan.import",
        "manifest",
        os.path.basename(manifest)[:64],
        {k: v for k, v in report.as_dict().items() if k not in ("errors", "flagged")},
        at=now,
    )
    session.commit()
    return report
