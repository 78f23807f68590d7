"""Archivist decisions on captures: approve (file into the dossier), reject, has issues, comment.

Every decision names the review version the archivist saw. The decision claims the capture
with one conditional UPDATE (version and open state must still match), so of two archivists
acting at once exactly one wins and the other gets ``review.conflict``. The claim is the first
write of a decision: whatever fails before it leaves nothing behind. Each decision is audited,
appended to the evidence log and published to the inspector's tablets in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from core import errors
from core.actor import Actor
from core.states import OPEN_REVIEW_STATES, ReviewState
from models import BusinessEvent, Capture, Customer, DossierItem, ReviewComment, ReviewDecision, User, audit
from services import dossiers, filing_scope, review_events, review_evidence, review_forms
from services.lifecycle.destruction import refuse_if_destroyed
from services.unit_of_work import transaction

OPEN_STATES = OPEN_REVIEW_STATES
STATE_LABELS = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "已退回",
    "has_issues": "有问题",
    "closed": "已关闭（档案已销毁）",
}
REJECT_REASONS: dict[str, str] = {
    "blurry": "照片模糊不清",
    "wrong_subject": "拍摄对象不符",
    "missing_photo": "缺少必要照片",
    "time_doubtful": "拍摄时间存疑",
    "not_on_site": "拍摄位置不在现场",
    "wrong_customer": "户号/客户不符",
    "form_error": "表单信息错误或不全",
    "other": "其他（请说明）",
}
ISSUE_REASONS = {k: v for k, v in REJECT_REASONS.items()}
REASON_TEXT_MAX = 2000
COMMENT_MAX = 4000
BULK_MAX = 200


def load_capture(session: Session, capture_id: str) -> Capture:
    """Return the capture or raise ``capture.unknown``."""
    capture = session.get(Capture, capture_id) if isinstance(capture_id, str) else None
    if capture is None:
        raise errors.DomainError(errors.UNKNOWN_CAPTURE, details={"capture_id": capture_id})
    return capture


def _last_decision(session: Session, capture_id: str) -> ReviewDecision | None:
    return session.scalar(
        select(ReviewDecision)
        .where(ReviewDecision.capture_id == capture_id)
        .order_by(ReviewDecision.id.desc())
        .limit(1)
    )


def _conflict(session: Session, capture: Capture, expected: int) -> errors.DomainError:
    last = _last_decision(session, capture.id)
    details = {
        "capture_id": capture.id,
        "state": capture.review_state,
        "version": capture.review_version,
        "expected_version": expected,
    }
    if last is not None:
        who = session.get(User, last.decided_by_id)
        details.update(
            {
                "decided_by": (who.display_name or who.username) if who else None,
                "decided_at": last.decided_at.isoformat(),
                "decision": last.decision,
            }
        )
    return errors.DomainError(errors.REVIEW_CONFLICT, details=details)


def _check_open(session: Session, capture: Capture, expected: int) -> None:
    if capture.review_version != expected:
        raise _conflict(session, capture, expected)
    if capture.review_state not in OPEN_STATES:
        raise errors.DomainError(
            errors.REVIEW_NOT_PENDING, details={"capture_id": capture.id, "state": capture.review_state}
        )


def _claim(session: Session, capture: Capture, expected: int, new_state: str) -> str:
    """Move the capture to ``new_state`` if nobody acted since ``expected``; return the old state."""
    from_state = capture.review_state
    result = session.execute(
        update(Capture)
        .where(Capture.id == capture.id, Capture.review_version == expected, Capture.review_state.in_(OPEN_STATES))
        .values(review_state=new_state, review_version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    done = result.rowcount
    session.refresh(capture)
    if done != 1:
        raise _conflict(session, capture, expected)
    return from_state


def _expected(capture: Capture, expected_version: int | None) -> int:
    return capture.review_version if expected_version is None else int(expected_version)


@dataclass(frozen=True)
class Outcome:
    """A decision taken, and the dossier entry it filed (for approvals)."""

    capture: Capture
    decision: ReviewDecision
    item: DossierItem | None = None


def _record(
    session: Session,
    actor: Actor,
    user_id: int,
    capture: Capture,
    decision: str,
    from_state: str,
    now: datetime,
    *,
    reason_code=None,
    reason_text=None,
    doc_type=None,
    item=None,
    bulk=False,
) -> ReviewDecision:
    row = ReviewDecision(
        capture_id=capture.id,
        decision=decision,
        from_state=from_state,
        capture_revision=capture.current_revision,
        review_version=capture.review_version,
        reason_code=reason_code,
        reason_text=reason_text,
        doc_type=doc_type,
        dossier_item_id=item.id if item is not None else None,
        bulk=bulk,
        decided_by_id=user_id,
        decided_at=now,
    )
    session.add(row)
    details = {
        "from_state": from_state,
        "to_state": decision,
        "version": capture.review_version,
        "revision": capture.current_revision,
        "reason_code": reason_code,
        "doc_type": doc_type,
        "bulk": bulk,
    }
    if item is not None:
        details.update({"dossier_item_id": item.id, "seq": item.seq})
    audit.record(
        session,
        actor,
        f"review.{decision}",
        "capture",
        capture.id,
        {k: v for k, v in details.items() if v is not None},
        at=now,
    )
    review_events.log_evidence_event(
        session,
        decision,
        capture.id,
        {k: v for k, v in {**details, "reason_text": reason_text, "by": actor.id}.items() if v is not None},
        now,
    )
    review_events.publish_decision(session, capture, reason_code, reason_text, now)
    return row


@transaction
def approve(
    session: Session,
    actor: Actor,
    user_id: int,
    capture_id: str,
    now: datetime,
    *,
    doc_type: str | None = None,
    title: str | None = None,
    business_event_id: int | None = None,
    expected_version: int | None = None,
    bulk: bool = False,
) -> Outcome:
    """Approve a capture and file it into its customer's dossier index (卷内目录)."""
    capture = load_capture(session, capture_id)
    scope = filing_scope.current()
    doc_type = doc_type or scope.suggest_doc_type(capture.kind)
    if doc_type not in scope.doc_types:
        raise errors.DomainError(
            errors.UNKNOWN_DOC_TYPE, details={"doc_type": doc_type, "allowed": sorted(scope.doc_types)}
        )
    refuse_if_destroyed(session, capture.customer_id)
    expected = _expected(capture, expected_version)
    _check_open(session, capture, expected)
    if capture.link_state != "linked" or capture.customer_id is None:
        raise errors.DomainError(errors.REVIEW_UNLINKED, details={"capture_id": capture.id})
    if not capture.complete:
        raise errors.DomainError(errors.REVIEW_INCOMPLETE, details={"capture_id": capture.id})
    customer = session.get(Customer, capture.customer_id)
    assert customer is not None
    if business_event_id is not None:
        event = session.get(BusinessEvent, business_event_id)
        if event is None or event.customer_id != customer.id:
            raise errors.DomainError(errors.UNKNOWN_BUSINESS_EVENT, details={"business_event_id": business_event_id})
    else:
        business_event_id = dossiers.suggest_event(session, scope, customer, doc_type)
    title = (title or "").strip()[:300] or f"{scope.doc_label(doc_type)}（{review_forms.kind_label(capture.kind)}）"
    photos = review_evidence.photos_of(session, [capture.id])[capture.id]
    estimate = review_evidence.capture_time_estimate(
        capture, photos, list(review_evidence.for_photos(session, photos).values())
    )
    photo_ids = [p.id for p in photos]

    from_state = _claim(session, capture, expected, "approved")
    item = dossiers.file_item(
        session,
        customer,
        user_id,
        now,
        doc_type=doc_type,
        title=title,
        doc_date=dossiers.local_date(estimate.at or capture.received_at),
        source="capture",
        pages=1 + len(photo_ids),
        capture_id=capture.id,
        business_event_id=business_event_id,
        extra={"capture_revision": capture.current_revision, "photos": photo_ids, "kind": capture.kind},
    )
    decision = _record(
        session, actor, user_id, capture, "approved", from_state, now, doc_type=doc_type, item=item, bulk=bulk
    )
    return Outcome(capture, decision, item)


