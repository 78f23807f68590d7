"""Archive lifecycle API: deadlines, use register, retention, legal holds, destruction, boxes, quality."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core import errors
from models import Customer, DossierItem, User
from models.database import db
from models.lifecycle import USE_FORMS
from server.auth import current_actor, require
from services.lifecycle import (
    borrowing,
    boxes,
    calendar_arrangements,
    destruction,
    obligations,
    quality,
    retention,
)
from services.lifecycle.common import customer_by_account, local_date
from services.lifecycle.daily import recompute_deadlines
from services.lifecycle.settings import EVENT_KINDS, settings_from
from services.ports_access import ports

blp = Blueprint(
    "lifecycle_api",
    __name__,
    url_prefix="/api/v1/lifecycle",
    description="Archive lifecycle: filing deadlines, use and borrowing, retention and destruction",
)


def _clock():
    """(now, today in Beijing) from the clock port."""
    now = ports().clock.now()
    return now, local_date(now)


def _rules():
    return settings_from(current_app.config)


# --- schemas ----------------------------------------------------------------------------------


class LcCalendarSchema(Schema):
    package = fields.String(required=True)
    version = fields.String(required=True)
    source_url = fields.String()
    authority = fields.String()
    first_year = fields.Integer(required=True)
    last_year = fields.Integer(required=True)
    provisional_package = fields.String(metadata={"description": "computes statutory holidays of later years"})
    provisional_version = fields.String()
    provisional_rules = fields.String()
    arrangements = fields.List(
        fields.Dict(), metadata={"description": "loaded holiday arrangements: year, document_no, published_on, title"}
    )
    years = fields.Dict(metadata={"description": "this year and the next two: loaded, package or provisional"})
    next_year_missing = fields.Boolean(
        metadata={"description": "true from November on while next year's arrangement is not known"}
    )


class LcDueDateQuery(Schema):
    start = fields.Date(required=True)
    days = fields.Integer(required=True)


class LcDueDateSchema(Schema):
    start = fields.Date(required=True)
    days = fields.Integer(required=True)
    due_on = fields.Date(required=True)
    provisional = fields.Boolean(
        required=True,
        metadata={"description": "true when a year without a published holiday arrangement was counted (暂定)"},
    )


class LcEventIn(Schema):
    account_no = fields.String(required=True, validate=validate.Length(min=1, max=32))
    kind = fields.String(required=True, metadata={"enum": sorted(EVENT_KINDS)}, validate=validate.Length(min=1, max=40))
    occurred_on = fields.Date(required=True)
    reference = fields.String(load_default=None, validate=validate.Length(max=100))
    note = fields.String(load_default=None, validate=validate.Length(max=2000))
    responsible = fields.String(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "user name of the person responsible"},
    )


class LcObligationSchema(Schema):
    id = fields.Integer(required=True)
    business_event_id = fields.Integer(required=True)
    account_no = fields.String()
    customer_name = fields.String()
    district = fields.String(allow_none=True)
    kind = fields.String(required=True)
    opened_on = fields.Date(required=True)
    working_days = fields.Integer(required=True)
    due_on = fields.Date(allow_none=True)
    calendar_error = fields.String(allow_none=True)
    provisional = fields.Boolean(
        required=True,
        metadata={"description": "true while due_on counts a year without a published holiday arrangement (暂定)"},
    )
    required_doc_types = fields.List(fields.String())
    responsible = fields.String(allow_none=True)
    state = fields.String(required=True)
    met_on = fields.Date(allow_none=True)


class LcEventOut(Schema):
    event_id = fields.Integer(required=True)
    created = fields.Boolean(required=True)
    obligation = fields.Nested(LcObligationSchema, required=True)


class LcObligationQuery(Schema):
    state = fields.String(
        load_default=None, validate=validate.OneOf(["open", "due_soon", "overdue", "met", "met_late", "no_calendar"])
    )
    district = fields.String(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LcObligationPage(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    items = fields.List(fields.Nested(LcObligationSchema), required=True)


class LcRecomputeSchema(Schema):
    checked = fields.Integer()
    changed = fields.Integer()
    states = fields.Dict(keys=fields.String(), values=fields.Integer())
    today = fields.String()
    events_from_captures = fields.Integer()


class LcUseIn(Schema):
    account_no = fields.String(required=True, validate=validate.Length(min=1, max=32))
    items = fields.List(
        fields.Integer(validate=validate.Range(min=1)),
        required=True,
        metadata={"description": "sequence numbers (卷内序号) of the dossier items"},
    )
    requester_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    requester_unit = fields.String(load_default=None, validate=validate.Length(max=100))
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    form = fields.String(required=True, validate=validate.OneOf(list(USE_FORMS)))


class LcUseSchema(Schema):
    id = fields.Integer(required=True)
    account_no = fields.String()
    items = fields.List(fields.Integer())
    requester_name = fields.String()
    requester_unit = fields.String(allow_none=True)
    purpose = fields.String()
    form = fields.String()
    state = fields.String(required=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    out_at = fields.DateTime(allow_none=True)
    due_on = fields.Date(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()


class LcUseQuery(Schema):
    state = fields.String(load_default=None)
    overdue = fields.Boolean(load_default=False)
    account_no = fields.String(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class LcUsePage(Schema):
    total = fields.Integer(required=True)
    items = fields.List(fields.Nested(LcUseSchema), required=True)


class LcDecisionIn(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class LcSignOutIn(Schema):
    due_on = fields.Date(load_default=None)


class LcCloseIn(Schema):
    closed_on = fields.Date(required=True)
    reference = fields.String(load_default=None, validate=validate.Length(max=100))
    responsible = fields.String(load_default=None, validate=validate.Length(max=64))


class LcRetentionSchema(Schema):
    account_no = fields.String()
    name = fields.String()
    voltage_class = fields.String()
    archive_no = fields.String()
    closed_on = fields.Date()
    retention_years = fields.Integer()
    eligible_on = fields.Date()
    eligible = fields.Boolean()
    active_holds = fields.Integer()
    destroyed_at = fields.DateTime(allow_none=True)


class LcRetentionQuery(Schema):
    eligible = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class LcRetentionPage(Schema):
    total = fields.Integer(required=True)
    items = fields.List(fields.Nested(LcRetentionSchema), required=True)


class LcHoldIn(Schema):
    account_no = fields.String(required=True, validate=validate.Length(min=1, max=32))
    item_seq = fields.Integer(load_default=None, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LcLiftIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LcHoldSchema(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer()
    dossier_item_id = fields.Integer(allow_none=True)
    reason = fields.String()
    placed_at = fields.DateTime()
    lifted_at = fields.DateTime(allow_none=True)
    lift_reason = fields.String(allow_none=True)


class LcDisposalIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    accounts = fields.List(
        fields.String(validate=validate.Length(min=1, max=32)), required=True, validate=validate.Length(min=1, max=1000)
    )


class LcWithdrawIn(Schema):
    account_no = fields.String(required=True)
    reason = fields.String(load_default=None)


class LcDisposalEntrySchema(Schema):
    account_no = fields.String()
    eligible_on = fields.Date()
    withdrawn = fields.Boolean()
    destruction_record_id = fields.Integer(allow_none=True)


class LcDisposalSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String()
    reason = fields.String()
    state = fields.String(required=True)
    proposed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    executed_at = fields.DateTime(allow_none=True)
    entries = fields.List(fields.Nested(LcDisposalEntrySchema))


class LcExecutionSchema(Schema):
    list_id = fields.Integer()
    records = fields.List(fields.Integer())
    bytes_removed = fields.Integer()
    bytes_already_gone = fields.Integer()
    bundles_removed = fields.Integer(metadata={"description": "evidence bundles removed from the export store"})


class LcVerificationSchema(Schema):
    record_id = fields.Integer()
    record_sha256 = fields.String()
    digest_ok = fields.Boolean()
    blobs = fields.Integer()
    still_stored = fields.List(fields.String())
    exports_removed = fields.List(
        fields.Integer(), metadata={"description": "exports whose bundles the record removed"}
    )
    bundles_still_stored = fields.List(
        fields.Integer(),
        metadata={"description": "exports whose stored bundle still lists a destroyed digest (must be empty)"},
    )
    unmarked = fields.List(fields.String())
    log_leaf_index = fields.Integer(allow_none=True)
    ok = fields.Boolean()


class LcRecordSchema(Schema):
    id = fields.Integer(required=True)
    record_sha256 = fields.String(required=True)
    executed_at = fields.DateTime()
    content = fields.Dict(required=True)
    verification = fields.Nested(LcVerificationSchema)


class LcBoxSchema(Schema):
    box = fields.String()
    shelf = fields.String()
    position = fields.Integer()
    capacity = fields.Integer()
    voltage_class = fields.String()
    label = fields.String()
    assigned_at = fields.String(allow_none=True)


class LcQualitySchema(Schema):
    today = fields.String()
    totals = fields.Dict()
    by_district = fields.List(fields.Dict())
    by_person = fields.List(fields.Dict())


# --- mapping results to the schemas -------------------------------------------------------------


def _obligation(row: obligations.ObligationRow) -> dict:
    o = row.obligation
    return {
        "id": o.id,
        "business_event_id": o.business_event_id,
        "account_no": row.customer.account_no,
        "customer_name": row.customer.name,
        "district": row.customer.district,
        "kind": o.kind,
        "opened_on": o.opened_on,
        "working_days": o.working_days,
        "due_on": o.due_on,
        "calendar_error": o.calendar_error,
        "provisional": bool(o.provisional),
        "required_doc_types": o.required_doc_types,
        "responsible": row.responsible.username if row.responsible else None,
        "state": o.state,
        "met_on": o.met_on,
    }


def _use(use, account_no: str | None = None, seqs: list[int] | None = None, overdue: bool = False) -> dict:
    return {
        "id": use.id,
        "account_no": account_no,
        "items": seqs or [],
        "requester_name": use.requester_name,
        "requester_unit": use.requester_unit,
        "purpose": use.purpose,
        "form": use.form,
        "state": use.state,
        "requested_at": use.requested_at,
        "decided_at": use.decided_at,
        "decision_note": use.decision_note,
        "out_at": use.out_at,
        "due_on": use.due_on,
        "returned_at": use.returned_at,
        "overdue": overdue,
    }


def _use_single(use) -> dict:

    customer = db.session.get(Customer, use.customer_id)
    seqs = sorted(db.session.get(DossierItem, i.dossier_item_id).seq for i in use.items)
    return _use(use, customer.account_no, seqs)


def _disposal(disposal) -> dict:

    accounts = {
        c.id: c.account_no
        for c in db.session.query(Customer).filter(Customer.id.in_([e.customer_id for e in disposal.entries]))
    }
    return {
        "id": disposal.id,
        "title": disposal.title,
        "reason": disposal.reason,
        "state": disposal.state,
        "proposed_at": disposal.proposed_at,
        "decided_at": disposal.decided_at,
        "decision_note": disposal.decision_note,
        "executed_at": disposal.executed_at,
        "entries": [
            {
                "account_no": accounts.get(e.customer_id),
                "eligible_on": e.eligible_on,
                "withdrawn": e.withdrawn,
                "destruction_record_id": e.destruction_record_id,
            }
            for e in disposal.entries
        ],
    }


# --- deadlines ----------------------------------------------------------------------------------


@blp.route("/calendar")
class Calendar(MethodView):
    @blp.response(200, LcCalendarSchema)
    @require("lifecycle.manage")
    def get(self):
        """The working-day calendar in use: package, loaded arrangements and provisional years."""
        return calendar_arrangements.current(db.session).info(local_date(ports().clock.now()))


@blp.route("/calendar/due-date")
class DueDate(MethodView):
    @blp.arguments(LcDueDateQuery, location="query")
    @blp.response(200, LcDueDateSchema)
    @blp.alt_response(422, description="calendar.out_of_coverage")
    @require("lifecycle.manage")
    def get(self, args):
        """The date N working days after a start date (adjusted working weekends included)."""
        due = calendar_arrangements.current(db.session).due(args["start"], args["days"])
        return {"start": args["start"], "days": args["days"], "due_on": due.due_on, "provisional": due.provisional}


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(LcEventIn)
    @blp.response(201, LcEventOut)
    @blp.alt_response(400, description="lifecycle.unknown_event_kind, lifecycle.event_in_future")
    @blp.alt_response(404, description="customer.unknown")
    @require("lifecycle.manage")
    def post(self, body):
        """Record a business event; it opens a filing obligation with a working-day due date."""
        now, today = _clock()
        outcome = obligations.record_event(db.session, current_actor(), today=today, now=now, settings=_rules(), **body)
        customer = customer_by_account(db.session, body["account_no"])

        responsible = (
            db.session.get(User, outcome.obligation.responsible_id) if outcome.obligation.responsible_id else None
        )
        row = obligations.ObligationRow(outcome.obligation, customer, responsible, outcome.event)
        return {"event_id": outcome.event.id, "created": outcome.created, "obligation": _obligation(row)}


@blp.route("/obligations")
class Obligations(MethodView):
    @blp.arguments(LcObligationQuery, location="query")
    @blp.response(200, LcObligationPage)
    @require("lifecycle.manage")
    def get(self, args):
        """Filing obligations, most urgent first; filter by state and district."""
        rows, total = obligations.list_obligations(
            db.session,
            states=(args["state"],) if args["state"] else None,
            district=args["district"],
            page=args["page"],
            per_page=args["per_page"],
        )
        return {"total": total, "page": args["page"], "items": [_obligation(r) for r in rows]}


@blp.route("/obligations/recompute")
class Recompute(MethodView):
    @blp.response(200, LcRecomputeSchema)
    @require("lifecycle.manage")
    def post(self):
        """Recompute every open obligation now (the daily job does the same)."""

        now, today = _clock()
        result = recompute_deadlines(db.session, current_actor(), today, now, _rules())
        return result


# --- use and borrowing --------------------------------------------------------------------------


@blp.route("/use-requests")
class UseRequests(MethodView):
    @blp.arguments(LcUseQuery, location="query")
    @blp.response(200, LcUsePage)
    @require("lifecycle.manage")
    def get(self, args):
        """The use register (利用登记), newest first."""
        _now, today = _clock()
        rows, total = borrowing.list_uses(
            db.session,
            today,
            state=args["state"],
            overdue_only=args["overdue"],
            account_no=args["account_no"],
            page=args["page"],
        )
        return {"total": total, "items": [_use(r.request, r.customer.account_no, r.item_seqs, r.overdue) for r in rows]}

    @blp.arguments(LcUseIn)
    @blp.response(201, LcUseSchema)
    @blp.alt_response(400, description="use.no_items, use.unknown_item, use.unknown_form")
    @require("lifecycle.manage")
    def post(self, body):
        """Register a use; lending an original waits for the archive manager's approval."""
        now, _today = _clock()
        use = borrowing.register_use(
            db.session,
            current_actor(),
            account_no=body["account_no"],
            item_seqs=body["items"],
            requester_name=body["requester_name"],
            purpose=body["purpose"],
            form=body["form"],
            now=now,
            requester_unit=body["requester_unit"],
        )
        return _use_single(use)


