"""Business events open filing obligations with working-day due dates; they go overdue and get met."""

from datetime import date, datetime, timezone

from sqlalchemy import select

from models import AuditEntry, BusinessEvent, FilingObligation
from models.database import db
from services.lifecycle import working_days
from tests.helpers.lifecycle_data import at, capture_with_photo, customer, file_item, login


def _event(api, **body):
    body = {"account_no": "3100012345", "kind": "contract_signed", "occurred_on": "2026-01-05"} | body
    return api.post("/api/v1/lifecycle/events", json=body)


def test_an_overdue_obligation_becomes_met_when_the_contract_is_filed(client, clock):
    customer("3100012345")
    api = login(client, "archivist", "archivist")
    response = _event(api, kind="contract_signed", occurred_on="2026-01-05")
    assert response.status_code == 201, response.get_json()
    obligation = response.get_json()["obligation"]
    expected_due = working_days.add_working_days(date(2026, 1, 5), 30)
    assert obligation["working_days"] == 30 and obligation["due_on"] == expected_due.isoformat()
    assert obligation["required_doc_types"] == ["supply_contract"]
    # today (2 March 2026) is past the due date: overdue from the start
    assert obligation["state"] == "overdue"
    overdue = api.get("/api/v1/lifecycle/obligations?state=overdue").get_json()
    assert [o["id"] for o in overdue["items"]] == [obligation["id"]]

    clock.current = datetime(2026, 3, 3, 2, tzinfo=timezone.utc)
    file_item("3100012345", "supply_contract", clock.current)  # filed under no event: does not count
    assert api.post("/api/v1/lifecycle/obligations/recompute").get_json()["changed"] == 0
    file_item("3100012345", "supply_contract", clock.current, event_id=obligation["business_event_id"])
    result = api.post("/api/v1/lifecycle/obligations/recompute").get_json()
    assert result["changed"] == 1
    stored = db.session.get(FilingObligation, obligation["id"])
    db.session.refresh(stored)
    assert stored.state == "met_late" and stored.met_on == date(2026, 3, 3)
    changes = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "obligation.state").order_by(AuditEntry.id)
    ).all()
    assert [(c.details["from"], c.details["to"]) for c in changes] == [("open", "overdue"), ("overdue", "met_late")]
    assert api.get("/api/v1/lifecycle/obligations?state=overdue").get_json()["total"] == 0


def test_documents_filed_in_time_meet_the_obligation_on_time(client, clock):
    customer("3100012345")
    api = login(client, "archivist", "archivist")
    obligation = _event(api, kind="合同变更", occurred_on="2026-03-02").get_json()["obligation"]
    assert obligation["kind"] == "contract_changed" and obligation["working_days"] == 15
    assert obligation["state"] == "open"
    file_item("3100012345", "contract_change", at(date(2026, 3, 4)), event_id=obligation["business_event_id"])
    clock.current = at(date(2026, 3, 5))
    api.post("/api/v1/lifecycle/obligations/recompute")
    stored = db.session.get(FilingObligation, obligation["id"])
    db.session.refresh(stored)
    assert stored.state == "met" and stored.met_on == date(2026, 3, 4)


def test_a_document_filed_under_another_event_does_not_count(client, clock):
    customer("3100012345")
    api = login(client, "archivist", "archivist")
    earlier = _event(api, kind="dispute_ended", occurred_on="2026-01-12").get_json()["obligation"]
    file_item("3100012345", "dispute_record", at(date(2026, 1, 15)), event_id=earlier["business_event_id"])
    obligation = _event(api, kind="dispute_ended", occurred_on="2026-02-27").get_json()["obligation"]
    assert obligation["met_on"] is None and obligation["state"] == "open"
    api.post("/api/v1/lifecycle/obligations/recompute")
    assert db.session.get(FilingObligation, earlier["id"]).state == "met"


def test_new_connection_documents_filed_under_no_event_count(client, clock):
    customer("5200000001", "低压")
    api = login(client, "archivist", "archivist")
    obligation = _event(api, account_no="5200000001", kind="new_connection", occurred_on="2026-02-25").get_json()[
        "obligation"
    ]
    assert obligation["working_days"] == 30 and obligation["state"] == "open"
    for doc in obligation["required_doc_types"]:
        file_item("5200000001", doc, at(date(2026, 2, 27)))
    api.post("/api/v1/lifecycle/obligations/recompute")
    stored = db.session.get(FilingObligation, obligation["id"])
    assert stored.state == "met" and stored.met_on == date(2026, 2, 27)


def test_the_same_reference_is_recorded_once(client):
    customer("3100012345")
    api = login(client, "archivist", "archivist")
    first = _event(api, reference="YK-2026-001").get_json()
    again = _event(api, reference="YK-2026-001").get_json()
    assert first["created"] is True and again["created"] is False
    assert again["event_id"] == first["event_id"]
    assert db.session.query(FilingObligation).count() == 1


