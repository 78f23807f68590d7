"""The daily deadline recompute is due at 01:30 Beijing time, once per Beijing day."""

from datetime import date, datetime, timezone

from services.lifecycle.daily import due_day


def test_before_half_past_one_beijing_time_yesterdays_run_is_the_one_due():
    # 17:00 UTC on 1 March is 01:00 on 2 March in Beijing
    assert due_day(datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc)) == date(2026, 3, 1)


def test_from_half_past_one_beijing_time_todays_run_is_due():
    assert due_day(datetime(2026, 3, 1, 17, 30, tzinfo=timezone.utc)) == date(2026, 3, 2)
    assert due_day(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)) == date(2026, 3, 2)
