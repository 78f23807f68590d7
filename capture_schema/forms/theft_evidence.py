"""违约用电/窃电取证 breach or theft evidence record."""

from marshmallow import Schema, fields, validate, validates_schema

from capture_schema.base import FormSpec, Slot, choice, date_not_before, labelled, text

KIND = "theft_evidence"
BREACH_TYPES = {
    "theft_bypass": "绕越计量装置窃电",
    "theft_meter_tamper": "损坏或伪造计量装置窃电",
    "theft_seal": "伪造或开启封印窃电",
    "theft_other": "其他窃电行为",
    "breach_capacity": "擅自超合同容量用电",
    "breach_category": "擅自改变用电类别",
    "breach_transfer": "擅自转供电",
    "breach_other": "其他违约用电",
}
WITNESS_ROLES = {"customer": "客户", "inspector": "检查人员", "police": "公安", "third_party": "第三方"}


class WitnessSchema(Schema):
    """A person who witnessed the evidence being taken."""

    name = text("姓名", 64, required=True)
    role = choice(WITNESS_ROLES, "身份", required=True)
    phone = text("联系电话", 32, load_default=None, allow_none=True)
    id_number = text("证件号码", 32, load_default=None, allow_none=True)


class TheftEvidenceV1(Schema):
    """What was found, the estimated period of the breach and who witnessed it."""

    found_at = labelled(fields.AwareDateTime(required=True), "发现时间")
    breach_type = choice(BREACH_TYPES, "类型", required=True)
    description = text("现场情况", 4000, required=True)
    estimated_period_start = labelled(fields.Date(required=True), "估计起始日期")
    estimated_period_end = labelled(fields.Date(required=True), "估计终止日期")
    estimated_energy_kwh = labelled(
        fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0)), "估计电量（kWh）"
    )
    witnesses = fields.List(
        fields.Nested(WitnessSchema), required=True, validate=validate.Length(min=1), metadata={"label": "见证人"}
    )
    measures_taken = text("已采取措施", 1000, load_default="")

    # (later, earlier): published to tablets with the schema, checked here
    DATE_ORDER = (("estimated_period_end", "estimated_period_start"), ("found_at", "estimated_period_start"))

    @validates_schema
    def _period_in_order(self, data, **_kwargs):
        for later, earlier in self.DATE_ORDER:
            date_not_before(data, later, earlier)


SPECS = (
    FormSpec(
        KIND,
        1,
        "违约用电/窃电取证",
        TheftEvidenceV1,
        (
            Slot("scene", "现场", "scene", required=True),
            Slot("meter", "计量装置", "meter"),
            Slot("seal", "封印", "seal"),
            Slot("wiring", "接线", "wiring"),
            Slot("document", "文书", "document"),
        ),
    ),
)
