"""计量装置检查 metering check: what is installed, compared with the dossier."""

from marshmallow import Schema, fields, validate

from capture_schema.base import RATIO, FormSpec, Slot, choice, labelled, text

KIND = "metering_check"
RESULTS = {"normal": "正常", "abnormal": "异常"}


def ratio(label: str, **kwargs) -> fields.Field:
    """A CT/PT ratio such as 200/5."""
    return labelled(fields.String(validate=validate.Regexp(RATIO, error="not a ratio like 200/5"), **kwargs), label)


class MeteringCheckV1(Schema):
    """Meter number and transformer ratios found on site next to those on file; seal numbers."""

    checked_at = labelled(fields.AwareDateTime(required=True), "检查时间")
    meter_number = text("电能表表号（现场）", 40, required=True)
    meter_number_on_file = text("电能表表号（档案）", 40, load_default=None, allow_none=True)
    ct_ratio_found = ratio("电流互感器变比（现场）", load_default=None, allow_none=True)
    ct_ratio_on_file = ratio("电流互感器变比（档案）", load_default=None, allow_none=True)
    pt_ratio_found = ratio("电压互感器变比（现场）", load_default=None, allow_none=True)
    pt_ratio_on_file = ratio("电压互感器变比（档案）", load_default=None, allow_none=True)
    seal_numbers = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"label": "封印编号"},
    )
    seals_intact = labelled(fields.Boolean(required=True), "封印完好")
    meter_reading = labelled(
        fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0)), "电能表示数"
    )
    error_percent = labelled(
        fields.Float(load_default=None, allow_none=True, validate=validate.Range(-100, 100)), "误差（%）"
    )
    result = choice(RESULTS, "检查结论", required=True)
    notes = text("备注", 2000, load_default="")


SPECS = (
    FormSpec(
        KIND,
        1,
        "计量装置检查",
        MeteringCheckV1,
        (
            Slot("meter", "电能表", "meter", required=True),
            Slot("nameplate", "互感器铭牌", "nameplate"),
            Slot("seal", "封印", "seal"),
            Slot("wiring", "二次接线", "wiring"),
            Slot("transformer", "互感器", "transformer"),
        ),
    ),
)
