"""缺陷/隐患通知单 defect notice handed to the customer, with the customer's signature photo."""

from marshmallow import Schema, fields, validates_schema

from capture_schema.base import SEVERITIES, FormSpec, Slot, choice, date_not_before, labelled, text

KIND = "defect_notice"


class DefectNoticeV1(Schema):
    """A defect or hazard, how serious it is and by when the customer must fix it."""

    notice_no = text("通知单编号", 40, required=True)
    issued_at = labelled(fields.AwareDateTime(required=True), "下达时间")
    defect = text("缺陷/隐患内容", 1000, required=True)
    location = text("部位", 200, load_default=None, allow_none=True)
    severity = choice(SEVERITIES, "严重程度", required=True)
    deadline = labelled(fields.Date(required=True), "整改期限")
    rectification_advice = text("整改意见", 2000, load_default="")
    customer_signed = labelled(fields.Boolean(required=True), "客户已签收")
    customer_signatory = text("签收人", 64, load_default=None, allow_none=True)

    # (later, earlier): published to tablets with the schema, checked here
    DATE_ORDER = (("deadline", "issued_at"),)

    @validates_schema
    def _deadline_after_issue(self, data, **_kwargs):
        for later, earlier in self.DATE_ORDER:
            date_not_before(data, later, earlier)


SPECS = (
    FormSpec(
        KIND,
        1,
        "缺陷/隐患通知单",
        DefectNoticeV1,
        (
            Slot("defect", "缺陷部位", "scene", required=True),
            Slot("customer_signature", "客户签收", "document", required=True),
        ),
    ),
)