@blp.route("/use-requests/<int:request_id>/approve")
class ApproveUse(MethodView):
    @blp.arguments(LcDecisionIn)
    @blp.response(200, LcUseSchema)
    @blp.alt_response(403, description="use.self_approval")
    @blp.alt_response(409, description="use.invalid_transition")
    @require("lifecycle.approve")
    def post(self, body, request_id):
        """Approve lending an original (archive manager)."""
        use = borrowing.decide(db.session, current_actor(), request_id, True, _clock()[0], body["note"])
        return _use_single(use)


@blp.route("/use-requests/<int:request_id>/reject")
class RejectUse(MethodView):
    @blp.arguments(LcDecisionIn)
    @blp.response(200, LcUseSchema)
    @blp.alt_response(409, description="use.invalid_transition")
    @require("lifecycle.approve")
    def post(self, body, request_id):
        """Reject lending an original (archive manager)."""
        use = borrowing.decide(db.session, current_actor(), request_id, False, _clock()[0], body["note"])
        return _use_single(use)


@blp.route("/use-requests/<int:request_id>/sign-out")
class SignOut(MethodView):
    @blp.arguments(LcSignOutIn)
    @blp.response(200, LcUseSchema)
    @blp.alt_response(409, description="use.invalid_transition")
    @require("lifecycle.manage")
    def post(self, body, request_id):
        """Hand out an approved original with its return date."""
        use = borrowing.sign_out(db.session, current_actor(), request_id, _clock()[0], _rules(), body["due_on"])
        return _use_single(use)


