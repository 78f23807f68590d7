"""用电检查记录 usage inspection record: version 1 (first tablets) and version 2 (current)."""

from marshmallow import Schema, fields, validate

from capture_schema.base import DefectSchema, FormSpec, Slot, choice, labelled, text

KIND = "usage_inspection"
LABEL = "用电检查记录"
INSPECTION_TYPES = {"periodic": "定期检查", "special": "专项检查", "ad_hoc": "临时检查"}
SEAL_STATUSES = {"intact": "完好", "broken": "破损", "missing": "缺失", "replaced": "已更换"}
WIRING_STATUSES = {"correct": "正确", "wrong": "错误", "suspicious": "可疑"}

SLOTS = (
    Slot("meter", "电能表照片", "meter", required=True),
    Slot("seal", "封印照片", "seal"),
    Slot("wiring", "接线照片", "wiring"),
    Slot("scene", "现场照片", "scene"),
)


class UsageInspectionV1(Schema):
    """Version 1: one meter reading, seal and wiring as yes/no."""

    inspected_at = labelled(fields.AwareDateTime(required=True), "检查时间")
    customer_present = labelled(fields.Boolean(load_default=False), "客户在场")
    meter_number = text("电能表表号", 40, required=True)
    meter_reading = labelled(fields.Float(required=True, validate=validate.Range(min=0)), "电能表示数")
    seal_ok = labelled(fields.Boolean(required=True), "封印完好")
    wiring_ok = labelled(fields.Boolean(required=True), "接线正确")
    findings = text("检查情况", 2000, load_default="")
    defects = fields.List(fields.Nested(DefectSchema), load_default=list, metadata={"label": "缺陷"})


class MeterReadingsSchema(Schema):
    """Register readings of a multi-tariff meter (kWh)."""

    total = labelled(fields.Float(required=True, validate=validate.Range(min=0)), "总")
    peak = labelled(fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0)), "峰")
    flat = labelled(fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0)), "平")
    valley = labelled(fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0)), "谷")


class UsageInspectionV2(Schema):
    """Version 2: inspection type, multi-register readings, seal numbers, graded seal/wiring status."""

    inspected_at = labelled(fields.AwareDateTime(required=True), "检查时间")
    inspection_type = choice(INSPECTION_TYPES, "检查类型", load_default=None, allow_none=True)
    customer_present = labelled(fields.Boolean(load_default=False), "客户在场")
    meter_number = text("电能表表号", 40, required=True)
    meter_readings = fields.Nested(MeterReadingsSchema, required=True, metadata={"label": "电能表示数"})
    seal_status = choice(SEAL_STATUSES, "封印状态", required=True)
    seal_numbers = fields.List(
        fields.String(validate=validate.Length(max=40)), load_default=list, metadata={"label": "封印编号"}
    )
    wiring_status = choice(WIRING_STATUSES, "接线状态", required=True)
    findings = text("检查情况", 2000, load_default="")
    defects = fields.List(fields.Nested(DefectSchema), load_default=list, metadata={"label": "缺陷"})
    customer_signed = labelled(fields.Boolean(load_default=False), "客户已签字")


def v1_to_v2(data: dict) -> dict:
    """Map a version-1 record to version 2 without inventing facts (unknowns stay empty)."""
    out = {k: v for k, v in data.items() if k not in ("meter_reading", "seal_ok", "wiring_ok")}
    out["inspection_type"] = None
    out["meter_readings"] = {"total": data["meter_reading"], "peak": None, "flat": None, "valley": None}
    out["seal_status"] = "intact" if data["seal_ok"] else "broken"
    out["seal_numbers"] = []
    out["wiring_status"] = "correct" if data["wiring_ok"] else "wrong"
    out["customer_signed"] = False
    return out


SPECS = (
    FormSpec(
        KIND,
        1,
        LABEL,
        UsageInspectionV1,
        SLOTS,
        v1_to_v2,
        notes="seal_ok/wiring_ok 为是/否；升级后 false 记为 破损/错误",
    ),
    FormSpec(KIND, 2, LABEL, UsageInspectionV2, SLOTS),
)
