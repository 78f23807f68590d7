"""Use and borrowing (利用登记): originals need the manager's approval, sign-out and return."""

import csv
import io
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from models import AuditEntry, UseRequest
from models.database import db
from services.lifecycle.settings import LifecycleSettings
from tests.helpers.lifecycle_data import at, customer, file_item, login


def _dossier():
    customer("3100012345")
    for doc in ("supply_contract", "application", "completion_acceptance"):
        file_item("3100012345", doc, at(date(2026, 2, 2)))


def _borrow(api, **body):
    body = {
        "account_no": "3100012345",
        "items": [1, 3],
        "requester_name": "赵法务",
        "requester_unit": "法律事务部",
        "purpose": "窃电诉讼举证",
        "form": "original",
    } | body
    return api.post("/api/v1/lifecycle/use-requests", json=body)


def test_borrowing_an_original_needs_approval_then_sign_out_and_return(client, clock):
    _dossier()
    archivist = login(client, "archivist", "archivist")
    created = _borrow(archivist)
    assert created.status_code == 201, created.get_json()
    use = created.get_json()
    assert use["state"] == "pending" and use["items"] == [1, 3]

    early = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/sign-out", json={})
    assert early.status_code == 409 and early.get_json()["code"] == "use.invalid_transition"
    not_allowed = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/approve", json={})
    assert not_allowed.status_code == 403 and not_allowed.get_json()["code"] == "auth.forbidden"

    manager = login(client.application.test_client(), "manager", "manager")
    approved = manager.post(f"/api/v1/lifecycle/use-requests/{use['id']}/approve", json={"note": "同意，限三天"})
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"

    out = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/sign-out", json={"due_on": "2026-03-05"})
    assert out.get_json()["state"] == "out" and out.get_json()["due_on"] == "2026-03-05"
    quality = manager.get("/api/v1/lifecycle/quality").get_json()
    assert quality["totals"]["borrowed_items_out"] == 2

    clock.current = datetime(2026, 3, 6, 2, tzinfo=timezone.utc)
    overdue = archivist.get("/api/v1/lifecycle/use-requests?overdue=true").get_json()
    assert [u["id"] for u in overdue["items"]] == [use["id"]] and overdue["items"][0]["overdue"] is True

    back = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/return")
    assert back.get_json()["state"] == "returned"
    assert archivist.get("/api/v1/lifecycle/use-requests?overdue=true").get_json()["total"] == 0
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "use_request").order_by(AuditEntry.id)
    ).all()
    assert actions == ["use.register", "use.approve", "use.sign_out", "use.return"]
    late = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "use.return"))
    assert late.details["late"] is True


def test_a_rejected_original_cannot_be_signed_out(client):
    _dossier()
    archivist = login(client, "archivist", "archivist")
    use = _borrow(archivist).get_json()
    manager = login(client.application.test_client(), "manager", "manager")
    assert (
        manager.post(f"/api/v1/lifecycle/use-requests/{use['id']}/reject", json={"note": "请改用复制件"}).get_json()[
            "state"
        ]
        == "rejected"
    )
    response = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/sign-out", json={})
    assert response.status_code == 409 and response.get_json()["details"]["state"] == "rejected"


def test_a_manager_cannot_approve_their_own_borrowing(client):
    _dossier()
    manager = login(client, "manager", "manager")
    use = _borrow(manager).get_json()
    response = manager.post(f"/api/v1/lifecycle/use-requests/{use['id']}/approve", json={})
    assert response.status_code == 403 and response.get_json()["code"] == "use.self_approval"
    assert db.session.get(UseRequest, use["id"]).state == "pending"


def test_a_copy_is_registered_without_approval_and_completed(client):
    _dossier()
    archivist = login(client, "archivist", "archivist")
    use = _borrow(archivist, form="copy", items=[2]).get_json()
    assert use["state"] == "registered"
    done = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/complete")
    assert done.get_json()["state"] == "completed"


def test_bad_use_requests_get_stable_codes(client):
    _dossier()
    archivist = login(client, "archivist", "archivist")
    cases = [
        (dict(items=[]), 400, "use.no_items"),
        (dict(items=[1, 9]), 400, "use.unknown_item"),
        (dict(form="steal"), 422, "request.validation_failed"),
        (dict(account_no="1234567"), 404, "customer.unknown"),
        (dict(purpose=""), 422, "request.validation_failed"),
    ]
    for body, status, code in cases:
        response = _borrow(archivist, **body)
        assert (response.status_code, response.get_json()["code"]) == (status, code), body
    assert archivist.post("/api/v1/lifecycle/use-requests/999/return").get_json()["code"] == "use.unknown"
    use = _borrow(archivist).get_json()
    manager = login(client.application.test_client(), "manager", "manager")
    manager.post(f"/api/v1/lifecycle/use-requests/{use['id']}/approve", json={})
    past = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/sign-out", json={"due_on": "2026-03-02"})
    assert past.status_code == 400 and past.get_json()["code"] == "use.bad_due_date"


def test_the_use_register_exports_every_use_as_csv(client):
    _dossier()
    archivist = login(client, "archivist", "archivist")
    _borrow(archivist, form="extract", items=[2], requester_name="钱某某", purpose="核对合同容量")
    _borrow(archivist)
    response = client.get("/lifecycle/use.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:7] == ["登记号", "户号", "户名", "利用人", "单位", "利用目的", "利用方式"]
    assert header[8] == "登记时间（北京时间）"
    assert len(body) == 2
    by_person = {r[3]: r for r in body}
    assert by_person["钱某某"][6] == "摘录" and by_person["钱某某"][7] == "2"
    assert by_person["赵法务"][6] == "借出原件" and by_person["赵法务"][10] == "待审批"


def test_the_use_page_lets_a_manager_approve(client):
    from tests.helpers.api_client import csrf_token_of

    _dossier()
    archivist = login(client.application.test_client(), "archivist", "archivist")
    use = _borrow(archivist).get_json()
    login(client, "manager", "manager")
    page = client.get("/lifecycle/use").get_data(as_text=True)
    assert "批准" in page and "赵法务" in page
    response = client.post(
        f"/lifecycle/use/{use['id']}/decide",
        data={"csrf_token": csrf_token_of(page), "decision": "approve", "note": "同意"},
    )
    assert response.status_code == 302
    assert db.session.get(UseRequest, use["id"]).state == "approved"
    out = archivist.post(f"/api/v1/lifecycle/use-requests/{use['id']}/sign-out", json={}).get_json()
    loan_days = LifecycleSettings().borrow_days
    assert out["due_on"] == (date(2026, 3, 2) + timedelta(days=loan_days)).isoformat()
