"""Quality figures: completeness, on-time filing, rejections and review time per district and person."""

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select

from models import Photo, ReviewDecision, User
from models.database import db
from tests.helpers.lifecycle_data import at, capture_with_photo, customer, file_item, login

LOW_NEW_CONNECTION = ("application", "id_papers", "property_proof", "meter_installation", "supply_contract")


def _decide(capture, decision: str, hours: int):
    user = db.session.scalar(select(User).where(User.username == "archivist"))
    db.session.add(
        ReviewDecision(
            capture_id=capture.id,
            decision=decision,
            from_state="pending",
            capture_revision=1,
            review_version=1,
            decided_by_id=user.id,
            decided_at=capture.received_at + timedelta(hours=hours),
        )
    )
    db.session.commit()


def _world(client):
    from services.filing_scope import current

    assert current().required_for("low", "new_connection") == LOW_NEW_CONNECTION
    customer("5200000001", "低压", district="城东供电所")
    customer("5200000002", "低压", district="城东供电所")
    customer("5200000003", "低压", district="城西供电所")
    for doc in LOW_NEW_CONNECTION:
        file_item("5200000001", doc, at(date(2026, 1, 6)))
    file_item("5200000002", "application", at(date(2026, 1, 6)))
    archivist = login(client, "archivist", "archivist")
    manager_client = client.application.test_client()
    # 5200000003's contract is never filed (overdue); 5200000002's change is filed the same day
    archivist.post(
        "/api/v1/lifecycle/events",
        json={
            "account_no": "5200000003",
            "kind": "contract_signed",
            "occurred_on": "2026-01-05",
            "responsible": "archivist",
        },
    )
    change = archivist.post(
        "/api/v1/lifecycle/events",
        json={
            "account_no": "5200000002",
            "kind": "contract_changed",
            "occurred_on": "2026-03-02",
            "responsible": "archivist",
        },
    ).get_json()
    file_item("5200000002", "contract_change", at(date(2026, 3, 2)), event_id=change["event_id"])
    archivist.post("/api/v1/lifecycle/obligations/recompute")
    first, _ = capture_with_photo("5200000001", b"p1", inspector="inspector1", review_state="approved")
    second, _ = capture_with_photo("5200000002", b"p2", inspector="inspector1", review_state="rejected", complete=False)
    capture_with_photo("5200000002", b"p3", inspector="inspector1", review_state="pending")
    fourth, photo = capture_with_photo("5200000003", b"p4", inspector="inspector2", review_state="approved")
    photo.state = "received"  # uploaded, stamping not finished
    db.session.commit()
    _decide(first, "approved", 2)
    _decide(second, "rejected", 4)
    _decide(fourth, "approved", 1)
    return login(manager_client, "manager", "manager")


def test_figures_per_district_and_person_come_from_the_archive(client):
    manager = _world(client)
    data = manager.get("/api/v1/lifecycle/quality").get_json()
    east = next(r for r in data["by_district"] if r["district"] == "城东供电所")
    west = next(r for r in data["by_district"] if r["district"] == "城西供电所")
    assert (east["customers"], east["complete_dossiers"], east["completeness_rate"]) == (2, 1, 50.0)
    assert (west["customers"], west["complete_dossiers"], west["completeness_rate"]) == (1, 0, 0.0)
    assert (east["obligations_due"], east["on_time"], east["overdue"], east["on_time_rate"]) == (1, 1, 0, 100.0)
    assert (west["obligations_due"], west["on_time"], west["overdue"], west["on_time_rate"]) == (1, 0, 1, 0.0)
    assert (east["captures"], east["reviewed"], east["rejected"], east["rejection_rate"]) == (3, 2, 1, 50.0)
    assert east["review_hours_avg"] == 3.0 and west["review_hours_avg"] == 1.0
    assert west["pending_stamping"] == 1 and data["totals"]["pending_stamping"] == 1
    people = {r["username"]: r for r in data["by_person"]}
    assert people["inspector1"]["rejection_rate"] == 50.0
    assert people["inspector1"]["capture_completeness_rate"] == round(100 * 2 / 3, 1)
    assert people["inspector2"]["rejection_rate"] == 0.0
    assert people["archivist"]["on_time_rate"] == 50.0


def test_the_quality_page_draws_svg_charts_and_exports_csv(client):
    manager = _world(client)
    page = manager.client.get("/lifecycle/quality").get_data(as_text=True)
    assert page.count("<svg") == 4 and "档案完整率" in page and "城西供电所" in page
    assert "<script" not in page and "onclick" not in page
    response = manager.client.get("/lifecycle/quality.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header = next(r for r in rows if r and r[0] == "供电单位")
    east = next(r for r in rows if r and r[0] == "城东供电所")
    assert east[header.index("档案完整率%")] == "50.0" and east[header.index("退回率%")] == "50.0"
    people_header = next(r for r in rows if r and r[0] == "人员")
    person = next(r for r in rows if len(r) > 2 and r[1] == "archivist")
    assert person[people_header.index("角色")] == "档案员"  # the role by its Chinese name, not its key


def test_quality_figures_are_for_managers(client):
    archivist = login(client, "archivist", "archivist")
    response = archivist.get("/api/v1/lifecycle/quality")
    assert response.status_code == 403 and response.get_json()["code"] == "auth.forbidden"


def test_an_empty_archive_shows_dashes_not_numbers(client):
    manager = login(client, "manager", "manager")
    data = manager.get("/api/v1/lifecycle/quality").get_json()
    assert data["totals"]["completeness_rate"] is None and data["totals"]["rejection_rate"] is None
    assert "—" in manager.client.get("/lifecycle/quality").get_data(as_text=True)
    assert db.session.query(Photo).count() == 0
