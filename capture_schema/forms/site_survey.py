"""业扩现场勘查单 new-connection site survey."""

from marshmallow import Schema, fields, validate

from capture_schema.base import FormSpec, Slot, choice, labelled, text

KIND = "site_survey"
SUPPLY_VOLTAGES = {"220V": "220V", "380V": "380V", "10kV": "10kV", "20kV": "20kV", "35kV": "35kV", "110kV": "110kV"}
METERING_METHODS = {"hv_hv": "高供高计", "hv_lv": "高供低计", "lv_lv": "低供低计"}


class SiteSurveyV1(Schema):
    """Requested capacity, proposed supply point and metering, as found on site."""

    surveyed_at = labelled(fields.AwareDateTime(required=True), "勘查时间")
    application_no = text("业务申请编号", 40, required=True)
    requested_capacity_kva = labelled(
        fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False)), "申请容量（kVA）"
    )
    supply_voltage = choice(SUPPLY_VOLTAGES, "供电电压", required=True)
    supply_point = text("供电电源点", 200, required=True)
    supply_line = text("供电线路", 100, load_default=None, allow_none=True)
    property_boundary = text("产权分界点", 200, load_default=None, allow_none=True)
    proposed_metering_method = choice(METERING_METHODS, "拟定计量方式", required=True)
    proposed_meter_location = text("拟定计量装置位置", 200, load_default=None, allow_none=True)
    transformer_needed = labelled(fields.Boolean(load_default=False), "需新装变压器")
    notes = text("勘查意见", 2000, load_default="")


SPECS = (
    FormSpec(
        KIND,
        1,
        "业扩现场勘查单",
        SiteSurveyV1,
        (
            Slot("site", "现场全景", "scene", required=True),
            Slot("supply_point", "电源点", "scene"),
            Slot("transformer", "变压器/配电设施", "transformer"),
            Slot("document", "申请资料", "document"),
        ),
    ),
)
