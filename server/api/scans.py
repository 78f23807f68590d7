"""Scanned paper documents API: intake into a customer's dossier, quality flags, filing, files."""

from __future__ import annotations

from flask import Response, current_app, g, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from models.database import db
from server.auth import current_actor, require
from services import dossiers, scans
from services.lifecycle.settings import settings_from
from services.ports_access import ports

blp = Blueprint(
    "scans_api",
    __name__,
    url_prefix="/api/v1",
    description="Scanned paper documents (电子扫描归档): intake, DA/T 31 quality, filing",
)


class IntakeForm(Schema):
    doc_type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "document type code from the filing scope table"},
    )
    doc_date = fields.Date(load_default=None, metadata={"description": "文件日期 (YYYY-MM-DD)"})
    business_event_id = fields.Integer(
        load_default=None, metadata={"description": "the customer's business event the document belongs to"}
    )
    pages = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=10000),
        metadata={"description": "page count written on the paper original (checked against the file)"},
    )
    title = fields.String(load_default=None, validate=validate.Length(max=300))
    note = fields.String(load_default=None, validate=validate.Length(max=2000))
    # the files travel in the same multipart body; they are read from ``request.files``
    files = fields.List(
        Upload(),
        load_default=None,
        metadata={"description": "one or more PDF, TIFF, JPEG or PNG files (field repeated)"},
    )


class PageOut(Schema):
    page = fields.Integer()
    dpi = fields.Float(allow_none=True)
    mode = fields.String()
    width = fields.Integer()
    height = fields.Integer()


class ScanOut(Schema):
    id = fields.String(attribute="scan.id")
    filename = fields.String(attribute="scan.filename")
    file_format = fields.String(attribute="scan.file_format")
    size = fields.Integer(attribute="scan.size")
    sha256 = fields.String(attribute="scan.sha256")
    sm3 = fields.Function(lambda r: r["evidence"].sm3 if r["evidence"] else None, allow_none=True)
    doc_type = fields.String(attribute="scan.doc_type")
    doc_label = fields.String()
    title = fields.String(attribute="scan.title")
    doc_date = fields.Date(attribute="scan.doc_date", allow_none=True)
    business_event_id = fields.Integer(attribute="scan.business_event_id", allow_none=True)
    note = fields.String(attribute="scan.note", allow_none=True)
    declared_pages = fields.Integer(attribute="scan.declared_pages", allow_none=True)
    pages = fields.Integer(attribute="scan.pages")
    min_dpi = fields.Float(attribute="scan.min_dpi", allow_none=True)
    colour_modes = fields.List(fields.String(), attribute="scan.colour_modes")
    page_quality = fields.List(fields.Nested(PageOut), attribute="scan.quality")
    flags = fields.List(fields.String(), attribute="scan.flags")
    flag_labels = fields.List(fields.String())
    source = fields.String(attribute="scan.source")
    state = fields.String(attribute="scan.state")
    evidence_no = fields.Function(lambda r: r["evidence"].evidence_no if r["evidence"] else None, allow_none=True)
    tsa_status = fields.Function(lambda r: r["evidence"].tsa_status if r["evidence"] else "pending")
    log_leaf_index = fields.Function(
        lambda r: r["evidence"].stamped_leaf_index if r["evidence"] else None, allow_none=True
    )
    received_at = fields.DateTime(attribute="scan.received_at")
    filed = fields.Function(lambda r: r["item"] is not None)
    seq = fields.Function(lambda r: r["item"].seq if r["item"] else None, allow_none=True)
    page_from = fields.Integer(allow_none=True)
    page_to = fields.Integer(allow_none=True)
    filed_at = fields.DateTime(attribute="scan.filed_at", allow_none=True)


class LegalScanOut(ScanOut):
    account_no = fields.String()
    customer_name = fields.String()


class LegalScanPage(Schema):
    items = fields.List(fields.Nested(LegalScanOut))
    next_cursor = fields.String(allow_none=True)


class LegalScanQuery(Schema):
    account_no = fields.String(load_default=None, validate=validate.Length(max=32))
    doc_type = fields.String(load_default=None, validate=validate.Length(max=60))
    date_from = fields.Date(load_default=None, metadata={"description": "文件日期 from (inclusive)"})
    date_to = fields.Date(load_default=None, metadata={"description": "文件日期 to (inclusive)"})
    flag = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={"description": "low_resolution, resolution_unknown or page_count_mismatch"},
    )
    filed = fields.Boolean(load_default=None)
    limit = fields.Integer(load_default=25, validate=validate.Range(1, scans.LEGAL_MAX_LIMIT))
    cursor = fields.String(load_default=None, validate=validate.Length(max=400))


class IntakeOut(Schema):
    scans = fields.List(fields.Nested(ScanOut))
    created = fields.Integer(metadata={"description": "how many files were new (the others were kept already)"})