@blp.route("/use-requests/<int:request_id>/return")
class ReturnUse(MethodView):
    @blp.response(200, LcUseSchema)
    @blp.alt_response(409, description="use.invalid_transition")
    @require("lifecycle.manage")
    def post(self, request_id):
        """Record the return of a lent original."""
        use = borrowing.receive_return(db.session, current_actor(), request_id, _clock()[0])
        return _use_single(use)


@blp.route("/use-requests/<int:request_id>/complete")
class CompleteUse(MethodView):
    @blp.response(200, LcUseSchema)
    @blp.alt_response(409, description="use.invalid_transition")
    @require("lifecycle.manage")
    def post(self, request_id):
        """Close a registered view, copy or extract."""
        use = borrowing.complete(db.session, current_actor(), request_id, _clock()[0])
        return _use_single(use)


# --- retention, holds, destruction ---------------------------------------------------------------


@blp.route("/customers/<string:account_no>/close")
class CloseAccount(MethodView):
    @blp.arguments(LcCloseIn)
    @blp.response(200, LcRetentionSchema)
    @blp.alt_response(409, description="retention.already_closed")
    @require("lifecycle.manage")
    def post(self, body, account_no):
        """Close an account (销户): its dossier moves to the closed set with the closing date."""
        now, today = _clock()
        state = retention.close_account(
            db.session,
            current_actor(),
            account_no,
            body["closed_on"],
            today,
            now,
            _rules(),
            reference=body["reference"],
            responsible=body["responsible"],
        )
        customer = customer_by_account(db.session, account_no)
        return {
            "account_no": customer.account_no,
            "name": customer.name,
            "voltage_class": customer.voltage_class,
            "archive_no": customer.dossier.archive_no,
            "closed_on": state.closed_on,
            "retention_years": state.retention_years,
            "eligible_on": state.eligible_on,
            "eligible": today >= state.eligible_on,
            "active_holds": 0,
            "destroyed_at": state.destroyed_at,
        }


