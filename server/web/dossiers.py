"""Customer dossier pages: search, the dossier with its 卷内目录 and completeness, printable index."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from models.database import db
from server.auth import current_actor, require
from services import dossier_print, dossiers, filing_scope
from services.ports_access import ports

bp = Blueprint("dossiers", __name__, url_prefix="/dossiers")


@bp.route("")
@require("dossier.read")
def search():
    """Find a dossier by 户号, 户名, address, meter number or archive number."""
    query = request.args.get("q", "").strip()
    results = dossiers.search(db.session, query)
    return render_template("dossiers/search.html", q=query, results=results)


@bp.route("/filing-scope")
@require("filing_scope.read")
def scope_table():
    """The filing scope table in force (客户档案归档范围表)."""
    return render_template("dossiers/filing_scope.html", scope=filing_scope.current())


@bp.route("/<account_no>")
@require("dossier.read")
def show(account_no):
    """One customer's dossier."""
    view = dossiers.dossier_view(db.session, current_actor(), account_no, ports().clock.now())
    return render_template("dossiers/show.html", v=view)


@bp.route("/<account_no>/index")
@require("dossier.read")
def index_print(account_no):
    """The 卷内目录 as a page made for printing."""
    view = dossiers.dossier_view(db.session, current_actor(), account_no, ports().clock.now())
    return render_template("dossiers/index_print.html", v=view, rows=dossiers.index_rows(view),
                           printed_at=ports().clock.now())


@bp.route("/<account_no>/index.pdf")
@require("dossier.read")
def index_pdf(account_no):
    """The 卷内目录 as PDF."""
    pdf = dossier_print.index_pdf_for(db.session, current_actor(), account_no, ports().clock.now())
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="index-{account_no}.pdf"'})
