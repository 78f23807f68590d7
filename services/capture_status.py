"""Use case: a tablet asks where its captures stand (photos received and stamped, review, 卷内目录)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Capture, Device, DossierItem, Photo, ReviewDecision
from services.pipeline import HALTED_STATE, READY_STATE

MAX_IDS = 200


def _photo_state(photo: Photo) -> str:
    """awaiting_upload | received | stamped | integrity_failed (stamping stages count as received)."""
    if photo.state in ("awaiting_upload", READY_STATE, HALTED_STATE):
        return {READY_STATE: "stamped"}.get(photo.state, photo.state)
    return "received"


def statuses(session: Session, device: Device, capture_ids: list[str]) -> list[dict]:
    """The state of each of ``capture_ids`` made by this device's inspector (others are left out)."""
    ids = list(dict.fromkeys(str(i) for i in capture_ids))[:MAX_IDS]
    if not ids:
        return []
    captures = session.scalars(
        select(Capture).where(Capture.id.in_(ids), Capture.inspector_id == device.inspector_id)
    ).all()
    found = [c.id for c in captures]
    photos: dict[str | None, list[Photo]] = {}
    for photo in session.scalars(select(Photo).where(Photo.capture_id.in_(found)).order_by(Photo.created_at)):
        photos.setdefault(photo.capture_id, []).append(photo)
    last: dict[str, ReviewDecision] = {}
    for row in session.scalars(
        select(ReviewDecision).where(ReviewDecision.capture_id.in_(found)).order_by(ReviewDecision.id)
    ):
        last[row.capture_id] = row
    items = {i.capture_id: i for i in session.scalars(select(DossierItem).where(DossierItem.capture_id.in_(found)))}
    out = []
    for capture in sorted(captures, key=lambda c: ids.index(c.id)):
        states = [_photo_state(p) for p in photos.get(capture.id, [])]
        decision = last.get(capture.id)
        item = items.get(capture.id)
        out.append(
            {
                "capture_id": capture.id,
                "revision": capture.current_revision,
                "conflict": capture.has_conflict,
                "link_state": capture.link_state,
                "complete": capture.complete,
                "stamped": bool(states) and all(s == "stamped" for s in states),
                "photos": [
                    {"id": p.id, "slot": p.slot, "state": s} for p, s in zip(photos.get(capture.id, []), states)
                ],
                "review_state": capture.review_state,
                "reason_code": decision.reason_code if decision else None,
                "reason_text": decision.reason_text if decision else None,
                "dossier_item_seq": item.seq if item else None,
            }
        )
    return out
