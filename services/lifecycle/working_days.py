"""Chinese statutory working days (weekends, public holidays and adjusted working weekends 调休).

Pure functions over the ``chinesecalendar`` package's published data. A date outside the years
the package covers raises ``calendar.out_of_coverage``: the State Council publishes each year's
holiday plan only late in the previous year, so a guess would be wrong exactly when it matters.
"""
from __future__ import annotations

from datetime import date, timedelta
from importlib import metadata

import chinese_calendar
from chinese_calendar.constants import holidays as _HOLIDAYS
from chinese_calendar.constants import workdays as _ADJUSTED_WORKDAYS

from core import errors

PACKAGE = "chinesecalendar"
SOURCE_URL = "https://github.com/LKI/chinese-calendar"
AUTHORITY = "国务院办公厅关于部分节假日安排的通知"
FIRST_YEAR = min(_HOLIDAYS).year
LAST_YEAR = max(_HOLIDAYS).year
MAX_DAYS = 366


def calendar_info() -> dict:
    """Where the working-day calendar comes from and which years it covers."""
    return {"package": PACKAGE, "version": metadata.version(PACKAGE), "source_url": SOURCE_URL,
            "authority": AUTHORITY, "first_year": FIRST_YEAR, "last_year": LAST_YEAR}


def _covered(day: date) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise errors.DomainError(
            errors.CALENDAR_OUT_OF_COVERAGE,
            f"The working-day calendar covers {FIRST_YEAR}–{LAST_YEAR}; {day.isoformat()} is outside it.",
            details={"date": day.isoformat(), "first_year": FIRST_YEAR, "last_year": LAST_YEAR,
                     "package": PACKAGE, "version": metadata.version(PACKAGE)})
    return day


def is_working_day(day: date) -> bool:
    """True if ``day`` is a working day, counting adjusted working weekends as working days."""
    return chinese_calendar.is_workday(_covered(day))


def day_kind(day: date) -> str:
    """'workday', 'adjusted_workday' (调休上班), 'holiday' or 'weekend' for a covered date."""
    _covered(day)
    if day in _ADJUSTED_WORKDAYS:
        return "adjusted_workday"
    if day in _HOLIDAYS:
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "workday"


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (the start day itself is not counted)."""
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise errors.DomainError(errors.BAD_WORKING_DAYS, details={"days": days})
    _covered(start)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when ``end`` lies before ``start``."""
    if end < start:
        return -working_days_between(end, start)
    _covered(start)
    _covered(end)
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            count += 1
    return count
