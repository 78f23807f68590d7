"""Chinese statutory working days (weekends, public holidays and adjusted working weekends 调休).

Three layers, the first that knows a year wins:

1. a year's arrangement loaded by an administrator (the State Council's 国务院办公厅关于部分节假日
   安排的通知, with its document number and date), see :class:`Arrangement`;
2. the ``chinesecalendar`` package's published data (2004 up to the last year it encodes);
3. for later years, a **provisional** calendar: the statutory holidays of the national rules
   (全国年节及纪念日放假办法) as the ``holidays`` package computes them (``holidays.China``),
   weekends off, adjusted working weekends unknown. A due date that depends on a provisional
   year is marked provisional (暂定) and recomputed once the year's arrangement is loaded.

Dates before the package's first year raise ``calendar.out_of_coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import metadata

import holidays as holiday_rules
from chinese_calendar.constants import holidays as _HOLIDAYS
from chinese_calendar.constants import workdays as _ADJUSTED_WORKDAYS

from core import errors

PACKAGE = "chinesecalendar"
SOURCE_URL = "https://github.com/LKI/chinese-calendar"
AUTHORITY = "国务院办公厅关于部分节假日安排的通知"
PROVISIONAL_PACKAGE = "holidays"
PROVISIONAL_RULES = "全国年节及纪念日放假办法（法定节假日，未含调休）"
FIRST_YEAR = min(_HOLIDAYS).year
LAST_YEAR = max(_HOLIDAYS).year
LAST_PROVISIONAL_YEAR = 2099
MAX_DAYS = 366

# where a year's working days come from
LOADED, PACKAGE_DATA, PROVISIONAL = "loaded", "package", "provisional"
BASIS_LABELS = {LOADED: "已导入的放假安排", PACKAGE_DATA: "日历数据包", PROVISIONAL: "暂定（仅法定节假日）"}


@dataclass(frozen=True)
class Arrangement:
    """One year's holiday arrangement as published: days off and adjusted working days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    document_no: str
    published_on: date
    title: str = AUTHORITY
    names: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Due:
    """A computed due date and whether a provisional year was counted to reach it."""

    due_on: date
    provisional: bool


@lru_cache(maxsize=128)
def _statutory_holidays(year: int) -> frozenset[date]:
    return frozenset(holiday_rules.China(years=year, categories=("public",)).keys())


class WorkingCalendar:
    """Working days from loaded arrangements, the package data and provisional statutory rules."""

    def __init__(self, arrangements=()):
        self.arrangements: dict[int, Arrangement] = {a.year: a for a in arrangements}

    def basis(self, year: int) -> str:
        """Where the working days of ``year`` come from: loaded, package or provisional."""
        if year in self.arrangements:
            return LOADED
        if FIRST_YEAR <= year <= LAST_YEAR:
            return PACKAGE_DATA
        if LAST_YEAR < year <= LAST_PROVISIONAL_YEAR:
            return PROVISIONAL
        raise errors.DomainError(
            errors.CALENDAR_OUT_OF_COVERAGE,
            f"The working-day calendar covers {FIRST_YEAR}–{LAST_PROVISIONAL_YEAR}; {year} is outside it.",
            details={
                "year": year,
                "first_year": FIRST_YEAR,
                "last_year": LAST_YEAR,
                "last_provisional_year": LAST_PROVISIONAL_YEAR,
                "package": PACKAGE,
                "version": metadata.version(PACKAGE),
            },
        )

    def day_kind(self, day: date) -> str:
        """'workday', 'adjusted_workday' (调休上班), 'holiday' or 'weekend'."""
        basis = self.basis(day.year)
        if basis == LOADED:
            arrangement = self.arrangements[day.year]
            adjusted, off = arrangement.workdays, arrangement.holidays
        elif basis == PACKAGE_DATA:
            adjusted, off = _ADJUSTED_WORKDAYS, _HOLIDAYS
        else:
            adjusted, off = frozenset(), _statutory_holidays(day.year)
        if day in adjusted:
            return "adjusted_workday"
        if day in off:
            return "holiday"
        return "weekend" if day.weekday() >= 5 else "workday"

    def is_working_day(self, day: date) -> bool:
        """True if ``day`` is a working day, counting adjusted working weekends as working days."""
        return self.day_kind(day) in ("workday", "adjusted_workday")

    def due(self, start: date, days: int) -> Due:
        """The ``days``-th working day after ``start`` (the start day itself is not counted)."""
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
            raise errors.DomainError(errors.BAD_WORKING_DAYS, details={"days": days})
        self.basis(start.year)
        day, counted, provisional = start, 0, False
        while counted < days:
            day += timedelta(days=1)
            if self.basis(day.year) == PROVISIONAL:
                provisional = True
            if self.is_working_day(day):
                counted += 1
        return Due(day, provisional)

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start``."""
        return self.due(start, days).due_on

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when ``end`` lies before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        self.basis(start.year)
        self.basis(end.year)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def info(self, today: date | None = None) -> dict:
        """Where the calendar comes from, which years it covers and how each is known."""
        loaded = [
            {"year": a.year, "document_no": a.document_no, "published_on": a.published_on.isoformat(), "title": a.title}
            for a in sorted(self.arrangements.values(), key=lambda a: a.year)
        ]
        info = {
            "package": PACKAGE,
            "version": metadata.version(PACKAGE),
            "source_url": SOURCE_URL,
            "authority": AUTHORITY,
            "first_year": FIRST_YEAR,
            "last_year": LAST_YEAR,
            "provisional_package": PROVISIONAL_PACKAGE,
            "provisional_version": metadata.version(PROVISIONAL_PACKAGE),
            "provisional_rules": PROVISIONAL_RULES,
            "arrangements": loaded,
        }
        if today is not None:
            info["years"] = {str(y): self.basis(y) for y in (today.year, today.year + 1, today.year + 2)}
            info["next_year_missing"] = self.next_year_missing(today)
        return info

    def next_year_missing(self, today: date) -> bool:
        """True from November on while next year's arrangement is neither loaded nor in the package."""
        return today.month >= 11 and self.basis(today.year + 1) == PROVISIONAL


DEFAULT = WorkingCalendar()


def calendar_info() -> dict:
    """Where the package calendar comes from and which years it covers (no loaded arrangements)."""
    return DEFAULT.info()


def is_working_day(day: date, calendar: WorkingCalendar = DEFAULT) -> bool:
    """True if ``day`` is a working day, counting adjusted working weekends as working days."""
    return calendar.is_working_day(day)


def day_kind(day: date, calendar: WorkingCalendar = DEFAULT) -> str:
    """'workday', 'adjusted_workday' (调休上班), 'holiday' or 'weekend'."""
    return calendar.day_kind(day)


def add_working_days(start: date, days: int, calendar: WorkingCalendar = DEFAULT) -> date:
    """The ``days``-th working day after ``start`` (the start day itself is not counted)."""
    return calendar.add_working_days(start, days)


def working_days_between(start: date, end: date, calendar: WorkingCalendar = DEFAULT) -> int:
    """Working days in (start, end]; negative when ``end`` lies before ``start``."""
    return calendar.working_days_between(start, end)
