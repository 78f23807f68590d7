"""Eligibility for destruction: exactly 5 years (high voltage) or 3 years (low voltage) after closing."""

from datetime import date, timedelta

from services.lifecycle.retention import eligibility_date, is_eligible
from services.lifecycle.settings import LifecycleSettings, settings_from

RULES = LifecycleSettings()


def test_high_voltage_becomes_eligible_on_the_fifth_anniversary_and_not_a_day_earlier():
    closed = date(2021, 3, 2)
    assert eligibility_date(closed, 5) == date(2026, 3, 2)
    assert not is_eligible(closed, "high", date(2026, 3, 1), RULES)
    assert is_eligible(closed, "high", date(2026, 3, 2), RULES)


def test_low_voltage_becomes_eligible_on_the_third_anniversary_and_not_a_day_earlier():
    closed = date(2023, 3, 2)
    assert not is_eligible(closed, "low", date(2026, 3, 2) - timedelta(days=1), RULES)
    assert is_eligible(closed, "low", date(2026, 3, 2), RULES)
    assert not is_eligible(closed, "high", date(2026, 3, 2), RULES)  # the same date is too early for high voltage


def test_closing_on_29_february_ends_after_28_february():
    assert eligibility_date(date(2024, 2, 29), 3) == date(2027, 3, 1)
    assert eligibility_date(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_retention_periods_are_configuration():
    rules = settings_from({"RETENTION_YEARS_HIGH": 10, "RETENTION_YEARS_LOW": 4})
    assert rules.retention_years == {"high": 10, "low": 4}
    assert not is_eligible(date(2020, 1, 1), "low", date(2023, 12, 31), rules)
    assert is_eligible(date(2020, 1, 1), "low", date(2024, 1, 1), rules)