def _reason(code: str | None, text: str | None, required: bool) -> tuple[str | None, str | None]:
    code = (code or "").strip() or None
    text = (text or "").strip()[:REASON_TEXT_MAX] or None
    if code is None and required:
        raise errors.DomainError(errors.UNKNOWN_REJECT_REASON, details={"allowed": sorted(REJECT_REASONS)})
    if code is not None and code not in REJECT_REASONS:
        raise errors.DomainError(
            errors.UNKNOWN_REJECT_REASON, details={"reason_code": code, "allowed": sorted(REJECT_REASONS)}
        )
    if code == "other" and not text:
        raise errors.DomainError(errors.REASON_TEXT_REQUIRED)
    return code, text


@transaction
def reject(
    session: Session,
    actor: Actor,
    user_id: int,
    capture_id: str,
    now: datetime,
    *,
    reason_code: str | None,
    reason_text: str | None = None,
    expected_version: int | None = None,
) -> Outcome:
    """Reject a capture with a reason; the inspector's tablet receives a retake request."""
    capture = load_capture(session, capture_id)
    code, text = _reason(reason_code, reason_text, required=True)
    expected = _expected(capture, expected_version)
    _check_open(session, capture, expected)
    from_state = _claim(session, capture, expected, "rejected")
    decision = _record(
        session, actor, user_id, capture, "rejected", from_state, now, reason_code=code, reason_text=text
    )
    return Outcome(capture, decision)