def test_an_event_whose_deadline_leaves_the_package_calendar_is_computed_provisionally(client, clock):
    customer("3100012345")
    last = working_days.LAST_YEAR
    clock.current = datetime(last, 12, 20, 2, tzinfo=timezone.utc)
    api = login(client, "archivist", "archivist")
    response = _event(api, occurred_on=f"{last}-12-18")
    assert response.status_code == 201
    obligation = response.get_json()["obligation"]
    assert obligation["due_on"] is not None and obligation["provisional"] is True
    assert obligation["state"] == "open" and obligation["calendar_error"] is None


def test_an_event_before_the_calendar_is_kept_and_flagged(client, clock):
    customer("3100012345")
    first = working_days.FIRST_YEAR
    api = login(client, "archivist", "archivist")
    response = _event(api, occurred_on=f"{first - 1}-06-02")
    assert response.status_code == 201
    obligation = response.get_json()["obligation"]
    assert obligation["due_on"] is None and obligation["state"] == "no_calendar"
    assert str(first - 1) in obligation["calendar_error"]
    direct = api.get(f"/api/v1/lifecycle/calendar/due-date?start={first - 1}-06-02&days=30")
    assert direct.status_code == 422 and direct.get_json()["code"] == "calendar.out_of_coverage"


def test_bad_events_get_stable_codes(client):
    customer("3100012345")
    api = login(client, "archivist", "archivist")
    cases = [
        (dict(kind="搬家"), 400, "lifecycle.unknown_event_kind"),
        (dict(occurred_on="2026-03-03"), 400, "lifecycle.event_in_future"),
        (dict(account_no="9999999999"), 404, "customer.unknown"),
        (dict(responsible="nobody"), 404, "user.unknown"),
        (dict(occurred_on="2026-02-30"), 422, "request.validation_failed"),
    ]
    for body, status, code in cases:
        response = _event(api, **body)
        assert (response.status_code, response.get_json()["code"]) == (status, code), body
    assert db.session.query(BusinessEvent).count() == 0


def test_only_archive_staff_record_events(client, api):
    customer("3100012345")
    assert _event(api).status_code == 401
    inspector = login(client, "inspector9", "inspector")
    response = _event(inspector)
    assert response.status_code == 403 and response.get_json()["code"] == "auth.forbidden"


def test_the_daily_job_recomputes_idempotently_and_records_events_named_by_captures(app, client, clock):
    from workers.context import set_app
    from workers.jobs import daily_lifecycle

    customer("3100012345")
    capture, _photo = capture_with_photo(
        "3100012345", b"photo-bytes-1", payload={"business_event": "增容", "business_event_date": "2026-02-26"}
    )
    set_app(app)
    try:
        first = daily_lifecycle()
        second = daily_lifecycle()
    finally:
        set_app(None)
    assert first["deadlines"]["events_from_captures"] == 1
    assert second["deadlines"]["events_from_captures"] == 0 and second["deadlines"]["changed"] == 0
    event = db.session.scalar(select(BusinessEvent))
    assert (event.kind, event.source, event.reference) == ("capacity_increase", "capture", f"capture:{capture.id}")
    assert event.occurred_on == date(2026, 2, 26)


def test_the_deadlines_page_shows_the_calendar_source_and_the_overdue_list(client):
    customer("3100012345", district="城西供电所")
    api = login(client, "archivist", "archivist", display_name="李档案")
    _event(api, responsible="archivist")
    page = client.get("/lifecycle/deadlines").get_data(as_text=True)
    info = working_days.calendar_info()
    assert f"{info['package']} {info['version']}" in page
    assert f"{info['first_year']}–{info['last_year']}" in page
    assert "3100012345" in page and "已逾期" in page and "城西供电所" in page and "李档案" in page
    assert "<script>" not in page and "onclick" not in page


def test_recording_an_event_from_the_page(client):
    from tests.helpers.api_client import csrf_token_of

    customer("3100012345")
    login(client, "archivist", "archivist")
    token = csrf_token_of(client.get("/lifecycle/deadlines").get_data(as_text=True))
    response = client.post(
        "/lifecycle/events",
        data={"csrf_token": token, "account_no": "3100012345", "kind": "dispute_ended", "occurred_on": "2026-03-02"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "应于" in response.get_data(as_text=True)
    assert db.session.scalar(select(FilingObligation)).working_days == 10
    bad = client.post(
        "/lifecycle/events",
        data={"csrf_token": token, "account_no": "3100012345", "kind": "nonsense", "occurred_on": "2026-03-02"},
        follow_redirects=True,
    )
    assert "lifecycle.unknown_event_kind" in bad.get_data(as_text=True)


def test_the_daily_run_is_scheduled_once_per_day(app, runner):
    import json

    from rq import Queue

    first = json.loads(runner.invoke(args=["lifecycle", "schedule"]).stdout.strip().splitlines()[-1])
    second = json.loads(runner.invoke(args=["lifecycle", "schedule"]).stdout.strip().splitlines()[-1])
    assert first == second and first["job_id"] == "lifecycle-daily-2026-03-02"  # 09:00 in Beijing
    connection = app.extensions["dangan.redis"].client(app)
    assert Queue("default", connection=connection).job_ids == [first["job_id"]]
