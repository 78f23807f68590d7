"""Captures naming an unknown 户号 wait in the unlinked list until an archivist links them."""

from sqlalchemy import select

from models import AuditEntry, Capture, CaptureLink, Customer
from models.database import db
from models.evidence import LogLeaf
from tests.helpers.api_client import ApiClient
from tests.helpers.captures import HIGH, LOW, make_capture, review_world
from tests.helpers.factories import PASSWORD


def _login(client, name="archivist"):
    api = ApiClient(client)
    assert api.login(name, PASSWORD).status_code == 302
    return api


def test_customers_are_found_by_account_name_address_and_meter_number(client):
    review_world()
    api = _login(client)
    for query, expected in (("310001", HIGH), ("精密机械", HIGH), ("清泰街", LOW), ("3300987654321", LOW)):
        hits = api.get(f"/api/v1/review/customers?q={query}")
        assert hits.status_code == 200
        assert [h["account_no"] for h in hits.json] == [expected], query
    assert api.get("/api/v1/review/customers?q=%25").json == []  # LIKE wildcards are literal


def test_linking_moves_the_capture_into_the_customers_queue_and_is_audited_once(client):
    device, _ = review_world()
    capture = make_capture(device, "3100012346")  # one digit off
    linked_already = make_capture(device, HIGH)
    api = _login(client)
    unlinked = api.get("/api/v1/review/unlinked").json
    assert [i["id"] for i in unlinked["items"]] == [capture.id] and unlinked["total"] == 1
    customer = db.session.scalar(select(Customer).where(Customer.account_no == HIGH))

    done = api.post(f"/api/v1/review/captures/{capture.id}/link", json={"customer_id": customer.id})
    again = api.post(f"/api/v1/review/captures/{capture.id}/link", json={"customer_id": customer.id})
    other = api.post(f"/api/v1/review/captures/{linked_already.id}/link", json={"customer_id": customer.id})
    nobody = api.post(f"/api/v1/review/captures/{capture.id}/link", json={"customer_id": 99999})

    assert done.status_code == 200 and done.json["link_state"] == "linked"
    assert again.status_code == 409 and again.json["code"] == "link.already_linked"
    assert other.status_code == 409
    assert nobody.status_code == 404 and nobody.json["code"] == "customer.unknown"
    stored = db.session.get(Capture, capture.id)
    assert (stored.customer_id, stored.link_state, stored.account_no) == (customer.id, "linked", "3100012346")
    link = db.session.scalar(select(CaptureLink))
    assert (link.account_no_given, link.customer_id) == ("3100012346", customer.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "capture.link"))
    assert entry.details["customer_account_no"] == HIGH and entry.details["account_no_given"] == "3100012346"
    assert db.session.scalar(select(LogLeaf).where(LogLeaf.event_type == "linked")).subject_id == capture.id
    assert api.get("/api/v1/review/unlinked").json["items"] == []
    approved = api.post(f"/api/v1/review/captures/{capture.id}/approve", json={})
    assert approved.status_code == 200 and approved.json["dossier_item"]["seq"] == 1


def test_the_detail_page_of_an_unlinked_capture_offers_the_search_and_links_by_form(client):
    device, _ = review_world()
    capture = make_capture(device, "3100012399")
    api = _login(client)
    page = client.get(f"/review/captures/{capture.id}?q=精密").get_data(as_text=True)
    assert "关联客户" in page and "江南精密机械有限公司" in page and "关联到此客户" in page
    customer = db.session.scalar(select(Customer).where(Customer.account_no == HIGH))
    response = client.post(
        f"/review/captures/{capture.id}/link",
        data={"csrf_token": api.csrf, "customer_id": str(customer.id)},
        follow_redirects=True,
    )
    assert "已关联客户" in response.get_data(as_text=True)
    assert db.session.get(Capture, capture.id).customer_id == customer.id
