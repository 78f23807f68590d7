"""Dossier API: search, one dossier with its 卷内目录 and completeness, index PDF, filing scope table."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from models.database import db
from server.auth import current_actor, require
from server.masking import mask_id_number, mask_phone
from services import dossier_print, dossiers, filing_scope
from services.ports_access import ports

blp = Blueprint(
    "dossiers_api",
    __name__,
    url_prefix="/api/v1",
    description="Customer dossiers: index (卷内目录), completeness, filing scope table",
)


class SearchQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))


class DossierHit(Schema):
    account_no = fields.String(attribute="customer.account_no")
    name = fields.String(attribute="customer.name")
    voltage_class = fields.String(attribute="customer.voltage_class")
    address = fields.String(attribute="customer.address", allow_none=True)
    district = fields.String(attribute="customer.district", allow_none=True)
    archive_no = fields.String(allow_none=True)
    items = fields.Integer()
    incoming = fields.Integer()


class ItemOut(Schema):
    seq = fields.Integer(attribute="item.seq")
    title = fields.String(attribute="item.title")
    doc_type = fields.String(attribute="item.doc_type")
    doc_label = fields.String()
    doc_date = fields.Date(attribute="item.doc_date", allow_none=True)
    pages = fields.Integer(attribute="item.pages", allow_none=True)
    page_from = fields.Integer(allow_none=True, metadata={"description": "页号: first page in the volume"})
    page_to = fields.Integer(allow_none=True, metadata={"description": "页号: last page in the volume"})
    scan_id = fields.Function(lambda r: (r["item"].extra or {}).get("scan_id"), allow_none=True)
    source = fields.String(attribute="item.source")
    capture_id = fields.String(attribute="item.capture_id", allow_none=True)
    business_event_id = fields.Integer(attribute="item.business_event_id", allow_none=True)
    filed_at = fields.DateTime(attribute="item.filed_at")
    filed_by = fields.String(allow_none=True)
    record_state = fields.String(metadata={"enum": ["kept", "destroyed"]})


class EventOut(Schema):
    id = fields.Integer(attribute="event.id")
    kind = fields.String(attribute="event.kind")
    label = fields.String()
    occurred_on = fields.Date(attribute="event.occurred_on")
    reference = fields.String(attribute="event.reference", allow_none=True)


class RequirementOut(Schema):
    doc_type = fields.String()
    label = fields.String()
    present = fields.Boolean()
    seqs = fields.List(fields.Integer())


class GroupOut(Schema):
    business_type = fields.String()
    label = fields.String()
    business_event_id = fields.Function(lambda g: g.event.id if g.event else None, allow_none=True)
    requirements = fields.List(fields.Nested(RequirementOut))


class CompletenessOut(Schema):
    voltage_class = fields.String()
    complete = fields.Boolean()
    percent = fields.Integer()
    required_count = fields.Integer()
    present_count = fields.Integer()
    groups = fields.List(fields.Nested(GroupOut))
    missing = fields.Function(lambda r: [m.doc_type for g in r.groups for m in g.missing])


class DossierOut(Schema):
    account_no = fields.String(attribute="customer.account_no")
    name = fields.String(attribute="customer.name")
    voltage_class = fields.String(attribute="customer.voltage_class")
    usage_category = fields.String(attribute="customer.usage_category")
    status = fields.String(attribute="customer.status")
    phone_masked = fields.Function(lambda v: mask_phone(v["customer"].phone))
    id_number_masked = fields.Function(lambda v: mask_id_number(v["customer"].id_number))
    archive_no = fields.String(attribute="dossier.archive_no")
    box = fields.Dict(allow_none=True)
    items = fields.List(fields.Nested(ItemOut))
    events = fields.List(fields.Nested(EventOut))
    completeness = fields.Nested(CompletenessOut)
    destroyed = fields.Dict(
        allow_none=True,
        metadata={"description": "set once the dossier was destroyed: record_id, destroyed_on, text (已销毁…)"},
    )


class ScopeOut(Schema):
    title = fields.String()
    doc_types = fields.Dict(keys=fields.String(), values=fields.String())
    business_types = fields.Dict(keys=fields.String(), values=fields.String())
    base_business_type = fields.String()
    required = fields.Dict()
    capture_kinds = fields.Dict()


@blp.route("/dossiers")
class Search(MethodView):
    @blp.arguments(SearchQuery, location="query")
    @blp.response(200, DossierHit(many=True))
    @require("dossier.read")
    def get(self, args):
        """Find dossiers by 户号, 户名, address, meter number or archive number."""
        return dossiers.search(db.session, args["q"])


@blp.route("/dossiers/<account_no>")
class Dossier(MethodView):
    @blp.response(200, DossierOut)
    @blp.alt_response(404, description="customer.unknown")
    @require("dossier.read")
    def get(self, account_no):
        """One dossier: header, 卷内目录 in order, business events, completeness (audited)."""
        view = dossiers.dossier_view(db.session, current_actor(), account_no, ports().clock.now())
        return view


@blp.route("/dossiers/<account_no>/index.pdf")
class IndexPdf(MethodView):
    @blp.response(200, description="The 卷内目录 as PDF", content_type="application/pdf")
    @blp.alt_response(404, description="customer.unknown")
    @require("dossier.read")
    def get(self, account_no):
        """The printable 卷内目录 (PDF with CJK fonts)."""
        pdf = dossier_print.index_pdf_for(db.session, current_actor(), account_no, ports().clock.now())
        return Response(pdf, mimetype="application/pdf")


@blp.route("/filing-scope")
class Scope(MethodView):
    @blp.response(200, ScopeOut)
    @require("filing_scope.read")
    def get(self):
        """The filing scope table in force (客户档案归档范围表)."""
        return filing_scope.current()