class FiledOut(Schema):
    scan = fields.Nested(ScanOut)
    box = fields.Dict(allow_none=True)


def _rows(scan_list):
    return scans.view_rows(db.session, scan_list)


@blp.route("/dossiers/<account_no>/scans")
class ScanList(MethodView):
    @blp.response(200, ScanOut(many=True))
    @blp.alt_response(404, description="customer.unknown")
    @require("dossier.read")
    def get(self, account_no):
        """The customer's scans: unfiled first (with their quality flags), then the filed ones."""
        customer = dossiers.customer_by_account(db.session, account_no)
        return _rows(scans.scans_of(db.session, customer.id))

    @blp.arguments(IntakeForm, location="form", content_type="multipart/form-data")
    @blp.response(201, IntakeOut)
    @blp.alt_response(
        400, description="scan.no_file, scan.unreadable, scan.unknown_doc_type, dossier.unknown_business_event"
    )
    @blp.alt_response(404, description="customer.unknown")
    @blp.alt_response(413, description="scan.too_large")
    @require("dossier.edit")
    def post(self, form, account_no):
        """Upload one or many scan files (multipart field ``files``) with one description.

        The bytes are kept as sent; pages, resolution and colour mode are read at once and the
        quality flags returned; stamping (SM3, RFC 3161 token, evidence log) follows in the
        background. Sending the same bytes again returns the existing scan (``created`` counts new ones).
        """
        files = [(upload.filename, upload.read()) for upload in request.files.getlist("files")]
        request_ = scans.ScanRequest(
            doc_type=form["doc_type"],
            doc_date=form["doc_date"],
            business_event_id=form["business_event_id"],
            declared_pages=form["pages"],
            note=form["note"],
            title=form["title"],
        )
        done = scans.intake_many(
            db.session,
            current_actor(),
            g.user.id,
            account_no,
            files,
            request_,
            ports().clock.now(),
            ports().blobs,
            max_bytes=scans.max_scan_bytes(current_app.config),
        )
        return {"scans": _rows([d.scan for d in done]), "created": sum(1 for d in done if d.created)}


@blp.route("/dossiers/<account_no>/scans/<scan_id>")
class ScanOne(MethodView):
    @blp.response(200, ScanOut)
    @blp.alt_response(404, description="scan.unknown")
    @require("dossier.read")
    def get(self, account_no, scan_id):
        """One scan: quality per page, evidence state, filing."""
        return _rows([scans.get_scan(db.session, scan_id, account_no)])[0]


@blp.route("/dossiers/<account_no>/scans/<scan_id>/file")
class FileScan(MethodView):
    @blp.response(201, FiledOut)
    @blp.alt_response(404, description="scan.unknown")
    @blp.alt_response(409, description="scan.already_filed, scan.integrity_failed")
    @require("dossier.edit")
    def post(self, account_no, scan_id):
        """File the scan into the 卷内目录 (next 序号, 页号 range); box position and obligations update."""
        scans.file_scan(
            db.session,
            current_actor(),
            g.user.id,
            scan_id,
            ports().clock.now(),
            settings_from(current_app.config),
            account_no,
        )
        scan = scans.get_scan(db.session, scan_id, account_no)
        return {"scan": _rows([scan])[0], "box": dossiers.box_location(db.session, scan.customer_id)}


@blp.route("/dossiers/<account_no>/scans/<scan_id>/<variant>")
class ScanBytes(MethodView):
    @blp.response(200, description="The original bytes, or a JPEG thumbnail/preview of the first page")
    @blp.alt_response(404, description="scan.unknown, scan.preview_missing")
    @require("dossier.read")
    def get(self, account_no, scan_id, variant):
        """Stream ``original`` (audited), or the first-page ``thumbnail`` or ``preview`` (JPEG)."""
        opened = scans.open_variant(
            db.session, current_actor(), ports().blobs, account_no, scan_id, variant, ports().clock.now()
        )
        response = Response(stream_with_context(_chunks(opened.stream)), mimetype=opened.mime_type)
        response.headers["ETag"] = f'"{opened.key}"'
        if variant == "original":
            response.headers.set("Content-Disposition", "attachment", filename=opened.filename)
        return response


def _chunks(stream):
    with stream:
        while block := stream.read(64 * 1024):
            yield block


@blp.route("/legal/scans")
class LegalScanSearch(MethodView):
    @blp.arguments(LegalScanQuery, location="query")
    @blp.response(200, LegalScanPage)
    @blp.alt_response(400, description="legal.bad_cursor, legal.bad_filter")
    @require("evidence.search")
    def get(self, args):
        """Search scanned paper documents of all customers (newest first, keyset pages); registered."""
        cursor = args.pop("cursor")
        return scans.legal_search(
            db.session, current_actor(), g.user, scans.ScanFilters(**args), cursor, ports().clock.now()
        )
