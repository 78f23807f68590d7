"""Beijing time (UTC+8, no daylight saving): the one time zone of pages, deadlines, reports and stamps."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def to_beijing(moment: datetime) -> datetime:
    """An aware moment shown in Beijing time."""
    return moment.astimezone(BEIJING)


def beijing_date(moment: datetime) -> date:
    """The calendar day in Beijing at an aware moment (working days and deadlines count these)."""
    return moment.astimezone(BEIJING).date()
