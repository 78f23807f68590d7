"""Capture schemas: every form validates real data, old versions upgrade, unknowns are named."""

import pytest

import capture_schema
from capture_schema import CaptureInvalid, UnknownKind, UnknownVersion, get_schema, upgrade, validate_capture
from tests.helpers.device import REQUIRED_SLOTS, SAMPLE_DATA, sample_data

SHA = "a" * 64


def photos_for(kind):
    return [
        {
            "id": f"00000000-0000-4000-8000-00000000000{i}",
            "slot": slot,
            "category": category,
            "captured_at": "2026-03-02T09:25:00+08:00",
            "sha256": SHA,
            "size": 2048,
            "mime_type": "image/jpeg",
            "gps": {"latitude": 30.2, "longitude": 120.2, "accuracy_m": 4.5},
        }
        for i, (slot, category) in enumerate(REQUIRED_SLOTS[kind])
    ]


def test_the_five_field_forms_are_registered_with_chinese_labels():
    assert capture_schema.kinds() == [
        "defect_notice",
        "metering_check",
        "site_survey",
        "theft_evidence",
        "usage_inspection",
    ]
    labels = {
        kind: capture_schema.get_spec(kind, capture_schema.latest_version(kind)).label
        for kind in capture_schema.kinds()
    }
    assert labels == {
        "usage_inspection": "用电检查记录",
        "site_survey": "业扩现场勘查单",
        "metering_check": "计量装置检查",
        "defect_notice": "缺陷/隐患通知单",
        "theft_evidence": "违约用电/窃电取证",
    }


@pytest.mark.parametrize("kind,version", sorted(SAMPLE_DATA))
def test_every_form_version_accepts_realistic_data_with_its_required_photos(kind, version):
    data, photos = validate_capture(kind, version, sample_data(kind, version), photos_for(kind))
    assert len(photos) == len(REQUIRED_SLOTS[kind])
    assert get_schema(kind, version).load(sample_data(kind, version)) == data


def test_enumerations_accept_only_their_keys_and_describe_chinese_labels():
    data = sample_data("usage_inspection", 2)
    data["seal_status"] = "完好"  # the label, not the key
    with pytest.raises(CaptureInvalid) as err:
        validate_capture("usage_inspection", 2, data, photos_for("usage_inspection"))
    assert "seal_status" in err.value.fields["data"]
    described = capture_schema.describe(capture_schema.get_spec("usage_inspection", 2))
    assert described["fields"]["seal_status"]["choices"]["intact"] == "完好"
    assert described["fields"]["meter_readings"]["fields"]["total"]["label"] == "总"


@pytest.mark.parametrize(
    "kind,change,field",
    [
        ("defect_notice", {"deadline": "2026-02-01"}, "deadline"),
        ("theft_evidence", {"estimated_period_end": "2025-01-01"}, "estimated_period_end"),
        ("theft_evidence", {"witnesses": []}, "witnesses"),
        ("metering_check", {"ct_ratio_found": "150"}, "ct_ratio_found"),
        ("site_survey", {"requested_capacity_kva": 0}, "requested_capacity_kva"),
        ("usage_inspection", {"surprise": 1}, "surprise"),
    ],
)
def test_domain_rules_reject_bad_values_with_the_field_named(kind, change, field):
    version = capture_schema.latest_version(kind)
    data = {**sample_data(kind, version), **change}
    with pytest.raises(CaptureInvalid) as err:
        validate_capture(kind, version, data, photos_for(kind))
    assert field in err.value.fields["data"]


def test_photo_metadata_is_checked_slot_by_slot():
    photos = photos_for("defect_notice")
    photos[0]["sha256"] = "XYZ"
    photos[1]["category"] = "selfie"
    photos[1]["gps"] = {"latitude": 95, "longitude": 120}
    with pytest.raises(CaptureInvalid) as err:
        validate_capture("defect_notice", 1, sample_data("defect_notice", 1), photos)
    errors = err.value.fields["photos"]
    assert "sha256" in errors["0"] and "category" in errors["1"] and "gps" in errors["1"]


def test_a_missing_required_slot_is_named():
    with pytest.raises(CaptureInvalid) as err:
        validate_capture("defect_notice", 1, sample_data("defect_notice", 1), photos_for("defect_notice")[:1])
    assert "customer_signature" in err.value.fields["photos"]["_slots"][0]


def test_unknown_kind_and_version_raise_errors_that_name_them():
    with pytest.raises(UnknownKind) as kind_err:
        get_schema("meter_selfie", 1)
    assert "meter_selfie" in str(kind_err.value) and "usage_inspection" in kind_err.value.details["known_kinds"]
    with pytest.raises(UnknownVersion) as version_err:
        get_schema("usage_inspection", 3)
    assert version_err.value.details == {"kind": "usage_inspection", "version": 3, "known_versions": [1, 2]}
    with pytest.raises(UnknownVersion):
        get_schema("usage_inspection", True)


def test_version_one_inspection_upgrades_to_the_latest_version_and_validates_there():
    old = sample_data("usage_inspection", 1)
    version, new = upgrade("usage_inspection", 1, old)
    assert version == capture_schema.latest_version("usage_inspection") == 2
    assert new["meter_readings"]["total"] == old["meter_reading"]
    assert new["seal_status"] == "intact" and new["wiring_status"] == "wrong"
    assert new["defects"] == old["defects"]
    get_schema("usage_inspection", 2).load(new)  # the upgraded record is a valid current record


def test_latest_versions_upgrade_to_themselves():
    for kind in capture_schema.kinds():
        latest = capture_schema.latest_version(kind)
        data = sample_data(kind, latest)
        assert upgrade(kind, latest, data) == (latest, data)


def test_fingerprints_change_only_when_a_descriptor_changes():
    spec = capture_schema.get_spec("site_survey", 1)
    assert capture_schema.fingerprint(spec) == capture_schema.fingerprint(spec)
    assert capture_schema.fingerprint(spec) != capture_schema.fingerprint(capture_schema.get_spec("metering_check", 1))