@blp.route("/retention")
class Retention(MethodView):
    @blp.arguments(LcRetentionQuery, location="query")
    @blp.response(200, LcRetentionPage)
    @require("lifecycle.manage")
    def get(self, args):
        """Closed dossiers in retention with their eligibility date (3 / 5 years after closing)."""
        _now, today = _clock()
        rows, total = retention.list_retention(db.session, today, only_eligible=args["eligible"], page=args["page"])
        return {
            "total": total,
            "items": [
                {
                    "account_no": r.customer.account_no,
                    "name": r.customer.name,
                    "voltage_class": r.customer.voltage_class,
                    "archive_no": r.archive_no,
                    "closed_on": r.state.closed_on,
                    "retention_years": r.state.retention_years,
                    "eligible_on": r.state.eligible_on,
                    "eligible": r.eligible,
                    "active_holds": r.holds,
                    "destroyed_at": r.state.destroyed_at,
                }
                for r in rows
            ],
        }


@blp.route("/holds")
class Holds(MethodView):
    @blp.response(200, LcHoldSchema(many=True))
    @require("lifecycle.hold")
    def get(self):
        """Active legal holds."""
        return retention.active_holds(db.session)

    @blp.arguments(LcHoldIn)
    @blp.response(201, LcHoldSchema)
    @blp.alt_response(404, description="customer.unknown")
    @blp.alt_response(400, description="hold.unknown_item")
    @blp.alt_response(409, description="hold.customer_destroyed")
    @require("lifecycle.hold")
    def post(self, body):
        """Place a legal hold on a customer or one dossier item; it blocks destruction (destroyed dossiers: refused)."""
        hold = retention.place_hold(
            db.session, current_actor(), body["account_no"], body["reason"], _clock()[0], item_seq=body["item_seq"]
        )
        return hold


