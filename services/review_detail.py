"""Everything the archivist sees about one capture: photos with evidence, form, revisions, history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from models import (
    BusinessEvent,
    CaptureLink,
    CaptureRevision,
    Customer,
    DestructionRecord,
    Device,
    ReviewComment,
    ReviewDecision,
    User,
    audit,
)
from services import filing_scope, review, review_evidence, review_forms, review_queue, site_plan
from services.dossiers import _events, _items, _refs
from services.lifecycle import destruction
from services.unit_of_work import transaction


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in session.scalars(select(User).where(User.id.in_(ids)))}


@transaction
def capture_detail(
    session: Session, actor: Actor, capture_id: str, now: datetime, *, only_inspector_id: int | None = None
) -> dict:
    """The detail of a capture; ``only_inspector_id`` limits inspectors to their own captures.

    Looking at a capture is an access to evidence and is audited.
    """
    capture = review.load_capture(session, capture_id)
    if only_inspector_id is not None and capture.inspector_id != only_inspector_id:
        raise errors.DomainError(errors.UNKNOWN_CAPTURE, details={"capture_id": capture_id})
    customer = session.get(Customer, capture.customer_id) if capture.customer_id else None
    inspector = session.get(User, capture.inspector_id)
    device = session.get(Device, capture.device_id)
    photos = review_evidence.photos_of(session, [capture.id])[capture.id]
    evidence = review_evidence.for_photos(session, photos)
    ev_list = [evidence[p.id] for p in photos]
    revisions = list(
        session.scalars(
            select(CaptureRevision).where(CaptureRevision.capture_id == capture.id).order_by(CaptureRevision.number)
        )
    )
    current = next((r for r in revisions if r.number == capture.current_revision), revisions[-1] if revisions else None)
    columns, table = review_forms.side_by_side(capture.kind, revisions, capture.current_revision)
    decisions = list(
        session.scalars(
            select(ReviewDecision).where(ReviewDecision.capture_id == capture.id).order_by(ReviewDecision.id)
        )
    )
    comments = list(
        session.scalars(select(ReviewComment).where(ReviewComment.capture_id == capture.id).order_by(ReviewComment.id))
    )
    links = list(
        session.scalars(select(CaptureLink).where(CaptureLink.capture_id == capture.id).order_by(CaptureLink.id))
    )
    names = _names(
        session,
        {d.decided_by_id for d in decisions} | {c.author_id for c in comments} | {link.linked_by_id for link in links},
    )
    scope = filing_scope.current()
    audit.record(session, actor, "evidence.view", "capture", capture.id, {"photos": [p.id for p in photos]}, at=now)
    return {
        "capture": capture,
        "customer": customer,
        "inspector": inspector,
        "device": device,
        "kind_label": review_forms.kind_label(capture.kind),
        "state_label": review.STATE_LABELS.get(capture.review_state, capture.review_state),
        "photos": [
            {
                "photo": p,
                "evidence": evidence[p.id],
                "gps_gap_m": gps_gap_m(evidence[p.id]),
                "slot_label": review_forms.slot_label(capture.kind, capture.schema_version, p.slot),
                "category_label": review_evidence.photo_categories().get(p.category, p.category),
            }
            for p in photos
        ],
        "estimate": review_evidence.capture_time_estimate(capture, photos, ev_list),
        "flags": review_evidence.capture_flags(capture, ev_list),
        "pipeline_flag_labels": review_evidence.pipeline_flag_labels(),
        "flag_labels": review_evidence.FLAGS,
        "form_rows": review_forms.labelled_rows(
            capture.kind, current.schema_version if current else None, current.payload if current else None
        ),
        "current_revision": current,
        "revision_columns": columns,
        "revision_table": table,
        "decisions": [
            {
                "decision": d,
                "by": names.get(d.decided_by_id),
                "reason_label": review.REJECT_REASONS.get(d.reason_code or ""),
            }
            for d in decisions
        ],
        "comments": [{"comment": c, "by": names.get(c.author_id)} for c in comments],
        "links": [{"link": link, "by": names.get(link.linked_by_id)} for link in links],
        "plan": _plan(customer, photos, evidence),
        "approval": _approval_choices(session, scope, capture, customer),
        "next_id": review_queue.next_after(session, capture),
        "open": capture.review_state in review.OPEN_STATES,
        "destroyed": _destroyed(session, capture),
    }


def _destroyed(session: Session, capture) -> dict | None:
    """The record's number and date when the capture's dossier was destroyed."""
    if capture.record_state != "destroyed":
        return None
    record = session.get(DestructionRecord, capture.destruction_record_id) if capture.destruction_record_id else None
    return (
        destruction.record_label(record.id, record.executed_at)
        if record
        else {"record_id": None, "destroyed_on": None, "text": "已销毁"}
    )


def _plan(customer: Customer | None, photos, evidence) -> site_plan.Plan | None:
    """The plan of the photos' EXIF positions and the tablet's own fixes around the site."""
    if customer is None or customer.latitude is None or customer.longitude is None:
        return None
    fixes = []
    for index, photo in enumerate(photos, start=1):
        ev = evidence[photo.id]
        if ev.exif_gps is not None:
            fixes.append(site_plan.Fix(str(index), ev.exif_gps[0], ev.exif_gps[1], None, "照片 EXIF GPS"))
        if ev.device_gps is not None:
            fixes.append(site_plan.Fix(str(index), ev.device_gps[0], ev.device_gps[1], ev.device_gps[2], "平板定位"))
    if not fixes:
        return None
    return site_plan.make_plan(customer.latitude, customer.longitude, fixes, _site_radius_m())


def gps_gap_m(ev) -> float | None:
    """Metres between a photo's EXIF position and the tablet's own fix, when both are known."""
    if ev.exif_gps is None or ev.device_gps is None:
        return None
    return site_plan.distance_m(ev.exif_gps[0], ev.exif_gps[1], ev.device_gps[0], ev.device_gps[1])


def _site_radius_m() -> float:
    """The distance beyond which a photo counts as far from the site (same setting as stamping)."""
    from flask import current_app, has_app_context

    configured = current_app.config.get("GPS_SITE_RADIUS_METRES") if has_app_context() else None
    return float(configured or site_plan.FAR_FROM_SITE_M)


def _approval_choices(session: Session, scope, capture, customer: Customer | None) -> dict:
    """Document types (suggested first, still-missing ones marked) and the customer's business events."""
    suggested = scope.suggest_doc_type(capture.kind)
    missing: set[str] = set()
    events: list[BusinessEvent] = []
    if customer is not None and customer.dossier is not None:
        events = _events(session, customer.id)
        report = filing_scope.completeness(
            scope, customer.voltage_class, *_refs(events, _items(session, customer.dossier.id))
        )
        missing = {r.doc_type for g in report.groups for r in g.missing}
    options = [
        {"code": code, "label": label, "missing": code in missing, "suggested": code == suggested}
        for code, label in scope.doc_types.items()
    ]
    options.sort(key=lambda o: (not o["suggested"], not o["missing"]))
    return {
        "doc_types": options,
        "suggested": suggested,
        "events": [
            {
                "id": e.id,
                "label": f"{scope.business_types.get(scope.business_type_of(e.kind) or '', e.kind)}"
                f"（{e.occurred_on.isoformat()}）",
            }
            for e in events
        ],
        "reasons": review.REJECT_REASONS,
    }
