"""The filing scope table: parsing the configurable data and checking a dossier against it."""

from datetime import date

import pytest

from services.filing_scope import EventRef, ItemRef, completeness, event_for_new_item, load, parse_table


def test_the_shipped_defaults_parse_and_ask_more_of_high_voltage_customers():
    scope = load()
    high = set(scope.required_for("high", "new_connection"))
    low = set(scope.required_for("low", "new_connection"))
    assert low < high
    assert {"drawing_review", "dispatch_agreement"} <= high - low
    assert scope.suggest_doc_type("usage_inspection") == "inspection_record"
    assert scope.suggest_doc_type("unknown_kind") == scope.default_capture_doc_type
    assert scope.business_type_of("增容") == "capacity_increase"
    assert scope.business_type_of("capacity_increase") == "capacity_increase"
    assert scope.business_type_of("装修") is None


@pytest.mark.parametrize(
    "broken, words",
    [
        ({"doc_types": {}}, "doc_types"),
        ({"doc_types": {"a": "甲"}, "business_types": {"b": "乙"}, "required": {"medium": {}}}, "voltage class"),
        (
            {"doc_types": {"a": "甲"}, "business_types": {"b": "乙"}, "required": {"high": {"x": ["a"]}}},
            "unknown business type",
        ),
        (
            {"doc_types": {"a": "甲"}, "business_types": {"b": "乙"}, "required": {"high": {"b": ["z"]}}},
            "unknown document types",
        ),
        (
            {"doc_types": {"a": "甲"}, "business_types": {"b": "乙"}, "required": {}, "base_business_type": "q"},
            "base_business_type",
        ),
    ],
)
def test_a_broken_table_is_refused_with_the_reason(broken, words):
    with pytest.raises(ValueError, match=words):
        parse_table(broken)


def test_changes_get_their_own_group_and_documents_count_where_they_were_filed():
    scope = load()
    events = [EventRef(7, "capacity_increase", date(2026, 2, 1)), EventRef(9, "备案", date(2026, 2, 2))]
    items = [ItemRef(1, "application"), ItemRef(2, "change_application", 7), ItemRef(3, "supply_contract", 7)]
    report = completeness(scope, "low", events, items)
    base, increase = report.groups
    assert base.business_type == "new_connection" and increase.event.id == 7
    assert {r.doc_type for r in base.requirements if r.present} == {"application"}  # seq 3 belongs to 增容
    assert [r.seqs for r in increase.requirements if r.doc_type == "change_application"] == [[2]]
    assert report.unknown_event_kinds == ["备案"]
    assert report.required_count == len(base.requirements) + len(increase.requirements)
    assert report.present_count == 2 and not report.complete
    assert 0 < report.percent < 100


def test_a_new_document_goes_to_the_latest_change_still_missing_it():
    scope = load()
    events = [EventRef(1, "capacity_increase", date(2025, 1, 1)), EventRef(2, "capacity_increase", date(2026, 1, 1))]
    assert event_for_new_item(scope, "low", events, [], "change_application") == 2
    filled = [ItemRef(1, "change_application", 2)]
    assert event_for_new_item(scope, "low", events, filled, "change_application") == 1
    assert event_for_new_item(scope, "low", events, filled, "application") is None