@transaction
def mark_issues(
    session: Session,
    actor: Actor,
    user_id: int,
    capture_id: str,
    now: datetime,
    *,
    reason_code: str | None = None,
    reason_text: str | None = None,
    expected_version: int | None = None,
) -> Outcome:
    """Mark a capture as having issues (kept in the queue under 有问题 for a later decision)."""
    capture = load_capture(session, capture_id)
    code, text = _reason(reason_code, reason_text, required=False)
    if code is None and text is None:
        raise errors.DomainError(errors.REASON_TEXT_REQUIRED, "Say what the issue is.")
    expected = _expected(capture, expected_version)
    _check_open(session, capture, expected)
    from_state = _claim(session, capture, expected, ReviewState.HAS_ISSUES)
    decision = _record(
        session, actor, user_id, capture, ReviewState.HAS_ISSUES, from_state, now, reason_code=code, reason_text=text
    )
    return Outcome(capture, decision)


@transaction
def add_comment(
    session: Session, actor: Actor, user_id: int, capture_id: str, body: str, now: datetime
) -> ReviewComment:
    """Add a comment to a capture (comments are never edited or deleted)."""
    capture = load_capture(session, capture_id)
    text = (body or "").strip()
    if not text:
        raise errors.DomainError(errors.EMPTY_COMMENT)
    comment = ReviewComment(capture_id=capture.id, author_id=user_id, body=text[:COMMENT_MAX], created_at=now)
    session.add(comment)
    session.flush()
    audit.record(session, actor, "review.comment", "capture", capture.id, {"comment_id": comment.id}, at=now)
    review_events.log_evidence_event(
        session, "commented", capture.id, {"comment_id": comment.id, "body": comment.body, "by": actor.id}, now
    )
    return comment


@transaction
def bulk_approve(
    session: Session,
    actor: Actor,
    user_id: int,
    entries: list[tuple[str, int | None]],
    now: datetime,
    *,
    doc_type: str | None = None,
) -> list[dict]:
    """Approve a selection; one item failing (taken by someone else, unlinked …) never blocks the rest.

    Each item is validated and claimed before anything of it is written, so a refused item
    leaves no trace but its entry in the result list.
    """
    if len(entries) > BULK_MAX:
        raise errors.DomainError(errors.BULK_TOO_LARGE, details={"max": BULK_MAX})
    results = []
    seen: set[str] = set()
    for capture_id, version in entries:
        if capture_id in seen:
            continue
        seen.add(capture_id)
        try:
            outcome = approve(
                session, actor, user_id, capture_id, now, doc_type=doc_type, expected_version=version, bulk=True
            )
        except errors.DomainError as exc:
            results.append(
                {
                    "capture_id": capture_id,
                    "ok": False,
                    "code": exc.code,
                    "message": exc.message,
                    "details": exc.details,
                }
            )
        else:
            assert outcome.item is not None
            results.append(
                {
                    "capture_id": capture_id,
                    "ok": True,
                    "seq": outcome.item.seq,
                    "doc_type": outcome.item.doc_type,
                    "account_no": capture_account(session, outcome.capture),
                }
            )
    return results


def capture_account(session: Session, capture: Capture) -> str | None:
    """The 户号 of the customer a capture is linked to."""
    customer = session.get(Customer, capture.customer_id) if capture.customer_id else None
    return customer.account_no if customer else None
