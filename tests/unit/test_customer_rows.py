"""Pure validation of master-data rows."""

import pytest

from core.errors import CATALOGUE, DomainError
from services.customers import RowError, check_account_no, clean_row

ROW = {"account_no": "3100012345", "name": "甲", "voltage_class": "高压", "usage_category": "大工业"}


def test_labels_and_keys_are_both_accepted():
    assert clean_row(ROW)["usage_category"] == "large_industrial"
    assert clean_row(ROW | {"voltage_class": "low", "usage_category": "residential"})["voltage_class"] == "low"


@pytest.mark.parametrize(
    "field,value",
    [
        ("account_no", "31000-1"),
        ("latitude", "north"),
        ("capacity_kva", "-5"),
        ("ct_ratio", "5"),
        ("closed_on", "2024-13-01"),
        ("source_count", "two"),
    ],
)
def test_invalid_values_name_their_field(field, value):
    with pytest.raises(RowError) as info:
        clean_row(ROW | {field: value})
    assert info.value.field == field


def test_closed_account_needs_a_closing_date():
    with pytest.raises(RowError) as info:
        clean_row(ROW | {"status": "已销户"})
    assert info.value.field == "closed_on"
    assert clean_row(ROW | {"status": "已销户", "closed_on": "2021/06/30"})["closed_on"].year == 2021


def test_invalid_account_number_is_a_catalogued_error():
    with pytest.raises(DomainError) as info:
        check_account_no("abc")
    assert info.value.code == "customer.invalid_account_no" and info.value.status == 400


def test_error_codes_are_unique_and_statuses_are_http():
    assert all(100 <= p.status < 600 for p in CATALOGUE.values())
    assert all(code == p.code for code, p in CATALOGUE.items())