@blp.route("/holds/<int:hold_id>/lift")
class LiftHold(MethodView):
    @blp.arguments(LcLiftIn)
    @blp.response(200, LcHoldSchema)
    @blp.alt_response(409, description="hold.already_lifted")
    @require("lifecycle.hold")
    def post(self, body, hold_id):
        """Lift a legal hold (the hold stays on record)."""
        hold = retention.lift_hold(db.session, current_actor(), hold_id, body["reason"], _clock()[0])
        return hold


@blp.route("/disposal-lists")
class DisposalLists(MethodView):
    @blp.arguments(LcDisposalIn)
    @blp.response(201, LcDisposalSchema)
    @blp.alt_response(409, description="retention.not_eligible, disposal.legal_hold, disposal.already_listed")
    @require("lifecycle.manage")
    def post(self, body):
        """Propose eligible dossiers for destruction; nothing happens until a manager approves."""
        now, today = _clock()
        disposal = destruction.propose_list(
            db.session,
            current_actor(),
            title=body["title"],
            reason=body["reason"],
            account_nos=body["accounts"],
            today=today,
            now=now,
        )
        return _disposal(disposal)


@blp.route("/disposal-lists/<int:list_id>")
class DisposalOne(MethodView):
    @blp.response(200, LcDisposalSchema)
    @blp.alt_response(404, description="disposal.unknown")
    @require("lifecycle.manage")
    def get(self, list_id):
        """One disposal list with its entries."""
        return _disposal(destruction.get_list(db.session, list_id))


