"""Working-day deadlines on the Chinese statutory calendar (holidays and adjusted working weekends)."""

from datetime import date, timedelta

import chinese_calendar
import pytest
from chinese_calendar.constants import holidays, workdays

from core import errors
from services.lifecycle import working_days
from services.lifecycle.obligations import due_date, state_for


def _naive_weekdays_after(start: date, n: int) -> date:
    day = start
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def test_the_package_data_this_test_relies_on():
    # Spring Festival 2026: 15–23 February off, Saturdays 14 and 28 February worked (调休)
    assert all(date(2026, 2, d) in holidays for d in range(15, 24))
    assert date(2026, 2, 14) in workdays and date(2026, 2, 28) in workdays
    assert date(2026, 2, 14).weekday() == 5 and date(2026, 2, 28).weekday() == 5
    # National Day 2025: Sunday 28 September and Saturday 11 October worked, 1–8 October off
    assert date(2025, 9, 28) in workdays and date(2025, 10, 11) in workdays
    assert all(date(2025, 10, d) in holidays for d in range(1, 9))


def test_deadline_across_the_spring_festival_counts_the_adjusted_saturday_and_skips_the_holiday():
    start = date(2026, 2, 13)  # Friday before the holiday
    assert working_days.add_working_days(start, 1) == date(2026, 2, 14)  # adjusted working Saturday
    assert working_days.add_working_days(start, 2) == date(2026, 2, 24)  # first day after the holiday
    assert working_days.add_working_days(start, 6) == date(2026, 2, 28)  # the second adjusted Saturday
    assert working_days.add_working_days(start, 7) == date(2026, 3, 2)


def test_contract_signed_before_spring_festival_is_due_30_working_days_later_not_30_weekdays():
    start = date(2026, 2, 2)
    due = working_days.add_working_days(start, 30)
    # count again day by day with the package itself
    counted = sum(1 for n in range(1, (due - start).days + 1) if chinese_calendar.is_workday(start + timedelta(days=n)))
    assert counted == 30 and chinese_calendar.is_workday(due)
    assert due != _naive_weekdays_after(start, 30)
    # by hand: 3–6 Feb (4), 9–13 Feb (9), Sat 14 Feb (10), 24–27 Feb (14), Sat 28 Feb (15),
    # 2–6 Mar (20), 9–13 Mar (25), 16–20 Mar (30)
    assert due == date(2026, 3, 20)


def test_deadline_across_an_adjusted_working_sunday_and_the_national_day_week():
    start = date(2025, 9, 26)  # Friday
    assert working_days.add_working_days(start, 1) == date(2025, 9, 28)  # Sunday worked
    assert working_days.add_working_days(start, 4) == date(2025, 10, 9)  # 1–8 October off
    assert working_days.add_working_days(start, 6) == date(2025, 10, 11)  # Saturday worked
    assert working_days.day_kind(date(2025, 9, 28)) == "adjusted_workday"
    assert working_days.day_kind(date(2025, 10, 1)) == "holiday"
    assert working_days.day_kind(date(2025, 9, 27)) == "weekend"


def test_dispute_ended_ten_working_days():
    # 28, 29, 30 Sep; 9, 10, 11 (Saturday worked), 13, 14, 15, 16 Oct
    assert working_days.add_working_days(date(2025, 9, 26), 10) == date(2025, 10, 16)


def test_a_date_before_the_calendar_coverage_is_an_explicit_error_not_a_guess():
    with pytest.raises(errors.DomainError) as before:
        working_days.is_working_day(date(working_days.FIRST_YEAR - 1, 6, 1))
    assert before.value.code == "calendar.out_of_coverage"


def test_years_after_the_package_count_statutory_holidays_and_are_provisional():
    last = working_days.LAST_YEAR
    due = working_days.DEFAULT.due(date(last, 12, 10), 30)
    assert due.provisional is True
    assert working_days.DEFAULT.basis(last + 1) == working_days.PROVISIONAL
    assert working_days.day_kind(date(last + 1, 1, 1)) == "holiday"  # 元旦 of the national rules
    assert working_days.day_kind(date(last + 1, 10, 1)) == "holiday"  # 国庆节
    # within the package's years nothing is provisional
    assert working_days.DEFAULT.due(date(last, 3, 2), 15).provisional is False


def test_no_deadline_of_the_next_two_years_is_left_uncomputed():
    for year in (working_days.LAST_YEAR + 1, working_days.LAST_YEAR + 2):
        for month in range(1, 13):
            due, reason, provisional = due_date(date(year, month, 15), 30)
            assert due is not None and reason is None and provisional is True


def test_a_loaded_arrangement_wins_over_the_provisional_rules():
    year = working_days.LAST_YEAR + 1
    arrangement = working_days.Arrangement(
        year=year,
        holidays=frozenset({date(year, 1, 1), date(year, 1, 4)}),
        workdays=frozenset(),
        document_no="测试〔1〕号",
        published_on=date(year - 1, 11, 20),
    )
    calendar = working_days.WorkingCalendar([arrangement])
    assert calendar.basis(year) == working_days.LOADED
    assert calendar.day_kind(date(year, 1, 4)) == "holiday"
    assert calendar.day_kind(date(year, 10, 1)) != "holiday" or date(year, 10, 1).weekday() >= 5
    assert calendar.due(date(year - 1, 12, 31), 1).provisional is False


@pytest.mark.parametrize("days", [0, -1, 367])
def test_working_day_counts_outside_1_to_366_are_refused(days):
    with pytest.raises(errors.DomainError) as caught:
        working_days.add_working_days(date(2026, 3, 2), days)
    assert caught.value.code == "lifecycle.bad_working_days"


def test_calendar_info_names_the_package_and_its_years():
    info = working_days.calendar_info()
    assert info["package"] == "chinesecalendar" and info["version"]
    assert info["first_year"] == min(holidays).year and info["last_year"] == max(holidays).year


def test_working_days_between_counts_the_end_not_the_start():
    assert working_days.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert working_days.working_days_between(date(2026, 2, 24), date(2026, 2, 13)) == -2


def test_obligation_states_follow_the_due_date():
    due = date(2026, 3, 16)
    assert state_for(due, None, date(2026, 3, 17), 5) == "overdue"
    assert state_for(due, None, date(2026, 3, 12), 5) == "due_soon"
    assert state_for(due, None, date(2026, 3, 2), 5) == "open"
    assert state_for(due, date(2026, 3, 16), date(2026, 3, 20), 5) == "met"
    assert state_for(due, date(2026, 3, 17), date(2026, 3, 20), 5) == "met_late"
    assert state_for(None, None, date(2026, 3, 2), 5) == "no_calendar"
