"""Closing accounts (销户) and eligibility for destruction exactly 3 (low) or 5 (high) years later."""

from datetime import date

from sqlalchemy import select

from models import BusinessEvent, Customer, RetentionState
from models.database import db
from tests.helpers.lifecycle_data import close, customer, login


def test_eligibility_starts_exactly_at_five_and_three_years(client):
    # the clock stands at 2 March 2026
    customer("3100000005", "高压")
    customer("3100000006", "高压")
    customer("5200000003", "低压")
    customer("5200000004", "低压")
    assert close(client, "3100000005", "2021-03-02")["eligible"] is True  # exactly 5 years
    assert close(client, "3100000006", "2021-03-03")["eligible"] is False  # one day short
    assert close(client, "5200000003", "2023-03-02")["eligible"] is True  # exactly 3 years
    low_short = close(client, "5200000004", "2023-03-03")
    assert low_short["eligible"] is False and low_short["eligible_on"] == "2026-03-03"
    archivist = login(client, "archivist", "archivist")
    eligible = archivist.get("/api/v1/lifecycle/retention?eligible=true").get_json()
    assert sorted(r["account_no"] for r in eligible["items"]) == ["3100000005", "5200000003"]
    everything = archivist.get("/api/v1/lifecycle/retention").get_json()
    assert everything["total"] == 4
    years = {r["account_no"]: r["retention_years"] for r in everything["items"]}
    assert years == {"3100000005": 5, "3100000006": 5, "5200000003": 3, "5200000004": 3}


def test_closing_records_the_closure_event_and_sets_the_dossier_apart(client):
    customer("5200000003", "低压")
    result = close(client, "5200000003", "2026-02-27")
    assert result["closed_on"] == "2026-02-27" and result["eligible_on"] == "2029-02-27"
    stored = db.session.scalar(select(Customer).where(Customer.account_no == "5200000003"))
    assert stored.status == "closed" and stored.closed_on == date(2026, 2, 27)
    assert db.session.scalar(select(BusinessEvent.kind)) == "account_closure"


def test_bad_closings_get_stable_codes(client):
    customer("5200000003", "低压")
    archivist = login(client, "archivist", "archivist")
    future = archivist.post("/api/v1/lifecycle/customers/5200000003/close", json={"closed_on": "2026-03-03"})
    assert future.status_code == 400 and future.get_json()["code"] == "retention.bad_closing_date"
    archivist.post("/api/v1/lifecycle/customers/5200000003/close", json={"closed_on": "2026-03-01"})
    again = archivist.post("/api/v1/lifecycle/customers/5200000003/close", json={"closed_on": "2026-03-01"})
    assert again.status_code == 409 and again.get_json()["code"] == "retention.already_closed"
    unknown = archivist.post("/api/v1/lifecycle/customers/0000000/close", json={"closed_on": "2026-03-01"})
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "customer.unknown"


def test_the_sweep_tracks_accounts_closed_by_the_marketing_import(app, runner):
    import json

    customer("3100000005", "高压", status="已销户", closed_on="2020-06-30")
    first = json.loads(runner.invoke(args=["lifecycle", "sweep"]).stdout.strip().splitlines()[-1])
    second = json.loads(runner.invoke(args=["lifecycle", "sweep"]).stdout.strip().splitlines()[-1])
    assert first["tracked"] == 1 and first["eligible"] == 1 and second == first
    state = db.session.scalar(select(RetentionState))
    assert state.eligible_on == date(2025, 6, 30) and state.retention_years == 5
    assert db.session.query(RetentionState).count() == 1


def test_retention_periods_follow_the_configuration(app, client):
    app.config["RETENTION_YEARS_LOW"] = 10
    customer("5200000003", "低压")
    assert close(client, "5200000003", "2023-03-02")["eligible_on"] == "2033-03-02"