@blp.route("/disposal-lists/<int:list_id>/approve")
class ApproveDisposal(MethodView):
    @blp.arguments(LcDecisionIn)
    @blp.response(200, LcDisposalSchema)
    @blp.alt_response(403, description="disposal.self_approval")
    @require("lifecycle.approve")
    def post(self, body, list_id):
        """Approve a disposal list (archive manager, not the proposer)."""
        disposal = destruction.decide_list(db.session, current_actor(), list_id, True, _clock()[0], body["note"])
        return _disposal(disposal)


@blp.route("/disposal-lists/<int:list_id>/reject")
class RejectDisposal(MethodView):
    @blp.arguments(LcDecisionIn)
    @blp.response(200, LcDisposalSchema)
    @require("lifecycle.approve")
    def post(self, body, list_id):
        """Reject a disposal list."""
        disposal = destruction.decide_list(db.session, current_actor(), list_id, False, _clock()[0], body["note"])
        return _disposal(disposal)


@blp.route("/disposal-lists/<int:list_id>/withdraw")
class WithdrawDisposal(MethodView):
    @blp.arguments(LcWithdrawIn)
    @blp.response(200, LcDisposalSchema)
    @require("lifecycle.manage")
    def post(self, body, list_id):
        """Take one dossier off a list before execution."""
        destruction.withdraw_entry(
            db.session, current_actor(), list_id, body["account_no"], _clock()[0], body["reason"]
        )
        return _disposal(destruction.get_list(db.session, list_id))


@blp.route("/disposal-lists/<int:list_id>/execute")
class ExecuteDisposal(MethodView):
    @blp.response(200, LcExecutionSchema)
    @blp.alt_response(409, description="disposal.invalid_transition, disposal.legal_hold, disposal.export_on_hold")
    @require("lifecycle.manage")
    def post(self, list_id):
        """Execute an approved list: every stored copy of the evidence removed, destruction records kept forever."""
        now, today = _clock()
        report = destruction.execute_list(
            db.session, current_actor(), list_id, today, now, ports().blobs, exports=ports().exports
        )
        return report.as_dict()


@blp.route("/destruction-records/<int:record_id>")
class DestructionRecordOne(MethodView):
    @blp.response(200, LcRecordSchema)
    @blp.alt_response(404, description="destruction.unknown")
    @require("lifecycle.manage")
    def get(self, record_id):
        """A destruction record with its verification (digest matches, bytes gone, blobs marked)."""
        record = destruction.get_record(db.session, record_id)
        return {
            "id": record.id,
            "record_sha256": record.record_sha256,
            "executed_at": record.executed_at,
            "content": record.content,
            "verification": destruction.verify_record(db.session, record_id, ports().blobs, ports().exports),
        }


# --- boxes and quality --------------------------------------------------------------------------


@blp.route("/customers/<string:account_no>/box")
class CustomerBox(MethodView):
    @blp.response(200, LcBoxSchema)
    @blp.alt_response(404, description="customer.unknown or not boxed yet")
    @require("dossier.read")
    def get(self, account_no):
        """Where the customer's paper originals are (box, shelf, position)."""

        location = boxes.location_of_customer(db.session, customer_by_account(db.session, account_no).id)
        if location is None:
            raise errors.DomainError(errors.NOT_FOUND, "The customer's originals have no box position yet.")
        return location

    @blp.response(200, LcBoxSchema)
    @blp.alt_response(409, description="box.customer_destroyed")
    @require("lifecycle.manage")
    def post(self, account_no):
        """Give the customer's paper originals a box position (reusing freed positions first)."""
        customer = customer_by_account(db.session, account_no)
        boxes.assign_box(db.session, current_actor(), customer, _clock()[0], _rules())
        return boxes.location_of_customer(db.session, customer.id)


@blp.route("/quality")
class Quality(MethodView):
    @blp.response(200, LcQualitySchema)
    @require("quality.read")
    def get(self):
        """Quality figures per district and person: completeness, timeliness, rejections, review time."""
        return quality.figures(db.session, _clock()[1])
