"""Import of business events from marketing-system exports (CSV in UTF-8/GB18030, XLSX).

Same rules as the customer import: file-level problems stop before anything is written,
row-level problems are reported with row, column and reason and never stop good rows;
re-importing the same file records nothing twice (rows with a 业务单号 are matched on it).
"""

from __future__ import annotations

import os
from datetime import date, datetime

from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import audit
from services.customer_import import ImportReport, map_header, open_rows
from services.lifecycle import obligations
from services.lifecycle.settings import LifecycleSettings
from services.unit_of_work import transaction

COLUMNS: dict[str, tuple[str, ...]] = {
    "account_no": ("户号", "account_no", "客户编号", "用户编号"),
    "kind": ("业务类型", "kind", "事件类型", "业务类别"),
    "occurred_on": ("发生日期", "occurred_on", "业务日期", "办结日期"),
    "reference": ("业务单号", "reference", "工单号", "流程编号"),
    "responsible": ("责任人", "responsible", "责任人账号"),
    "note": ("备注", "note"),
}
REQUIRED = ("account_no", "kind", "occurred_on")


def parse_date(value: str) -> date:
    """A date written 2026-03-02, 2026/3/2 or 20260302; ValueError otherwise."""
    value = (value or "").strip()[:10]
    if len(value) == 8 and value.isdigit():
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    parts = value.replace("/", "-").replace(".", "-").split("-")
    if len(parts) != 3:
        raise ValueError(value)
    return date(int(parts[0]), int(parts[1]), int(parts[2]))


@transaction
def import_events(
    session: Session,
    actor: Actor,
    path: str,
    *,
    today: date,
    now: datetime,
    max_bytes: int,
    settings: LifecycleSettings,
) -> ImportReport:
    """Import a business-event file; each good row records an event and its filing obligation."""
    encoding, rows, _total = open_rows(path, max_bytes)
    report = ImportReport(file=os.path.basename(path), encoding=encoding)
    header = next(rows, None)
    if header is None:
        raise errors.DomainError(errors.IMPORT_UNREADABLE, "The file has no header row.")
    mapping = map_header(header, COLUMNS, REQUIRED)
    for line_no, cells in enumerate(rows, start=2):
        if not any(str(c).strip() for c in cells):
            continue
        report.rows += 1
        raw = {name: str(cells[i]).strip() if i < len(cells) else "" for i, name in mapping.items()}
        field = next((f for f in REQUIRED if not raw.get(f)), None)
        if field:
            report.errors.append(
                {"row": line_no, "field": field, "column": COLUMNS[field][0], "reason": "required value is empty"}
            )
            continue
        try:
            occurred_on = parse_date(raw["occurred_on"])
        except ValueError:
            report.errors.append(
                {
                    "row": line_no,
                    "field": "occurred_on",
                    "column": COLUMNS["occurred_on"][0],
                    "reason": f"{raw['occurred_on']!r} is not a date (YYYY-MM-DD)",
                }
            )
            continue
        try:
            with session.begin_nested():
                outcome = obligations.record_event(
                    session,
                    actor,
                    account_no=raw["account_no"],
                    kind=raw["kind"],
                    occurred_on=occurred_on,
                    today=today,
                    now=now,
                    settings=settings,
                    reference=raw.get("reference"),
                    note=raw.get("note"),
                    responsible=raw.get("responsible"),
                    source="import",
                )
        except errors.DomainError as exc:
            field = {
                "customer.unknown": "account_no",
                "lifecycle.unknown_event_kind": "kind",
                "lifecycle.event_in_future": "occurred_on",
                "user.unknown": "responsible",
                "retention.already_closed": "kind",
            }.get(exc.code, "row")
            report.errors.append(
                {
                    "row": line_no,
                    "field": field,
                    "column": COLUMNS.get(field, (field,))[0],
                    "reason": f"{exc.message} [{exc.code}]",
                }
            )
            continue
        if outcome.created:
            report.created += 1
        else:
            report.unchanged += 1
    audit.record(
        session,
        actor,
        "business_events.import",
        "import",
        report.file,
        {k: v for k, v in report.as_dict().items() if k != "errors"},
        at=now,
    )
    return report
