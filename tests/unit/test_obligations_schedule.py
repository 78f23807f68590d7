"""The daily deadline recompute runs at 01:30 Beijing time."""
from datetime import datetime, timezone

from services.lifecycle.daily import next_run


def test_before_half_past_one_beijing_time_the_run_is_the_same_night():
    # 16:00 UTC on 1 March is 00:00 on 2 March in Beijing
    assert next_run(datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc)) == \
        datetime(2026, 3, 1, 17, 30, tzinfo=timezone.utc)


def test_after_the_run_time_the_next_run_is_tomorrow():
    assert next_run(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)) == \
        datetime(2026, 3, 2, 17, 30, tzinfo=timezone.utc)
    assert next_run(datetime(2026, 3, 1, 17, 30, tzinfo=timezone.utc)) == \
        datetime(2026, 3, 2, 17, 30, tzinfo=timezone.utc)
