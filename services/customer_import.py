"""Import of customer master data from marketing-system exports (CSV in UTF-8/GB18030, XLSX).

File-level problems (unreadable, wrong encoding, missing required columns, too large) stop the
import before anything is written. Row-level problems are reported with row number, field and
reason, and never stop the good rows. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import audit
from services.customers import COLUMNS, REQUIRED, RowError, clean_row, upsert_customer

BATCH = 500


@dataclass
class ImportReport:
    """What an import did: counts and one entry per bad row."""

    file: str
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "file": self.file,
            "encoding": self.encoding,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": len(self.errors),
            "errors": self.errors,
        }


def map_header(
    header: list[str], columns: dict[str, tuple[str, ...]] = COLUMNS, required: tuple[str, ...] = REQUIRED
) -> dict[int, str]:
    """Map column positions to field names by their accepted headers; refuse missing required ones."""
    aliases = {alias.strip().lower(): name for name, names in columns.items() for alias in names}
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        name = aliases.get(str(title or "").strip().lstrip("\ufeff").lower())
        if name and name not in mapping.values():
            mapping[index] = name
    missing = [f for f in required if f not in mapping.values()]
    if missing:
        raise errors.DomainError(
            errors.IMPORT_MISSING_COLUMNS,
            "Missing required columns: " + ", ".join(f"{columns[f][0]} ({f})" for f in missing),
            details={"missing": missing, "found": [str(h) for h in header]},
        )
    return mapping


def _detect_encoding(path: str) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such, else GB18030, else refuse."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with open(path, encoding=encoding, errors="strict") as fh:
                while fh.read(1 << 20):
                    pass
            return encoding
        except UnicodeDecodeError:
            continue
    raise errors.DomainError(errors.IMPORT_UNREADABLE, "The CSV file is neither UTF-8 nor GB18030 text.")


def _csv_rows(path: str, encoding: str) -> Iterator[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        try:
            yield from csv.reader(fh)
        except csv.Error as exc:
            raise errors.DomainError(errors.IMPORT_UNREADABLE, f"Malformed CSV: {exc}") from exc


def _xlsx_rows(path: str) -> Iterator[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise errors.DomainError(errors.IMPORT_UNREADABLE, f"Broken XLSX file: {exc}") from exc
    try:
        for row in book.active.iter_rows(values_only=True):
            yield ["" if v is None else _cell(v) for v in row]
    finally:
        book.close()


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


def open_rows(path: str, max_bytes: int) -> tuple[str, Iterator[list[str]], int]:
    """Open an import file; return (encoding or 'xlsx', row iterator, data row count estimate)."""
    if not os.path.isfile(path):
        raise errors.DomainError(errors.IMPORT_UNREADABLE, f"No such file: {path}")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise errors.DomainError(
            errors.IMPORT_TOO_LARGE,
            f"File is {size} bytes; the limit is {max_bytes}.",
            details={"size": size, "limit": max_bytes},
        )
    if size == 0:
        raise errors.DomainError(errors.IMPORT_UNREADABLE, "The file is empty.")
    if zipfile.is_zipfile(path):
        if not path.lower().endswith((".xlsx", ".xlsm")):
            raise errors.DomainError(errors.IMPORT_UNSUPPORTED_FORMAT)
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True)
            total = max((book.active.max_row or 1) - 1, 0)
            book.close()
        except Exception as exc:
            raise errors.DomainError(errors.IMPORT_UNREADABLE, f"Broken XLSX file: {exc}") from exc
        return "xlsx", _xlsx_rows(path), total
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:
        raise errors.DomainError(errors.IMPORT_UNSUPPORTED_FORMAT, "Binary file: only CSV and XLSX can be imported.")
    encoding = _detect_encoding(path)
    with open(path, "rb") as fh:
        total = max(sum(1 for _ in fh) - 1, 0)
    return encoding, _csv_rows(path, encoding), total


def import_customers(
    session: Session,
    actor: Actor,
    path: str,
    now: datetime,
    max_bytes: int,
    progress: Callable[[int], None] | None = None,
    total_hint: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a master-data file; commits good rows in batches and returns the report."""
    encoding, rows, total = open_rows(path, max_bytes)
    if total_hint:
        total_hint(total)
    report = ImportReport(file=os.path.basename(path), encoding=encoding)
    header = next(rows, None)
    if header is None:
        raise errors.DomainError(errors.IMPORT_UNREADABLE, "The file has no header row.")
    mapping = map_header(header)
    seen: dict[str, int] = {}
    pending = 0
    for line_no, cells in enumerate(rows, start=2):
        if progress:
            progress(1)
        if not any(str(c).strip() for c in cells):
            continue
        report.rows += 1
        raw = {name: (cells[i] if i < len(cells) else "") for i, name in mapping.items()}
        try:
            values = clean_row(raw)
            if values["account_no"] in seen:
                raise RowError(
                    "account_no", f"户号 {values['account_no']} already given in row {seen[values['account_no']]}"
                )
            seen[values["account_no"]] = line_no
        except RowError as exc:
            report.errors.append(
                {
                    "row": line_no,
                    "field": exc.field,
                    "column": COLUMNS[exc.field][0] if exc.field in COLUMNS else exc.field,
                    "reason": exc.reason,
                }
            )
            continue
        with session.begin_nested():
            outcome = upsert_customer(session, actor, values, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
        pending += 1
        if pending >= BATCH:
            session.commit()
            pending = 0
    audit.record(
        session,
        actor,
        "customers.import",
        "import",
        report.file,
        {k: v for k, v in report.as_dict().items() if k != "errors"} | {"failed": len(report.errors)},
    )
    session.commit()
    return report


def csv_text(rows: list[list[str]]) -> str:
    """Render rows as CSV text (used to write error reports)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
