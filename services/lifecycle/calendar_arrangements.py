"""Holiday arrangements (放假安排) loaded by an administrator: the file format, storage and the
working-day calendar they make together with the package data.

An arrangement file is UTF-8 JSON (see docs/lifecycle.md)::

    {"year": 2027, "title": "国务院办公厅关于2027年部分节假日安排的通知",
     "document_no": "国办发明电〔2026〕N号", "published_on": "2026-11-20",
     "holidays": {"元旦": ["2027-01-01"], "春节": ["2027-02-05/2027-02-12"]},
     "workdays": ["2027-02-13"]}

``holidays`` names each holiday with its days off (single dates or ``start/end`` ranges, both
ends included); ``workdays`` are the adjusted working weekends (调休上班).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import CalendarArrangement, audit
from services.lifecycle.common import actor_user_id
from services.lifecycle.working_days import AUTHORITY, FIRST_YEAR, LAST_PROVISIONAL_YEAR, Arrangement, WorkingCalendar

MAX_BYTES = 64 * 1024
MAX_SPAN_DAYS = 31


def _bad(problems: list[str]) -> errors.DomainError:
    return errors.DomainError(
        errors.CALENDAR_BAD_ARRANGEMENT,
        "The holiday arrangement file is not valid (see details.errors).",
        details={"errors": problems},
    )


def _days(value, where: str, problems: list[str]) -> list[date]:
    """Dates of one entry: an ISO date or an inclusive ``start/end`` range."""
    if not isinstance(value, str):
        problems.append(f"{where}：应为日期字符串")
        return []
    start_text, _, end_text = value.partition("/")
    try:
        start = date.fromisoformat(start_text.strip())
        end = date.fromisoformat(end_text.strip()) if end_text else start
    except ValueError:
        problems.append(f"{where}：{value} 不是日期（年-月-日）或日期范围（开始/结束）")
        return []
    if end < start or (end - start).days > MAX_SPAN_DAYS:
        problems.append(f"{where}：日期范围 {value} 颠倒或超过 {MAX_SPAN_DAYS} 天")
        return []
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def parse(text: str | bytes) -> Arrangement:
    """Read an arrangement file's content or raise ``calendar.bad_arrangement`` listing every problem."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise _bad([f"文件超过 {MAX_BYTES} 字节"])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _bad(["文件不是 UTF-8 文本"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad([f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）"]) from None
    if not isinstance(data, dict):
        raise _bad(["文件内容应为一个 JSON 对象"])
    problems: list[str] = []
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= LAST_PROVISIONAL_YEAR:
        problems.append(f"year：应为 {FIRST_YEAR}–{LAST_PROVISIONAL_YEAR} 之间的年份")
        year = None
    document_no = data.get("document_no")
    if not isinstance(document_no, str) or not document_no.strip() or len(document_no) > 100:
        problems.append("document_no：必须填写文号，最多 100 个字符")
    title = data.get("title") or AUTHORITY
    if not isinstance(title, str) or len(title) > 200:
        problems.append("title：最多 200 个字符")
    published_on = None
    try:
        published_on = date.fromisoformat(str(data.get("published_on")))
    except ValueError:
        problems.append("published_on：必须填写发文日期（年-月-日）")
    raw_holidays = data.get("holidays")
    if isinstance(raw_holidays, list):
        raw_holidays = {"": raw_holidays}
    names: dict[str, list[str]] = {}
    holidays: set[date] = set()
    if not isinstance(raw_holidays, dict) or not raw_holidays:
        problems.append("holidays：应列出各节日名称及其放假日期")
    else:
        for name, entries in raw_holidays.items():
            if not isinstance(entries, list):
                entries = [entries]
            days = [d for i, e in enumerate(entries) for d in _days(e, f"holidays.{name}[{i}]", problems)]
            names[str(name)] = [d.isoformat() for d in days]
            holidays.update(days)
    raw_workdays = data.get("workdays", [])
    workdays: set[date] = set()
    if not isinstance(raw_workdays, list):
        problems.append("workdays：应为日期列表")
    else:
        for i, entry in enumerate(raw_workdays):
            workdays.update(_days(entry, f"workdays[{i}]", problems))
    if year is not None:
        for day in sorted(holidays | workdays):
            if day.year != year:
                problems.append(f"{day.isoformat()} 不在 {year} 年内")
    for day in sorted(workdays):
        if day.weekday() < 5:
            problems.append(f"workdays：{day.isoformat()} 本是工作日，调休上班日应为周末")
    for day in sorted(holidays & workdays):
        problems.append(f"{day.isoformat()} 同时列为放假日和上班日")
    if problems:
        raise _bad(problems)
    assert year is not None and isinstance(document_no, str) and published_on is not None
    return Arrangement(
        year=year,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        document_no=document_no.strip(),
        published_on=published_on,
        title=title.strip(),
        names=names,
    )


def read_file(path: str) -> Arrangement:
    """Parse the arrangement file at ``path``."""
    try:
        with open(path, "rb") as fh:
            content = fh.read(MAX_BYTES + 1)
    except OSError:
        raise _bad(["无法读取文件"]) from None
    return parse(content)


def _from_row(row: CalendarArrangement) -> Arrangement:
    return Arrangement(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        document_no=row.document_no,
        published_on=row.published_on,
        title=row.title,
        names=dict(row.names or {}),
    )


def loaded(session: Session) -> list[CalendarArrangement]:
    """The loaded arrangements, by year."""
    return list(session.scalars(select(CalendarArrangement).order_by(CalendarArrangement.year)))


def current(session: Session) -> WorkingCalendar:
    """The working-day calendar in use: loaded arrangements over the package data and provisional rules."""
    return WorkingCalendar(_from_row(row) for row in loaded(session))


def store(session: Session, actor: Actor, arrangement: Arrangement, now: datetime) -> CalendarArrangement:
    """Record a year's arrangement (replacing an earlier one for the same year); audited."""
    row = session.scalar(select(CalendarArrangement).where(CalendarArrangement.year == arrangement.year))
    previous = None
    if row is None:
        row = CalendarArrangement(year=arrangement.year)
        session.add(row)
    else:
        previous = {"document_no": row.document_no, "published_on": row.published_on.isoformat()}
    row.title = arrangement.title
    row.document_no = arrangement.document_no
    row.published_on = arrangement.published_on
    row.holidays = sorted(d.isoformat() for d in arrangement.holidays)
    row.workdays = sorted(d.isoformat() for d in arrangement.workdays)
    row.names = arrangement.names
    row.loaded_by_id = actor_user_id(actor)
    row.loaded_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "calendar.arrangement_loaded",
        "calendar_year",
        arrangement.year,
        {
            "document_no": arrangement.document_no,
            "published_on": arrangement.published_on.isoformat(),
            "holidays": len(arrangement.holidays),
            "workdays": len(arrangement.workdays),
            "replaced": previous,
        },
        at=now,
    )
    return row
