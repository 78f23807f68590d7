"""The printable 卷内目录 of one customer (PDF)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.actor import Actor
from services import dossier_pdf, dossiers
from services.unit_of_work import transaction


@transaction
def index_pdf_for(session: Session, actor: Actor, account_no: str, now: datetime) -> bytes:
    """Build the index PDF of a customer's dossier (the look is audited like the page)."""
    view = dossiers.dossier_view(session, actor, account_no, now)
    customer = view["customer"]
    header = {
        "archive_no": view["dossier"].archive_no,
        "account_no": customer.account_no,
        "name": customer.name,
        "voltage_class": view["labels"]["voltage_class"],
        "usage_category": view["labels"]["usage_category"],
        "status": view["labels"]["status"],
        "box": view["box_text"],
    }
    return dossier_pdf.index_pdf(header, dossiers.index_rows(view), now)
